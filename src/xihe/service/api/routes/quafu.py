"""The legacy Quafu protocol, exactly as unmodified ``pyquafu`` 0.4.5 speaks it, over Xihe's jobs and accounts.

pyquafu posts form bodies with the token in an ``api_token`` header to five URLs under ``/qbackend/``:

- ``get_backends/`` -> ``{"status": 200, "data": [{system_name, system_id, qubits, status, valid_gates, QV,
  queued_len}]}``
- ``scq_get_chip_info/`` (form ``system_name``, lower-cased) -> the chip-info JSON (``topological_structure``...)
- ``scq_kit/`` (waits for the result) and ``scq_kit_asyc/`` (returns at once), form ``qtasm, shots, qubits, scan,
  tomo, selected_server (a backend's system_id), compile, priority, task_name, pyquafu_version, runtime_job_id``
- ``scq_task_recall/`` (form ``task_id``)

A task answers as ``{task_id, task_name, status, openqasm, res, raw, measure}``: ``status`` is the task state (0 In
Queue, 1 Running, 2 Completed, 3 Canceled, 4 Failed), ``openqasm`` the compiled circuit once there is one (else
the submitted one) in pyquafu's QASM dialect with the user's measurement order, ``res`` and ``raw`` the counts as a
dict string (``"{}"`` until done) keyed by the measured classical bits only, the lowest leftmost, as pyquafu's
``simulate`` keys them (:mod:`xihe.service.quafu_legacy`). Errors put a code in ``status`` with a ``message``: 201
bad or expired token, 400 a bad request or an exhausted quota (pyquafu's ``UserError``), 5001 a circuit that fails
validation (``CircuitError``), 5004 a circuit the device cannot take (``CompileError``), 5003 the backend or server
unavailable (``ServerError``). Those answers are HTTP 200, because pyquafu turns any other status into a generic
``ServerError``, except on ``scq_task_recall/`` and ``scq_get_chip_info/``: pyquafu reads their answers without
looking at a code, so there an error also has an HTTP error status (401, 404, 400, 5xx), which ``raise_for_status``
turns into pyquafu's ``ServerError`` rather than a ``KeyError``. The ideal simulator ``sim`` is listed a second
time as ``sim-ideal``, because pyquafu keeps the name ``sim`` for its local simulator. A failure found later, while
compiling or running, is task status 4 with its reason in ``message``.

Submissions go through :func:`xihe.service.submit.submit_job`, so these are the same jobs, accounts, quotas and
queue as the native API (the job's ``source`` is ``"quafu"``).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool

from xihe.devices.registry import SIM_ALIAS, SIM_ALIAS_SYSTEM_ID
from xihe.service.api.compat import status_and_queues
from xihe.service.api.deps import AuthThrottled, authenticate, parse_pool, rate_limit, wait_until_finished
from xihe.service.limits import quota_of
from xihe.service.models import Job, User
from xihe.service.problems import Problem
from xihe.service.quafu_legacy import (
    ReadTaskQasm,
    non_finite_angle,
    pyquafu_counts,
    pyquafu_task_qasm,
    read_task_qasm,
)
from xihe.service.repositories import jobs
from xihe.service.repositories.count_pages import WHOLE_COUNTS_LIMIT
from xihe.service.schemas import JobCreate
from xihe.service.states import QUAFU_CODES, JobStatus
from xihe.service.submit import check_job, job_texts, submit_job

log = logging.getLogger("xihe.api.quafu")

router = APIRouter(prefix="/qbackend", tags=["quafu (legacy)"])

# Error codes of the Quafu protocol, as pyquafu's validate_server_resp reads them.
OK = 200
BAD_TOKEN = 201
BAD_REQUEST = 400
INVALID_CIRCUIT = 5001
SERVER_UNAVAILABLE = 5003
DEVICE_CANNOT_TAKE = 5004

_STATUS_WORDS = {"online": "Online", "maintenance": "Maintenance", "offline": "Offline"}
# Instructions a verbatim (compile=0) pyquafu circuit may carry besides the native gates; pyquafu checks its gates
# against ``valid_gates`` itself before sending (measurements are kept apart from gates in pyquafu).
_ALWAYS_VALID = ("barrier", "delay")
# pyquafu's retrieve and get_chip_info never read the body's code (they would fail with a KeyError on an error
# body); an HTTP error status is the one signal they heed: ``raise_for_status`` -> pyquafu's ServerError with it.
_HTTP_STATUS = {BAD_TOKEN: 401, BAD_REQUEST: 400, INVALID_CIRCUIT: 422, DEVICE_CANNOT_TAKE: 422,
                SERVER_UNAVAILABLE: 503}
_MEASURE = re.compile(r"measure\s+\w+\s*\[\s*(\d+)\s*\]\s*->\s*\w+\s*\[\s*(\d+)\s*\]")


class QuafuError(Exception):
    """An error answered in the Quafu way: HTTP 200, ``{"status": code, "message": ...}``."""

    def __init__(self, code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or _HTTP_STATUS.get(code, 400)


def url_form(body: bytes) -> dict[str, str]:
    """A URL-encoded form's fields, the last value of a repeated key (as Starlette's ``FormData`` gives them)."""
    return dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))


def _answer(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=200)


def _error(code: int, message: str, http_status: int = 200) -> JSONResponse:
    return JSONResponse({"status": code, "message": message, "msg": message}, status_code=http_status)


def _code_for(problem: Problem) -> int:
    """The Quafu code of a native problem (same validation, another protocol)."""
    if problem.status == 401:
        return BAD_TOKEN
    if problem.code in ("qasm_syntax", "invalid_circuit", "unbound_parameters", "bad_parameters"):
        return INVALID_CIRCUIT
    if problem.code in ("invalid_for_backend", "too_many_shots", "too_large", "too_many_circuits"):
        return DEVICE_CANNOT_TAKE
    if problem.status in (409, 429, 503) or problem.status >= 500:
        return SERVER_UNAVAILABLE
    return BAD_REQUEST


async def _guarded(request: Request, handler: Any, *, http_errors: bool = False) -> JSONResponse:
    """Run ``handler(request, user, form)`` after authentication, mapping every failure to a Quafu answer.

    ``http_errors``: for the calls whose answer pyquafu reads without checking its code, an error also gets an
    HTTP error status (the body is the same).
    """
    try:
        user = await run_in_threadpool(_authenticate, request)
        if "x-www-form-urlencoded" in request.headers.get("content-type", "").lower():
            # Decoded on the thread pool: a 190 KB program's form is ~40 ms of pure-Python unquoting, which held
            # the event loop (/health) on every legacy submit (issue 18). The body is read on the loop (I/O).
            form = await run_in_threadpool(url_form, await request.body())
        else:
            form = {key: str(value) for key, value in (await request.form()).items()}
        # The answer (it may carry the programs rewritten) is encoded on the thread pool too.
        return await run_in_threadpool(_answer, await handler(request, user, form))
    except AuthThrottled:  # too many failed tokens from this address: a 429 in every protocol
        raise
    except QuafuError as exc:
        return _error(exc.code, exc.message, exc.http_status if http_errors else 200)
    except Problem as exc:
        code = _code_for(exc)
        return _error(code, exc.detail, (exc.status if exc.status >= 400 else _HTTP_STATUS[code]) if http_errors
                      else 200)
    except Exception:  # the protocol has no 500: say so in its own way, keep the trace in the log
        log.exception("legacy Quafu request %s failed", request.url.path)
        return _error(SERVER_UNAVAILABLE, "internal server error; the operator's log has details",
                      500 if http_errors else 200)


def _authenticate(request: Request) -> User:
    token = request.headers.get("api_token", "").strip()
    if not token:
        raise QuafuError(BAD_TOKEN, "missing api_token header; save your Xihe API token with User.save_apitoken()")
    try:
        user = authenticate(request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token))
    except Problem as exc:
        raise QuafuError(BAD_TOKEN, f"API token is invalid or expired: {exc.detail}") from exc
    try:
        rate_limit(request, user)
    except Problem as exc:  # the same bucket and burst as the native API; the protocol has no 429
        raise QuafuError(SERVER_UNAVAILABLE, exc.detail) from exc
    return user


def _int_field(form: dict[str, str], name: str, default: int | None = None) -> int:
    raw = form.get(name, "")
    if raw == "" and default is not None:
        return default
    try:
        return int(float(raw))
    except (ValueError, OverflowError):  # OverflowError: '1e400' is an infinite float
        raise QuafuError(BAD_REQUEST, f"form field {name!r} must be an integer, got {raw!r}") from None


def _backend_by_system_id(request: Request, system_id: int) -> Any:
    catalog = request.app.state.catalog
    if system_id == SIM_ALIAS_SYSTEM_ID:
        return catalog.get("sim")
    for name in catalog.names():
        device = catalog.get(name)
        if int(getattr(device, "system_id", -1)) == system_id:
            return device
    raise QuafuError(BAD_REQUEST, f"no backend with system_id {system_id}; see qbackend/get_backends/")


def _backend_by_name(request: Request, name: str) -> Any:
    catalog = request.app.state.catalog
    if name.strip().lower() == SIM_ALIAS:
        return catalog.get("sim")
    for known in catalog.names():
        if known.lower() == name.strip().lower():
            return catalog.get(known)
    raise QuafuError(BAD_REQUEST, f"unknown backend {name!r}; available: {', '.join(catalog.names())}",
                     http_status=404)




def backend_entry(device: Any, status: str, queued: int) -> dict[str, Any]:
    """One backend as pyquafu's ``Backend(info)`` reads it."""
    gates = sorted({str(g).lower() for g in getattr(device, "native_gates", ())} | set(_ALWAYS_VALID))
    return {
        "system_name": device.name,
        "system_id": int(device.system_id),
        "qubits": int(device.num_qubits),
        "status": _STATUS_WORDS.get(status, status.capitalize()),
        "valid_gates": gates,
        "QV": int(getattr(device, "quantum_volume", 0) or 0),
        "queued_len": int(queued),
    }


