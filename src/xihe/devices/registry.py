"""The device registry: the shipped backends and any chip files the operator adds.

Shipped: ``sim`` (ideal statevector, up to the memory limit), ``sim-clifford`` (stabilizer, up to 1,000 qubits),
``line10`` and ``dongling`` (twins of the Quafu chip files in ``chips/``) and ``grid36`` (generated 6x6 grid), then
``<twin>-ideal`` for every twin (its ideal variant: compiled for the chip, run without noise). An operator adds
twins by putting Quafu chip-info files in the folder named by ``XIHE_DEVICES_DIR`` (the file name without ``.json``
is the device name) and overrides defaults with ``XIHE_DEVICE_OVERRIDES`` (see :mod:`xihe.devices.defaults`).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from xihe.compiler import Target
from xihe.devices.calibration import CalibrationSnapshot
from xihe.devices.defaults import OVERRIDES_ENV, defaults_for
from xihe.devices.device import Device
from xihe.devices.quafu import calibration_time, target_from_chip_info
from xihe.errors import ValidationError

DEVICES_DIR_ENV = "XIHE_DEVICES_DIR"
SIM_QUBITS = 34
CLIFFORD_QUBITS = 1000
SIM_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SIM_SYSTEM_ID = 1
CLIFFORD_SYSTEM_ID = 2
# pyquafu keeps the name ``sim`` for its local simulator (``Estimator(backend="sim")`` never calls the server), so
# the legacy Quafu protocol also lists ``sim`` as ``SIM_ALIAS``; its id is reserved here so no chip file takes it.
SIM_ALIAS = "sim-ideal"
SIM_ALIAS_SYSTEM_ID = 100
# Operator chip files without a system_id get one in [OPERATOR_ID_BASE, OPERATOR_ID_BASE + OPERATOR_ID_SPAN).
OPERATOR_ID_BASE = 10_000
OPERATOR_ID_SPAN = 90_000
# A twin's ideal variant is ``<twin>-ideal`` with system_id IDEAL_ID_BASE + the twin's (above every twin's id).
IDEAL_SUFFIX = "-ideal"
IDEAL_ID_BASE = 100_000

# name -> (chip file, system_id, description)
SHIPPED_TWINS = {
    "line10": ("line10.json", 0, "Twin of a 10-qubit chain (Quafu chip example), CX native"),
    "dongling": ("dongling.json", 7, "Twin of Dongling, a 106-working-qubit Quafu chip (2024-04), CZ native"),
    "grid36": ("grid36.json", 3, "Generated 6x6 grid, CZ native, calibration drawn from Dongling's"),
}


def _stable_system_id(name: str) -> int:
    """The system_id of an operator's chip file that names none: from the device name, so it never changes."""
    return OPERATOR_ID_BASE + zlib.crc32(name.encode()) % OPERATOR_ID_SPAN


def _chip_data(file: str) -> dict[str, Any]:
    return json.loads(resources.files("xihe.devices.chips").joinpath(file).read_text())


def _operator_chips() -> dict[str, Path]:
    folder = os.environ.get(DEVICES_DIR_ENV)
    if not folder:
        return {}
    return {p.stem: p for p in sorted(Path(folder).glob("*.json"))}


def twin_from_chip_info(name: str, data: dict[str, Any], *, system_id: int | None = None,
                        description: str = "") -> Device:
    """A twin device from Quafu chip-info ``data`` (with this device's defaults and overrides)."""
    defaults = defaults_for(name)
    target = target_from_chip_info(data, defaults)
    snapshot = CalibrationSnapshot.make(name, 1, calibration_time(data), data)
    sid = int(system_id if system_id is not None else data.get("system_id", 0) or 0)
    return Device(name, system_id=sid, kind="twin", target=target, calibration=snapshot, exclusive=True,
                  max_shots=100_000, defaults=defaults, description=description)


