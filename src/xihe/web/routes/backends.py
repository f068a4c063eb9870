"""Backend pages: every backend with status, size and queue; one backend's headline figures, chip drawing (coloured
by any calibrated figure; its qubit/coupler panel is :mod:`xihe.web.routes.chip`) and calibration table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from xihe.service.catalog import calibration_fields
from xihe.service.clock import utcnow
from xihe.service.repositories import calibrations, jobs
from xihe.service.repositories import performance as performance_runs
from xihe.web import calibration as calibration_table
from xihe.web.deps import PageError, PageUser, catalog, database, render
from xihe.web.performance import cached_section, performance_section
from xihe.web.routes import chip
from xihe.web.timeline import duration_text
from xihe.web.topology import METRICS, qubit_metric, topology_svg

router = APIRouter(include_in_schema=False)
router.include_router(chip.router)  # the chip panel and the characterize button belong to the backend page


@dataclass(frozen=True)
class BackendRow:
    name: str
    kind: str
    status: str
    num_qubits: int
    num_working: int
    queue_length: int
    running: int
    native_gates: list[str]
    description: str
    quantum_volume: int | None = None  # latest characterization (None: never characterized)
    gate_error_2q: float | None = None


def backend_rows(request: Request) -> list[BackendRow]:
    """Every backend with the operator's status override applied and its queue (shared with the admin page)."""
    devices = catalog(request)
    with database(request).read() as session:
        statuses = calibrations.backend_statuses(session, [devices.get(name) for name in devices.names()])
        queued = jobs.queue_length(session)
        running = {name: jobs.running_count(session, name) for name in devices.names()}
        measured = {name: summary for name, (_, summary) in performance_runs.latest_summaries(session).items()}
    assert isinstance(queued, dict)
    rows = []
    for name in devices.names():
        device = devices.get(name)
        gates = ["any gate"] if device.target.unconstrained and not device.clifford_only else list(device.native_gates)
        rows.append(BackendRow(
            name=name, kind=str(device.kind), status=statuses[name],
            num_qubits=int(device.num_qubits), num_working=len(device.working_qubits),
            queue_length=int(queued.get(name, 0)), running=running[name],
            native_gates=gates if len(gates) <= 12 else [*gates[:12], f"… {len(gates) - 12} more"],
            description=str(getattr(device, "description", "") or ""),
            quantum_volume=measured.get(name, {}).get("quantum_volume"),
            gate_error_2q=measured.get(name, {}).get("gate_error_2q"),
        ))
    return rows


@router.get("/backends")
def backends_page(request: Request, user: PageUser) -> Response:
    return render(request, "backends.html", {"backends": backend_rows(request), "nav": "backends"}, user=user)


def _snapshot(request: Request, name: str, device: Any) -> dict[str, Any] | None:
    """The calibration in force: the newest recorded snapshot, else the device's own."""
    with database(request).read() as session:
        row = calibrations.snapshot_at(session, name)
        history = [(r.snapshot_id, r.version, r.time) for r in calibrations.list_snapshots(session, name, limit=20)]
    if row is not None:
        return {"id": row.snapshot_id, "version": row.version, "time": row.time, "data": row.data,
                "history": history}
    fields = calibration_fields(device)
    if fields is None:
        return None
    return {"id": fields["snapshot_id"], "version": fields["version"], "time": fields["time"],
            "data": fields["data"], "history": history}


def _performance(request: Request, name: str) -> dict[str, Any] | None:
    """The characterization section (latest figures and history), None if the backend was never characterized."""
    with database(request).read() as session:
        runs = performance_runs.summary_history(session, name, limit=30)
        if not runs:
            return None
        cached = cached_section(runs)
        if cached is not None:
            return cached
        latest = performance_runs.latest_run(session, name)
    return performance_section(runs, latest.document if latest is not None else None)


def status_periods(request: Request, name: str) -> list[tuple[str, datetime, str]]:
    """The backend's status changes, newest first, as (status, since, how long it lasted or has lasted)."""
    with database(request).read() as session:
        events = [(e.status, e.at) for e in calibrations.status_history(session, name)]
    periods = []
    until = utcnow()
    for status, at in events:
        periods.append((status, at, duration_text(max(0.0, (until - at).total_seconds()))))
        until = at
    return periods


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def headline(device: Any, row: BackendRow, summary: dict[str, Any] | None, snapshot: dict[str, Any] | None,
             periods: list[tuple[str, datetime, str]] | None = None) -> list[tuple[str, str, str, str]]:
    """The figures a system page leads with, as (key, label, value, note): quantum volume (measured by the latest
    characterization), median 1q, 2q and readout errors and T1/T2 over working qubits, status and calibration age."""
    target = device.target
    working = list(device.working_qubits)

    def fmt(value: float | None, pattern: str) -> str:
        return "n/a" if value is None else pattern.format(value)

    one_q = _median([v for q in working if (v := qubit_metric(target, q, "error_1q")) is not None])
    two_q = _median([float(target.two_qubit_error(a, b)) for a, b in target.edges])
    summary = summary or {}
    taken = (snapshot or {}).get("time")
    age = f"calibration taken {taken.strftime('%Y-%m-%d')}" if taken is not None else ""
    return [
        ("qv", "Quantum volume", fmt(row.quantum_volume, "{:d}"),
         "measured" if row.quantum_volume is not None else "not characterized yet"),
        ("error_1q", "Median 1q error", fmt(one_q, "{:.2e}"), ""),
        ("error_2q", "Median 2q error", fmt(two_q, "{:.2e}"), f"{len(target.edges)} working couplers"),
        ("readout", "Median readout error", fmt(summary.get("readout_error"), "{:.2e}"),
         "default value" if summary.get("readout_default") else ""),
        ("t1", "Median T1", fmt(summary.get("t1_us"), "{:.1f} µs"), ""),
        ("t2", "Median T2 echo", fmt(summary.get("t2echo_us"), "{:.1f} µs"), ""),
        ("status", "Status", row.status, (f"for {periods[0][2]}; " if periods else "")
         + f"{row.queue_length} queued, {row.running} running"),
        ("qubits", "Working qubits", f"{row.num_working} of {row.num_qubits}", age),
    ]


@router.get("/backends/{name}")
def backend_page(request: Request, name: str, user: PageUser, metric: str = "t1") -> Response:
    devices = catalog(request)
    if name not in devices.names():
        raise PageError(404, "No such backend", f"There is no backend named {name!r}.")
    device = devices.get(name)
    row = next(r for r in backend_rows(request) if r.name == name)
    snapshot = _snapshot(request, name, device)
    data = (snapshot or {}).get("data") or {}
    chip = calibration_table.is_chip_info(data) and not device.target.unconstrained
    qubits = calibration_table.qubit_rows(data, device.target, defaults=device.defaults) if chip else []
    couplers = calibration_table.coupler_rows(data) if chip else []
    summary = calibration_table.summary(qubits, couplers) if chip else None
    periods = status_periods(request, name)
    context = {
        "status_periods": periods,
        "nav": "backends", "backend": row, "device": device, "snapshot": snapshot, "chip": chip,
        "metric": metric if metric in METRICS else "t1", "metrics": METRICS,
        "topology": topology_svg(device, metric=metric) if chip else None,
        "qubits": qubits, "couplers": couplers,
        "summary": summary,
        "headline": headline(device, row, summary, snapshot, periods) if chip else None,
        "plain_data": {k: v for k, v in data.items()} if not chip else None,
        "performance": _performance(request, name),
    }
    return render(request, "backend.html", context, user=user)