def _counts_text(counts: dict[str, int] | None) -> str:
    return json.dumps(dict(sorted((counts or {}).items())))


def _measure_text(qasm: str) -> str:
    """The measured qubit -> classical bit map of a circuit, as pyquafu's ``measures`` dict prints it."""
    return str({int(q): int(c) for q, c in _MEASURE.findall(qasm)})


def task_json(job: Job, results: list[dict[str, Any]], read: ReadTaskQasm = pyquafu_task_qasm) -> dict[str, Any]:
    """A job as a Quafu task: compiled circuit and counts once done, the submitted circuit and "{}" before.

    ``openqasm`` is written in pyquafu's dialect with the user's measurement order, and ``res`` keyed by the
    measured bits only (:mod:`xihe.service.quafu_legacy`), so pyquafu's ``ExecResult`` reads both right.
    ``read``: how the stored programs are read (the API reads a large one in its parse pool).
    """
    status = JobStatus(job.status)
    submitted = ((job.payload or {}).get("circuits") or [""])[0]
    first = results[0] if results else {}
    openqasm, measured = read(first.get("compiled_qasm") or submitted, submitted)
    counts = first.get("counts") if status == JobStatus.DONE else None
    if counts:
        counts = pyquafu_counts(counts, measured)
    body: dict[str, Any] = {
        "task_id": job.id,
        "task_name": job.name or "",
        "status": QUAFU_CODES[status],
        "openqasm": openqasm,
        "res": _counts_text(counts),
        "raw": _counts_text(counts),
        "measure": _measure_text(openqasm),
        "backend": job.backend,
        "shots": job.shots,
    }
    if status == JobStatus.FAILED:
        stage = f" at {job.error_stage}" if job.error_stage else ""
        body["message"] = f"task failed{stage}: {job.error_detail or 'no reason recorded'}"
    elif status == JobStatus.CANCELLED:
        body["message"] = "task cancelled"
    return body