def _simulator(name: str, system_id: int, num_qubits: int, clifford_only: bool, description: str) -> Device:
    data = {"engine": "stabilizer" if clifford_only else "statevector", "num_qubits": num_qubits}
    snapshot = CalibrationSnapshot.make(name, 1, SIM_EPOCH, data)
    return Device(name, system_id=system_id, kind="simulator", target=Target.ideal(num_qubits),
                  calibration=snapshot, exclusive=False, max_shots=1_000_000, clifford_only=clifford_only,
                  description=description)


@lru_cache(maxsize=8)
def _system_ids(devices_dir: str | None) -> dict[str, int]:
    ids = {"sim": SIM_SYSTEM_ID, "sim-clifford": CLIFFORD_SYSTEM_ID}
    ids |= {name: sid for name, (_, sid, _) in SHIPPED_TWINS.items()}
    owner = {sid: name for name, sid in ids.items()} | {SIM_ALIAS_SYSTEM_ID: SIM_ALIAS}
    for name, path in _operator_chips().items():
        if name in ids:
            continue
        try:
            declared = json.loads(path.read_text()).get("system_id")
        except (OSError, ValueError, AttributeError) as exc:
            raise ValidationError(f"chip file {path}: cannot read it: {exc}") from exc
        sid = _stable_system_id(name) if declared is None or declared == "" else int(declared)
        if sid in owner:
            raise ValidationError(
                f"chip file {path}: system_id {sid} is already backend {owner[sid]!r}'s; clients such as pyquafu "
                f"send tasks by system_id, so give the file a \"system_id\" no other backend has")
        ids[name] = sid
        owner[sid] = name
    twins = [name for name in ids if name not in ("sim", "sim-clifford")]
    ids |= {name + IDEAL_SUFFIX: IDEAL_ID_BASE + ids[name] for name in twins}
    return ids


def system_ids() -> dict[str, int]:
    """Every backend's system_id (unique; a clash between chip files is refused here, when devices load).

    Shipped backends have fixed ids; an operator's chip file keeps its own ``system_id``, or, without one, gets
    an id computed from its name (the same on every start).
    """
    return dict(_system_ids(os.environ.get(DEVICES_DIR_ENV)))


def _builders() -> dict[str, Callable[[], Device]]:
    out: dict[str, Callable[[], Device]] = {
        "sim": lambda: _simulator("sim", SIM_SYSTEM_ID, SIM_QUBITS, False, "Ideal statevector simulator"),
        "sim-clifford": lambda: _simulator("sim-clifford", CLIFFORD_SYSTEM_ID, CLIFFORD_QUBITS, True,
                                           "Ideal stabilizer simulator for Clifford circuits"),
    }
    for name, (file, sid, text) in SHIPPED_TWINS.items():
        out[name] = lambda name=name, file=file, sid=sid, text=text: twin_from_chip_info(  # type: ignore[misc]
            name, _chip_data(file), system_id=sid, description=text)
    ids = system_ids()
    for name, path in _operator_chips().items():
        out.setdefault(name, lambda name=name, path=path: twin_from_chip_info(  # type: ignore[misc]
            name, json.loads(path.read_text()), system_id=ids[name], description=f"Twin of {path.name}"))
    for twin in [name for name in out if name not in ("sim", "sim-clifford")]:
        ideal = twin + IDEAL_SUFFIX
        out.setdefault(ideal, lambda twin=twin, ideal=ideal: get(twin).ideal(ideal, ids[ideal]))  # type: ignore[misc]
    return out


def names() -> list[str]:
    """Every backend name, shipped ones first (refused if two backends would share a system_id)."""
    return list(_builders())


@lru_cache(maxsize=64)
def _get(name: str, env_key: tuple[str | None, str | None]) -> Device:
    builders = _builders()
    if name not in builders:
        raise ValidationError(f"unknown backend '{name}'; known backends: {', '.join(builders)}")
    return builders[name]()


def get(name: str) -> Device:
    """The device called ``name`` (cached per process and per overrides setting)."""
    return _get(name, (os.environ.get(OVERRIDES_ENV), os.environ.get(DEVICES_DIR_ENV)))
