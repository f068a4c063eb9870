"""``/api/v1/backends``: the backends, their status, topology, queue and calibration (now or at a past time)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query

from xihe.characterize import performance as performance_figures
from xihe.service import characterization
from xihe.service.api.deps import AdminDep, CatalogDep, DatabaseDep, SettingsDep, UserDep
from xihe.service.catalog import DeviceCatalog, calibration_fields
from xihe.service.problems import Problem, not_found, problem_responses
from xihe.service.repositories import calibrations, jobs, performance
from xihe.service.schemas import (
    BackendDetail,
    BackendStatusUpdate,
    BackendSummary,
    CalibrationPublic,
    CharacterizeRequest,
    JobPublic,
    PerformancePublic,
)
from xihe.service.views import job_public

router = APIRouter(prefix="/backends", tags=["backends"], responses=problem_responses(400, 401, 403, 404, 422, 429))


def _headline(latest: tuple[datetime, dict[str, Any]] | None) -> dict[str, Any]:
    """Latest QV and median errors for the list (:func:`xihe.characterize.performance.headline`)."""
    if latest is None:
        return {}
    time, summary = latest
    return performance_figures.headline({"time": time.isoformat(), "summary": summary})


def _summary(device: Any, status: str, queued: int) -> dict[str, Any]:
    working = list(getattr(device, "working_qubits", range(device.num_qubits)))
    return {
        "name": device.name, "system_id": int(getattr(device, "system_id", 0)),
        "kind": str(getattr(device, "kind", "simulator")), "status": status, "num_qubits": int(device.num_qubits),
        "num_working_qubits": len(working), "max_connected_qubits": int(device.max_connected_qubits),
        "native_gates": sorted(str(g) for g in getattr(device, "native_gates", [])),
        "exclusive": bool(getattr(device, "exclusive", False)), "max_shots": int(getattr(device, "max_shots", 0) or 0),
        "queue_length": queued,
    }


@router.get("", response_model=list[BackendSummary], operation_id="list_backends")
def list_(_user: UserDep, database: DatabaseDep, catalog: CatalogDep) -> list[BackendSummary]:
    """Every backend with its status, size and queue length."""
    with database.read() as session:
        statuses = calibrations.backend_statuses(session, [catalog.get(name) for name in catalog.names()])
        queued = jobs.queue_length(session)
        latest = performance.latest_summaries(session)
    assert isinstance(queued, dict)
    out = []
    for name in catalog.names():
        device = catalog.get(name)
        status = statuses[name]
        out.append(BackendSummary(**_summary(device, status, queued.get(name, 0)),
                                  performance=_headline(latest.get(name))))
    return out


def _device_or_404(catalog: DeviceCatalog, name: str) -> Any:
    if name not in catalog.names():
        raise not_found("backend", name)
    return catalog.get(name)


@router.get("/{name}", response_model=BackendDetail, operation_id="get_backend")
def get(name: str, _user: UserDep, database: DatabaseDep, catalog: CatalogDep, settings: SettingsDep,
        at: datetime | None = Query(default=None, description="ISO time: the calibration then in force")
        ) -> BackendDetail:
    """One backend: status, qubits, native gates, coupling map, queue length and calibration."""
    device = _device_or_404(catalog, name)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    with database.read() as session:
        status = calibrations.backend_status(session, device)
        queued = jobs.queue_length(session, name)
        row = calibrations.snapshot_at(session, name, at)
    calibration: CalibrationPublic | None = None
    if row is not None:
        calibration = CalibrationPublic(id=row.snapshot_id, version=row.version, time=row.time, data=row.data)
    elif at is None:
        fields = calibration_fields(device)
        if fields is not None:
            calibration = CalibrationPublic(id=fields["snapshot_id"], version=fields["version"], time=fields["time"],
                                            data=fields["data"])
    elif calibration_fields(device) is not None:
        raise Problem(404, "no_calibration",
                      f"backend {name} has no calibration snapshot at or before {at.isoformat()}")
    assert isinstance(queued, int)
    summary = _summary(device, status, queued)
    return BackendDetail(**summary, working_qubits=[int(q) for q in getattr(device, "working_qubits", [])],
                         coupling_map=[[int(a), int(b)] for a, b in getattr(device, "coupling_map", [])],
                         calibration=calibration, max_circuits=settings.max_circuits_per_job,
                         properties=_target_properties(device, calibration) if at is None else None)


def _target_properties(device: Any, calibration: CalibrationPublic | None) -> dict[str, Any] | None:
    """What the device's Target knows per qubit and per gate (the Qiskit adapter's Target is built from it)."""
    target = getattr(device, "target", None)
    if target is None or target.unconstrained:
        return None
    data = calibration.data if calibration is not None else {}
    qubits_info = data.get("qubits_info") if isinstance(data, dict) else None
    qubits = []
    for q in target.working_qubits:
        label = target.labels[q]
        info = qubits_info.get(label, {}) if isinstance(qubits_info, dict) else {}
        frequency = info.get("qubit_frequency") if isinstance(info, dict) else None
        qubits.append({"qubit": q, "label": label,
                       "t1_us": target.t1[q] / 1e3 if q in target.t1 else None,
                       "t2_us": target.t2[q] / 1e3 if q in target.t2 else None,
                       "frequency_ghz": float(frequency) if frequency is not None else None,
                       "readout_error": list(target.readout_error[q]) if q in target.readout_error else None})
    gates = {name: [[list(qs), p.duration, p.error] for qs, p in sorted(props.items())]
             for name, props in (target.gates or {}).items()}
    return {"qubits": qubits, "measure_duration_ns": float(target.measure_duration), "gates": gates}


@router.put("/{name}/status", response_model=BackendSummary, operation_id="set_backend_status")
def set_status(name: str, body: BackendStatusUpdate, _admin: AdminDep, database: DatabaseDep,
               catalog: CatalogDep) -> BackendSummary:
    """Admin: put a backend in maintenance (or offline, or back online). New submits to it get a 409; jobs
    already queued wait."""
    device = _device_or_404(catalog, name)
    with database.write() as session:
        calibrations.set_backend_status(session, name, body.status)
        queued = jobs.queue_length(session, name)
    assert isinstance(queued, int)
    return BackendSummary(**_summary(device, body.status, queued))


@router.post("/{name}/characterize", status_code=201, response_model=JobPublic, operation_id="characterize_backend")
def characterize(name: str, body: CharacterizeRequest, admin: AdminDep, database: DatabaseDep,
                 catalog: CatalogDep) -> JobPublic:
    """Admin: queue a characterization suite on this backend (a job of kind ``characterize``, fair-queued and
    leased like any other); when it is DONE its figures are at ``/backends/{name}/performance``."""
    _device_or_404(catalog, name)
    with database.write() as session:
        job = characterization.enqueue(session, catalog, admin, name, suite=body.suite, seed=body.seed,
                                       shots=body.shots, region_size=body.region_size, priority=body.priority)
        return job_public(session, job)


@router.get("/{name}/performance", response_model=PerformancePublic, operation_id="get_backend_performance")
def get_performance(name: str, _user: UserDep, database: DatabaseDep, catalog: CatalogDep,
                    history: int = Query(default=50, ge=1, le=500, description="Runs in the history")
                    ) -> PerformancePublic:
    """The latest characterization figures (every experiment's estimates with 95% intervals) and the history of
    the headline figures over the stored runs."""
    _device_or_404(catalog, name)
    with database.read() as session:
        latest = performance.latest_run(session, name)
        runs = performance.summary_history(session, name, limit=history) if latest is not None else []
    if latest is None:
        raise Problem(404, "no_performance", f"backend {name} has not been characterized yet; an admin can run "
                      f"POST /api/v1/backends/{name}/characterize")
    body = performance_figures.performance_document(latest.document, runs)
    return PerformancePublic(**body, runs=len(runs))