def _load_task(request: Request, user: User, task_id: str) -> dict[str, Any]:
    with request.app.state.database.read() as session:
        job = jobs.get_user_job(session, user.id, task_id)
        if job is None:
            raise QuafuError(BAD_REQUEST, f"no task {task_id!r} for this token", http_status=404)
        results = jobs.results_for(session, job.id, counts_limit=WHOLE_COUNTS_LIMIT)
    # The stored programs are read again for pyquafu's dialect: a large one in the parse pool (issue 18).
    pool = parse_pool(request)
    return task_json(job, results, lambda text, submitted: pool.run([text, submitted], read_task_qasm, text,
                                                                    submitted))


def _submit(request: Request, user: User, form: dict[str, str]) -> str:
    qasm = form.get("qtasm", "")  # pyquafu's gates, mcrx/mcry/mcrz too, are the gate table's
    if not qasm.strip():
        raise QuafuError(INVALID_CIRCUIT, "the task has no circuit (form field 'qtasm' is empty)")
    device = _backend_by_system_id(request, _int_field(form, "selected_server"))
    try:
        body = JobCreate(
            qasm=qasm,
            backend=device.name,
            shots=_int_field(form, "shots", 1000),
            compile=bool(_int_field(form, "compile", 1)),
            priority=min(10, max(0, _int_field(form, "priority", 0))),
            name=form.get("task_name") or None,
        )
    except PydanticValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise QuafuError(BAD_REQUEST, f"invalid task: {reasons}") from None
    settings, database, catalog = request.app.state.settings, request.app.state.database, request.app.state.catalog
    try:
        # Parse and check before taking the write lock (a large program in the parse pool).
        prepared = parse_pool(request).run(job_texts(body), check_job, body, quota_of(user))
    except Problem as exc:
        if exc.code != "unbound_parameters":
            raise
        # The protocol has no field for parameter values: a name here is pyquafu's 'nan'/'inf' or unbound.
        bad = non_finite_angle(qasm)
        raise QuafuError(INVALID_CIRCUIT, f"the circuit has a gate angle that is not a finite number ({bad}); "
                         "give every angle a finite value" if bad else
                         f"{exc.detail.split(';')[0]}; bind every Parameter in pyquafu before sending") from None
    with database.write() as session:
        outcome = submit_job(session, settings, catalog, user, body, source="quafu", prepared=prepared)
        job_id = outcome.job.id
    request.app.state.metrics.jobs_submitted.labels(backend=body.backend, kind=body.kind).inc()
    return job_id


