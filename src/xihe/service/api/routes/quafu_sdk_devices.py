"""quafu-sdk 0.2.7's public discovery endpoints (devices, calibration, target metadata) and ``auth/me``.

Targets: ``sim``, every Xihe backend by name (case-insensitive: ``Dongling`` is ``dongling``), ``<twin>-sim``
(a twin already is the noisy simulation of its chip) and ``<twin>-sim-jiuding`` (the twin's ideal variant
``<twin>-ideal``: compiled for the chip, run without noise). ``GET /devices`` lists hardware under ``devices`` (the
SDK calls those rows ``kind: "real"``) and twins, with their ``-sim`` and ``-sim-jiuding`` names, under
``simulated_chips`` (``kind: "sim"``). Included by :mod:`xihe.service.api.routes.quafu_sdk`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from xihe.service.api import compat
from xihe.service.api.deps import UserDep
from xihe.service.catalog import calibration_fields
from xihe.service.problems import Problem
from xihe.status import DeviceKind

router = APIRouter(tags=["quafu-sdk"], include_in_schema=False)

_METHODS = {"simulator": "statevector", "twin": "noise_model", "hardware": "hardware"}
NOISY_SUFFIX = "-sim"
JIUDING_SUFFIX = "-sim-jiuding"


def sdk_error(status: int, code: str, message: str, **vars_: Any) -> Problem:
    """An error as quafu-sdk's ``errors.from_response`` reads it (``code``, ``error``, ``vars``)."""
    return Problem(status, code, message, extra={"error": message, "vars": vars_})


def not_found(what: str, ident: str) -> Problem:
    return sdk_error(404, "not_found", f"no {what} {ident!r}")


def _ideal_variant(request: Request, twin: str) -> str | None:
    """The backend that is ``twin``'s ideal variant, if it has one."""
    catalog = request.app.state.catalog
    return next((name for name in catalog.names() if catalog.get(name).ideal_of == twin), None)


def sdk_name(device: Any) -> str:
    """What quafu-sdk calls a backend: a twin's ideal variant is ``<twin>-sim-jiuding``, the others their name."""
    return f"{device.ideal_of}{JIUDING_SUFFIX}" if device.ideal_of else str(device.name)


def resolve(request: Request, target: str) -> tuple[str, Any]:
    """The Xihe backend of a quafu-sdk target: ``sim``, a backend name, ``<twin>-sim`` (the twin itself) or
    ``<twin>-sim-jiuding`` (its ideal variant)."""
    catalog = request.app.state.catalog
    name = compat.backend_name(request, target)
    for suffix in (JIUDING_SUFFIX, NOISY_SUFFIX):
        if name is not None or not target.lower().endswith(suffix):
            continue
        twin = compat.backend_name(request, target[: -len(suffix)])
        if twin is not None and catalog.get(twin).kind == DeviceKind.TWIN and not catalog.get(twin).ideal_of:
            name = twin if suffix == NOISY_SUFFIX else _ideal_variant(request, twin)
    if name is None:
        raise sdk_error(404, "unknown_device", f"unknown target {target!r}; see GET /api/v1/devices",
                        device=target)
    return name, catalog.get(name)


def _limits(request: Request, device: Any) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"max_qubits": int(device.max_connected_qubits),
            "qubit_count": "declared" if device.kind == "simulator" else "active",
            "min_shots": 1, "max_shots": int(getattr(device, "max_shots", 0) or settings.default_max_shots),
            "shots_step": 1, "max_depth": None, "wall_s": int(settings.default_wall_seconds),
            "max_tasks_per_job": int(settings.max_circuits_per_job),
            "method": "statevector" if device.noiseless else _METHODS.get(device.kind, "hardware")}


@router.get("/devices", operation_id="sdk_devices")
def devices(request: Request) -> dict[str, Any]:
    """Public: the ideal simulator, the chips (twins and hardware) and their noisy simulators."""
    catalog = request.app.state.catalog
    states, queues = compat.status_and_queues(request)
    sim = catalog.get("sim")
    chips, emulated = [], []
    for name in catalog.names():
        device = catalog.get(name)
        if device.kind == DeviceKind.HARDWARE:
            chips.append({"name": name, "status": states[name], "n_qubits": len(device.working_qubits),
                          "queue": queues[name], "limits": _limits(request, device)})
        elif device.kind == DeviceKind.TWIN:
            # The SDK labels every ``devices[]`` row ``kind: "real"``; ``simulated_chips[]`` rows (a chip's
            # topology and native gates, simulated) get ``kind: "sim"``: a twin is emulated, so it is listed there,
            # under its own name and its ``-sim`` alias (both the same emulation); its ideal variant as Quafu
            # names it, ``<twin>-sim-jiuding``. As the SDK reads these rows, ``n_qubits`` is the chip's numbering
            # range and ``max_qubits`` how many qubits one circuit may use together.
            for alias in ((sdk_name(device),) if device.ideal_of else (name, f"{name}{NOISY_SUFFIX}")):
                emulated.append({"name": alias, "status": states[name], "n_qubits": int(device.num_qubits),
                                 "queue": queues[name], "max_qubits": int(device.max_connected_qubits),
                                 "limits": _limits(request, device)})
    return {"simulator": {"name": "sim", "status": states["sim"], "max_qubits": int(sim.num_qubits),
                          "limits": _limits(request, sim)},
            "devices": chips, "simulated_chips": emulated}


