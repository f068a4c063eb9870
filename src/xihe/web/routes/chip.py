"""The chip panel of a backend page (one qubit's or coupler's calibration now and its history plots, fetched when
the user clicks or taps the chip drawing or picks from the list), and the admin's "characterize now" button.

The panel is an HTML fragment rendered by the server (inline SVG plots, no chart library); the button queues the
same characterization job as ``POST /api/v1/backends/{name}/characterize`` through the service's own
``characterization.enqueue``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from xihe.service import characterization
from xihe.service.problems import Problem
from xihe.service.repositories import calibrations, users
from xihe.web.charts import line_chart_svg
from xihe.web.deps import AdminUser, PageError, PageUser, catalog, check_csrf, database, render
from xihe.web.history import QUBIT_FIGURES, Snapshot, coupler_series, merged, qubit_series
from xihe.web.topology import METRICS, qubit_metric

router = APIRouter(include_in_schema=False)
SUITES = ("quick", "standard", "full")


def _device(request: Request, name: str) -> Any:
    devices = catalog(request)
    if name not in devices.names():
        raise PageError(404, "No such backend", f"There is no backend named {name!r}.")
    device = devices.get(name)
    if device.target.unconstrained:
        raise PageError(404, "No chip", f"{name} is an ideal simulator: it has no qubits to calibrate.")
    return device


def _snapshots(request: Request, name: str, device: Any) -> list[Snapshot]:
    with database(request).read() as session:
        recorded = [Snapshot(r.snapshot_id, r.time, r.data) for r in calibrations.list_snapshots(session, name)]
    own = [Snapshot(s.id, s.time, s.data) for s in device.history]
    return merged(recorded, own)


def _format(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} µs" if metric in ("t1", "t2", "t2_ramsey") else f"{value:.4f}"


@router.get("/backends/{name}/qubits/{qubit}")
def qubit_panel(request: Request, name: str, qubit: int, user: PageUser) -> Response:
    device = _device(request, name)
    target = device.target
    if not 0 <= qubit < target.num_qubits:
        raise PageError(404, "No such qubit", f"{name} has no qubit {qubit}.")
    working = qubit in set(device.working_qubits)
    now = [(METRICS[m], _format(m, qubit_metric(target, qubit, m) if working else None)) for m in METRICS]
    series = qubit_series(_snapshots(request, name, device), target, qubit)
    formats = {key: fmt for key, _, fmt in QUBIT_FIGURES}
    plots = [(label, line_chart_svg(points, title=label, fmt=formats[key])) for key, (label, points) in series.items()]
    neighbours = sorted(target.neighbors.get(qubit, ())) if working else []
    context = {"kind": "qubit", "title": f"{target.labels[qubit]} (#{qubit})", "working": working, "now": now,
               "plots": plots, "snapshots": max((len(p) for _, p in series.values()), default=0),
               "neighbours": neighbours, "backend": name}
    return render(request, "_chip_panel.html", context, user=user)


@router.get("/backends/{name}/couplers/{a}-{b}")
def coupler_panel(request: Request, name: str, a: int, b: int, user: PageUser) -> Response:
    device = _device(request, name)
    target = device.target
    if not (0 <= a < target.num_qubits and 0 <= b < target.num_qubits) or a == b:
        raise PageError(404, "No such coupler", f"{name} has no coupler {a}-{b}.")
    pair = (min(a, b), max(a, b))
    working = pair in {(min(x, y), max(x, y)) for x, y in target.edges}
    fidelity = 1.0 - float(target.two_qubit_error(*pair)) if working else None
    gates = sorted(g for g in target.two_qubit_gates
                   if target.gates and (pair in target.gates[g] or pair[::-1] in target.gates[g]))
    points = coupler_series(_snapshots(request, name, device), pair)
    if not working and not points:
        raise PageError(404, "No such coupler", f"{name} has no coupler {a}-{b}.")
    now = [("2q gate fidelity", "—" if fidelity is None else f"{fidelity:.4f}"),
           ("native 2q gates", ", ".join(gates) or "—")]
    plots = [("2q fidelity", line_chart_svg(points, title="2q gate fidelity", fmt="{:.4f}"))] if points else []
    context = {"kind": "coupler", "title": f"{target.labels[pair[0]]}–{target.labels[pair[1]]} ({pair[0]}-{pair[1]})",
               "working": working, "now": now, "plots": plots, "snapshots": len(points), "neighbours": list(pair),
               "backend": name}
    return render(request, "_chip_panel.html", context, user=user)


@router.post("/backends/{name}/characterize")
def characterize_now(request: Request, name: str, admin: AdminUser, suite: Annotated[str, Form()] = "quick",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Admin: queue a characterization suite now; the page goes to the job (its figures then fill the page)."""
    check_csrf(admin, csrf_token)
    _device(request, name)
    with database(request).write() as session:
        account = users.get_user(session, admin.id)
        if account is None:
            raise PageError(404, "No such user", "Your account no longer exists.")
        try:
            job = characterization.enqueue(session, catalog(request), account, name,
                                           suite=suite if suite in SUITES else "quick", region_size=2)
        except Problem as problem:
            raise PageError(problem.status, "Cannot characterize", problem.detail) from None
        job_id = job.id
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)
