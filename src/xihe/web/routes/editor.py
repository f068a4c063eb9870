"""The circuit editor: an OpenQASM box checked as the user types, the circuit drawn, options, and submit.

``POST /editor/validate`` is the page's small JSON endpoint: it parses with the service's own parser (so the page
and the API agree on every error), answers the first error with its line and column, checks the circuit against
the chosen backend, and returns the drawing. Submitting goes through :func:`xihe.service.submit.submit_job`, the
same entry point as the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from xihe.circuit.draw import draw_svg
from xihe.errors import XiheError
from xihe.service.api.deps import parse_pool
from xihe.service.catalog import DeviceCatalog
from xihe.service.limits import input_limits, parse_job_circuits, quota_of
from xihe.service.metrics import ServiceMetrics
from xihe.service.problems import Problem
from xihe.service.repositories import calibrations, jobs, users
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import check_job, job_texts, submit_job
from xihe.status import DeviceStatus
from xihe.web.deps import JsonUser, PageUser, catalog, check_csrf, database, render
from xihe.web.free_parameters import free_parameter_error
from xihe.web.routes import composer
from xihe.web.sessions import csrf_matches

router = APIRouter(include_in_schema=False)
router.include_router(composer.router)  # the visual composer is the editor's other face (same submit)

MAX_DRAWN_OPERATIONS = 1500
HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
BELL_EXAMPLE = HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
# Starting points for people who do not write QASM every day (each is checked by the tests).
EXAMPLES = {
    "Bell pair": BELL_EXAMPLE,
    "GHZ state, 5 qubits": HEADER + "qreg q[5];\ncreg c[5];\nh q[0];\n"
    + "".join(f"cx q[{i}],q[{i + 1}];\n" for i in range(4)) + "measure q -> c;\n",
    "Quantum Fourier transform of |101>": HEADER + "qreg q[3];\ncreg c[3];\nx q[0];\nx q[2];\nbarrier q;\n"
    "h q[0];\ncu1(pi/2) q[1],q[0];\ncu1(pi/4) q[2],q[0];\nh q[1];\ncu1(pi/2) q[2],q[1];\nh q[2];\n"
    "swap q[0],q[2];\nmeasure q -> c;\n",
    "Grover search for |11>": HEADER + "qreg q[2];\ncreg c[2];\nh q;\ncz q[0],q[1];\nh q;\nx q;\n"
    "cz q[0],q[1];\nx q;\nh q;\nmeasure q -> c;\n",
    "Teleportation (mid-circuit measurement)": HEADER + "qreg q[3];\ncreg a[1];\ncreg b[1];\ncreg out[1];\n"
    "ry(1.1) q[0];\nh q[1];\ncx q[1],q[2];\ncx q[0],q[1];\nh q[0];\nmeasure q[0] -> a[0];\n"
    "measure q[1] -> b[0];\nif(b==1) x q[2];\nif(a==1) z q[2];\nmeasure q[2] -> out[0];\n",
}


class ValidateRequest(BaseModel):
    qasm: str = Field(max_length=1_000_000)
    backend: str | None = None
    compile: bool = True


def check_source(request: Request, body: ValidateRequest) -> dict[str, Any]:
    """The validation answer: ``ok``, the syntax ``error`` (line, column, message), a ``backend_error``, a drawing.
    The program is read by :func:`read_source` (in the parse pool when large); the backend's status comes from
    the database here."""
    devices = catalog(request)
    known = bool(body.backend) and body.backend in devices.names()
    answer = parse_pool(request).run([body.qasm], read_source, body, known)
    if body.backend and known and answer["stats"] is not None:
        device = devices.get(body.backend)
        with database(request).read() as session:
            status = calibrations.backend_status(session, device)
        if status is not DeviceStatus.ONLINE and answer["backend_error"] is None:  # as submit_job refuses it
            answer["backend_error"] = f"backend {body.backend} is {status.described}; it takes no new jobs now"
    answer["ok"] = answer["stats"] is not None and answer["error"] is None and answer["backend_error"] is None
    return answer


def read_source(settings: Settings, devices: DeviceCatalog, body: ValidateRequest, known: bool, *,
                inline_operations: int | None = None) -> dict[str, Any]:
    """What the editor shows of a program that needs no database: its first error, its figures, its drawing, and
    whether the chosen backend (``known``: one of the catalog's) can take it."""
    answer: dict[str, Any] = {"ok": False, "error": None, "backend_error": None, "svg": None, "stats": None}
    if not body.qasm.strip():
        answer["error"] = {"line": 1, "column": 1, "message": "the program is empty"}
        return answer
    try:
        # The size limits only: a circuit too wide for the chosen backend is its backend_error, below.
        circuit = parse_job_circuits([body.qasm], input_limits(settings), settings,
                                     inline_operations=inline_operations)[0]
    except Problem as problem:
        line = problem.extra.get("line")
        column = problem.extra.get("column")
        message = problem.detail
        prefix = f"line {line}, column {column}: "
        if message.startswith(prefix):
            message = message[len(prefix):]
        answer["error"] = {"line": line, "column": column, "message": message}
        return answer
    answer["stats"] = {"qubits": circuit.num_qubits, "clbits": circuit.num_clbits, "operations": len(circuit),
                       "depth": circuit.depth(), "parameters": sorted(str(p) for p in circuit.parameters)}
    if len(circuit) <= MAX_DRAWN_OPERATIONS:
        answer["svg"] = draw_svg(circuit)
    answer["error"] = free_parameter_error(body.qasm, circuit)
    if body.backend and not known:
        answer["backend_error"] = f"unknown backend {body.backend!r}"
    elif body.backend:
        try:
            devices.get(body.backend).validate(circuit, verbatim=not body.compile)
        except XiheError as exc:
            answer["backend_error"] = str(exc)
    return answer


@router.post("/editor/validate")
def validate(request: Request, body: ValidateRequest, user: JsonUser,
             x_csrf_token: Annotated[str | None, Header()] = None) -> Response:
    if not csrf_matches(user.csrf, x_csrf_token):
        return JSONResponse({"detail": "missing or stale CSRF token; reload the page"}, status_code=403)
    return JSONResponse(check_source(request, body))


def _editor(request: Request, user: Any, *, form: dict[str, Any] | None = None, error: str | None = None,
            status: int = 200) -> Response:
    devices = catalog(request)
    values = {"qasm": BELL_EXAMPLE, "backend": "sim", "shots": 1000, "compile": True, "optimization_level": 2,
              "seed": "", "name": "", "tags": "", **(form or {})}
    context = {"nav": "editor", "backends": devices.names(), "form": values, "error": error, "examples": EXAMPLES}
    return render(request, "editor.html", context, status=status, user=user)


def _form_of_job(request: Request, user: Any, job_id: str) -> dict[str, Any] | None:
    """The editor's fields as the user's job ``job_id`` had them (its first circuit), for "edit a copy"."""
    with database(request).read() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            return None
        payload = job.payload or {}
        circuits = payload.get("circuits") or []
        if not circuits:
            return None
        return {"qasm": circuits[0], "backend": job.backend, "shots": job.shots,
                "compile": bool(payload.get("compile", True)),
                "optimization_level": payload.get("optimization_level", 2), "seed": payload.get("seed") or "",
                "name": job.name or "", "tags": ", ".join(job.tags or [])}


@router.get("/editor")
def editor_page(request: Request, user: PageUser, backend: str | None = None,
                from_job: str | None = None) -> Response:
    form = _form_of_job(request, user, from_job) if from_job else None
    if form is None and backend in catalog(request).names():
        form = {"backend": backend}
    return _editor(request, user, form=form)


@router.post("/editor/submit")
def submit(request: Request, user: PageUser, qasm: Annotated[str, Form()] = "",
           backend: Annotated[str, Form()] = "sim", shots: Annotated[str, Form()] = "1000",
           compile: Annotated[str | None, Form()] = None,
           optimization_level: Annotated[str, Form()] = "2", seed: Annotated[str, Form()] = "",
           name: Annotated[str, Form()] = "", tags: Annotated[str, Form()] = "",
           csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    form = {"qasm": qasm, "backend": backend, "shots": shots, "compile": compile is not None,
            "optimization_level": optimization_level, "seed": seed, "name": name, "tags": tags}
    try:
        body = JobCreate(qasm=qasm, backend=backend, shots=int(shots), compile=compile is not None,
                         optimization_level=int(optimization_level), seed=int(seed) if seed.strip() else None,
                         name=name.strip() or None, tags=[t.strip() for t in tags.split(",") if t.strip()])
    except ValueError as exc:
        return _editor(request, user, form=form, error=_describe(exc), status=422)
    settings = request.app.state.settings
    try:
        with database(request).read() as session:
            account = users.get_user(session, user.id)
            assert account is not None
        # Parse and check before taking the write lock, which then covers only quotas and the insert (a large
        # program is read in the parse pool).
        prepared = parse_pool(request).run(job_texts(body), check_job, body, quota_of(account))
        with database(request).write() as session:
            account = users.get_user(session, user.id)
            assert account is not None
            outcome = submit_job(session, settings, catalog(request), account, body, source="web",
                                 prepared=prepared)
            job_id = outcome.job.id
    except Problem as problem:
        return _editor(request, user, form=form, error=problem.detail, status=problem.status)
    metrics = getattr(request.app.state, "metrics", None)
    if isinstance(metrics, ServiceMetrics):
        metrics.jobs_submitted.labels(backend=backend, kind=body.kind).inc()
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def _describe(exc: ValueError) -> str:
    if isinstance(exc, PydanticValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
    return f"a number field is not a number ({exc})"