def _calibration_id(device: Any) -> str | None:
    fields = calibration_fields(device)
    return fields["snapshot_id"] if fields is not None else None


@router.get("/devices/{name}", operation_id="sdk_device")
def device(request: Request, name: str) -> dict[str, Any]:
    """Public: one device's status, size and queue, and its current calibration id."""
    backend, found = resolve(request, name)
    states, queues = compat.status_and_queues(request)
    return {"name": sdk_name(found), "status": states[backend], "n_qubits": len(found.working_qubits),
            "queue": queues[backend], "kind": "real" if found.kind == DeviceKind.HARDWARE else "sim",
            "calibration_id": _calibration_id(found), "calibration_source": "xihe"}


def _calibration(name: str, device: Any) -> dict[str, Any]:
    """A device's calibration in quafu-sdk's shape: per-qubit and per-coupler figures from its Target."""
    fields = calibration_fields(device)
    target = device.target
    qubits = [{"index": q, "label": target.labels[q], "t1_us": target.t1[q] / 1e3 if q in target.t1 else None,
               "t2_us": target.t2[q] / 1e3 if q in target.t2 else None,
               "readout_error": list(target.readout_error[q]) if q in target.readout_error else None}
              for q in target.working_qubits] if not target.unconstrained else []
    couplers: dict[tuple[int, int], dict[str, Any]] = {}
    for gate, props in (target.gates or {}).items():
        for qs, prop in props.items():
            if len(qs) == 2:
                pair = (min(qs), max(qs))
                entry = couplers.setdefault(pair, {"qubits": list(pair)})
                entry[f"{gate}_fidelity"] = None if prop.error is None else 1.0 - float(prop.error)
    return {"id": fields["snapshot_id"] if fields else None, "chip": device.ideal_of or name,
            "calibrated_at": fields["time"].isoformat() if fields and fields["time"] else None, "source": "xihe",
            "basis_gates": sorted(str(g) for g in device.native_gates), "grid": None, "qubits": qubits,
            "couplers": list(couplers.values()), "measured": None}


@router.get("/devices/{name}/calibration", operation_id="sdk_device_calibration")
def device_calibration(request: Request, name: str) -> dict[str, Any]:
    backend, found = resolve(request, name)
    return _calibration(backend, found)


@router.get("/calibrations/{snapshot_id}", operation_id="sdk_calibration")
def calibration(request: Request, snapshot_id: str) -> dict[str, Any]:
    """Public: a calibration by id (the current snapshot of any backend)."""
    catalog = request.app.state.catalog
    for name in catalog.names():
        found = catalog.get(name)
        if _calibration_id(found) == snapshot_id:
            return _calibration(name, found)
    raise sdk_error(404, "unknown_calibration", f"no calibration {snapshot_id!r}")


@router.get("/backends/{target}/metadata", operation_id="sdk_metadata")
def metadata(request: Request, target: str) -> dict[str, Any]:
    """Public: what quafu-sdk's limit precheck and Qiskit ``Target`` read."""
    backend, found = resolve(request, target)
    chip = None if found.kind == DeviceKind.SIMULATOR else found.ideal_of or backend
    return {"name": target, "n_qubits": int(found.num_qubits),
            "basis_gates": None if found.kind == DeviceKind.SIMULATOR else sorted(str(g) for g in found.native_gates),
            "coupling_map": [[int(a), int(b)] for a, b in found.coupling_map], "limits": _limits(request, found),
            "simulator": found.kind != DeviceKind.HARDWARE, "noise": "none" if found.noiseless else "noise_model",
            "device": chip}


@router.get("/auth/me", operation_id="sdk_me")
def me(user: UserDep) -> dict[str, Any]:
    return {"user": {"public_id": f"u{user.id}", "name": user.name, "email": None}}