async def _wait_for_task(request: Request, user: User, task_id: str) -> dict[str, Any]:
    """The task once finished, or as it stands after the server's longest wait (pyquafu can retrieve it later)."""
    async def finished() -> bool:
        return await run_in_threadpool(_task_finished, request, user, task_id)

    await wait_until_finished(request, task_id, float(request.app.state.settings.max_wait_seconds), finished)
    return await run_in_threadpool(_load_task, request, user, task_id)


def _task_finished(request: Request, user: User, task_id: str) -> bool:
    with request.app.state.database.read() as session:
        status = jobs.user_job_status(session, user.id, task_id)
    if status is None:
        raise QuafuError(BAD_REQUEST, f"no task {task_id!r} for this token", http_status=404)
    return JobStatus(status).is_terminal


@router.post("/get_backends/", operation_id="quafu_get_backends")
async def get_backends(request: Request) -> JSONResponse:
    """Every backend, as pyquafu's ``User.get_available_backends`` expects."""

    async def handle(request: Request, user: User, form: dict[str, str]) -> dict[str, Any]:
        statuses, queued = await run_in_threadpool(status_and_queues, request)
        catalog = request.app.state.catalog
        data = []
        for name in catalog.names():
            device = catalog.get(name)
            status = statuses[name]
            data.append(backend_entry(device, status, queued.get(name, 0)))
            if name == "sim":  # the same simulator under a name pyquafu sends to the server (see SIM_ALIAS)
                data.append(backend_entry(device, status, queued.get(name, 0)) | {
                    "system_name": SIM_ALIAS, "system_id": SIM_ALIAS_SYSTEM_ID})
        return {"status": OK, "message": "success", "data": data}

    return await _guarded(request, handle)


@router.post("/scq_get_chip_info/", operation_id="quafu_get_chip_info")
async def get_chip_info(request: Request) -> JSONResponse:
    """A backend's calibration in the Quafu chip-info format (pyquafu asks by the lower-cased name)."""

    async def handle(request: Request, user: User, form: dict[str, str]) -> dict[str, Any]:
        device = _backend_by_name(request, form.get("system_name", ""))
        info = dict(await run_in_threadpool(device.to_quafu_chip_info))
        info.setdefault("status", OK)
        return info

    return await _guarded(request, handle, http_errors=True)


@router.post("/scq_kit/", operation_id="quafu_send_and_wait")
async def send_and_wait(request: Request) -> JSONResponse:
    """Submit a task and answer when it has finished (or after the server's longest wait)."""

    async def handle(request: Request, user: User, form: dict[str, str]) -> dict[str, Any]:
        task_id = await run_in_threadpool(_submit, request, user, form)
        return await _wait_for_task(request, user, task_id)

    return await _guarded(request, handle)


@router.post("/scq_kit_asyc/", operation_id="quafu_send")
async def send(request: Request) -> JSONResponse:
    """Submit a task and answer at once with its queued state (the URL's spelling is pyquafu's)."""

    async def handle(request: Request, user: User, form: dict[str, str]) -> dict[str, Any]:
        task_id = await run_in_threadpool(_submit, request, user, form)
        return await run_in_threadpool(_load_task, request, user, task_id)

    return await _guarded(request, handle)


@router.post("/scq_task_recall/", operation_id="quafu_retrieve")
async def retrieve(request: Request) -> JSONResponse:
    """A task's current state and, once done, its counts."""

    async def handle(request: Request, user: User, form: dict[str, str]) -> dict[str, Any]:
        task_id = form.get("task_id", "").strip()
        if not task_id:
            raise QuafuError(BAD_REQUEST, "form field 'task_id' is missing")
        return await run_in_threadpool(_load_task, request, user, task_id)

    return await _guarded(request, handle, http_errors=True)
