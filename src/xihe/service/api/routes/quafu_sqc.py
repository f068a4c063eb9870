"""The ``/task/...`` protocol of quafusqc 3.3.9 (and quarkstudio's ``quark.Task``) over Xihe's jobs and accounts.

The client sends its token raw in a ``token`` header, ignores HTTP status codes and reads only JSON values, so:
``verify`` answers a non-object on success, ``run`` a bare integer task id, ``result`` ``{}`` until the task is
finished, and every error is a JSON object with a message. A task id is the Xihe job id read as a hexadecimal
number (jobs from every client are the same rows; one id maps to one job both ways). Counts are keyed with
classical bit 0 rightmost (Qiskit's order), as quafusqc users compare them. The task's ``options`` are honoured or
refused by :mod:`xihe.service.api.quafu_sqc_options`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from xihe.service.api import compat
from xihe.service.api.deps import current_user
from xihe.service.api.quafu_sdk_results import clbit_count, measurements
from xihe.service.api.quafu_sqc_options import STORED_KEY, corrected_counts, parse_options
from xihe.service.models import Job, User
from xihe.service.problems import Problem
from xihe.service.repositories import jobs
from xihe.service.repositories.count_pages import WHOLE_COUNTS_LIMIT
from xihe.service.schemas import JobCreate
from xihe.service.states import JobStatus
from xihe.service.submit import SubmitOutcome

router = APIRouter(prefix="/task", tags=["quafusqc"], include_in_schema=False)

_JOB_ID = re.compile(r"[0-9a-f]{16}")
_TIME_FORMAT = "%Y-%m-%d-%H-%M-%S"
_QUERY_SORT = {"taskId": "id", "taskName": "name", "chipName": "backend", "status": "status",
               "submitTime": "created_at"}
_TASK_FIELD = {"qasm": "circuit", "dynamical_decoupling": "open_dd"}  # a job field's name in a quafusqc task


def task_id(job_id: str) -> int:
    """The quafusqc task id of a job (its hexadecimal id as an integer)."""
    return int(job_id, 16)


def job_id_of(tid: str) -> str | None:
    if not tid.isdigit():
        return None
    text = format(int(tid), "016x")
    return text if _JOB_ID.fullmatch(text) else None


def _answer(value: Any) -> JSONResponse:
    return JSONResponse(value, status_code=200)


def _error(message: str) -> JSONResponse:
    return _answer({"error": message, "detail": message})


async def task_user(request: Request, token: Annotated[str, Header()] = "") -> User:
    """The user of a quafusqc request: the native authentication and rate limit, the token read from ``token``."""
    return await current_user(request, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip()))


def _load(request: Request, user: User, tid: str) -> tuple[Job, list[dict[str, Any]]] | None:
    job_id = job_id_of(tid)
    if job_id is None:
        return None
    with request.app.state.database.read() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            return None
        return job, jobs.results_for(session, job.id, counts_limit=WHOLE_COUNTS_LIMIT)


def _word(job: Job) -> str:
    return compat.STATUS_WORDS[JobStatus(job.status)]


def _corrected(device: Any, source: str, compiled: str, counts: dict[str, int]) -> dict[str, float]:
    """``counts`` with the readout confusion of each measured physical qubit inverted (none on a noiseless run)."""
    errors = {} if device.noiseless else device.target.readout_error
    readout = {bit: errors[qubit] for bit, qubit in measurements(compiled).items() if qubit in errors}
    return corrected_counts(counts, clbit_count(source), readout)


def _result(request: Request, job: Job, results: list[dict[str, Any]]) -> dict[str, Any]:
    """A finished task as quafusqc's docstring and lessons read it (``count``, ``status``, ``transpiled``...)."""
    first = compat.result_of(results, 0)
    submitted = (job.payload or {}).get("circuits") or [""]
    options = (job.payload or {}).get(STORED_KEY) or {}
    counts = compat.c0_rightmost(first.get("counts") or {}) if job.status == JobStatus.DONE.value else {}
    extra: dict[str, Any] = {"options": options}
    if options.get("correct") and job.status == JobStatus.DONE.value:
        device = request.app.state.catalog.get(job.backend)
        extra["corrected"] = _corrected(device, submitted[0], first.get("compiled_qasm") or submitted[0], counts)
    error = ""
    if job.status == JobStatus.FAILED.value:
        error = f"failed at {job.error_stage or 'an unknown stage'}: {job.error_detail or 'no reason recorded'}"
    elif job.status == JobStatus.CANCELLED.value:
        error = "cancelled"
    return {"tid": task_id(job.id), "status": _word(job), "count": counts,
            "transpiled": first.get("compiled_qasm") or submitted[0], "error": error,
            "finished": job.finished_at.isoformat() if job.finished_at else None, "chip": job.backend,
            "name": job.name or "", "shots": job.shots, "bit_order": "c0_rightmost", **extra}


@router.get("/verify", operation_id="sqc_verify")
async def verify(request: Request, token: Annotated[str, Header()] = "") -> JSONResponse:
    """A valid token answers a string (quafusqc raises on any JSON object)."""
    try:
        user = await task_user(request, token)
    except Problem as exc:
        return _error(compat.problem_text(exc))
    return _answer(f"token of {user.name} verified")


@router.get("/status/{tid}", operation_id="sqc_status")
async def status(request: Request, tid: str, token: Annotated[str, Header()] = "") -> JSONResponse:
    """``tid`` 0: every chip's queue length (or its state when not online); otherwise the task's status word."""
    try:
        user = await task_user(request, token)
        if tid == "0":
            states, queues = await run_in_threadpool(compat.status_and_queues, request)
            return _answer({name: queues[name] if states[name] == "online" else states[name].capitalize()
                            for name in states})
        found = await run_in_threadpool(_load, request, user, tid)
    except Problem as exc:
        return _error(compat.problem_text(exc))
    if found is None:
        return _error(f"no task {tid}")
    return _answer(_word(found[0]))


def _run(request: Request, user: User, name: str, chip: str, shots: int, raw: bytes) -> int:
    try:
        task = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, "bad_json", f"the body is not JSON: {exc}") from None
    if not isinstance(task, dict) or not isinstance(task.get("circuit"), str):
        raise Problem(400, "invalid_request", "the body must be a JSON object with an OpenQASM 'circuit'")
    backend = compat.backend_name(request, chip)
    if backend is None:
        raise Problem(422, "unknown_backend", f"unknown chip {chip!r}; see task/status/0")
    compile_ = task.get("compile", True)
    if not isinstance(compile_, bool):
        raise Problem(422, "invalid_request", f"'compile' must be true or false, got {compile_!r}")
    options = parse_options(task.get("options"), clbit_count(task["circuit"]))
    try:
        body = JobCreate(qasm=task["circuit"], backend=backend, shots=shots, compile=compile_, name=name or None,
                         dynamical_decoupling=options.get("open_dd"))
    except ValidationError as exc:  # named as the task names them: "shots: Input should be ...", not the bare msg
        raise Problem(422, "invalid_request", "; ".join(
            f"{_TASK_FIELD.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" if e["loc"] else str(e["msg"])
            for e in exc.errors())) from None

    def keep_options(session: Session, outcome: SubmitOutcome) -> None:
        if options:  # in the submit's transaction: the job and its options are written together
            session.execute(update(Job).where(Job.id == outcome.job.id)
                            .values(payload={**(outcome.job.payload or {}), STORED_KEY: options}))

    return task_id(compat.submit(request, user, body, source="quafusqc", then=keep_options).job.id)


@router.post("/run/", operation_id="sqc_run")
async def run(request: Request, name: str = "MyQuantumJob", chip: str = "", shots: str = "1024",
              token: Annotated[str, Header()] = "") -> JSONResponse:
    """Queue a task (``name``, ``chip``, ``shots`` in the query, the JSON body with no content type); its id."""
    try:
        user = await task_user(request, token)
        if not shots.strip().isdigit():
            raise Problem(422, "invalid_request", f"shots must be a whole number, got {shots!r}")
        raw = await request.body()
        return _answer(await run_in_threadpool(_run, request, user, name, chip, int(shots), raw))
    except Problem as exc:
        return _error(compat.problem_text(exc))


@router.get("/result/{tid}", operation_id="sqc_result")
async def result(request: Request, tid: str, token: Annotated[str, Header()] = "") -> JSONResponse:
    """``{}`` while the task is queued or running; then its counts and state."""
    try:
        user = await task_user(request, token)
        found = await run_in_threadpool(_load, request, user, tid)
    except Problem as exc:
        # Rate limited: "not ready yet", so result(timeout=...) polls on instead of returning the error as a result.
        return _answer({}) if exc.status == 429 else _error(compat.problem_text(exc))
    if found is None:
        return _error(f"no task {tid}")
    job, results = found
    if not JobStatus(job.status).is_terminal:
        return _answer({})
    return _answer(_result(request, job, results))


def _cancel(request: Request, user: User, tid: str) -> dict[str, Any] | None:
    job_id = job_id_of(tid)
    if job_id is None:
        return None
    with request.app.state.database.write() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            return None
        if not JobStatus(job.status).is_terminal:
            jobs.request_cancel(session, job)
        return {"tid": task_id(job.id), "status": _word(job), "cancel_requested": bool(job.cancel_requested)}


@router.get("/cancel/{tid}", operation_id="sqc_cancel")
async def cancel(request: Request, tid: str, token: Annotated[str, Header()] = "") -> JSONResponse:
    """Cancel a queued task at once, or ask a running one to stop; a finished one is left as it is."""
    try:
        user = await task_user(request, token)
        answer = await run_in_threadpool(_cancel, request, user, tid)
    except Problem as exc:
        return _error(compat.problem_text(exc))
    return _answer(answer) if answer is not None else _error(f"no task {tid}")


@router.get("/delete/{tid}", operation_id="sqc_delete")
async def delete(request: Request, tid: str, token: Annotated[str, Header()] = "") -> JSONResponse:
    """Xihe keeps every job's record (the audit trail): a delete cancels the task if it has not finished."""
    try:
        user = await task_user(request, token)
        answer = await run_in_threadpool(_cancel, request, user, tid)
    except Problem as exc:
        return _error(compat.problem_text(exc))
    if answer is None:
        return _error(f"no task {tid}")
    return _answer(answer | {"deleted": False, "message": "Xihe keeps task records; the task is cancelled if it "
                                                          "had not finished"})


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise Problem(422, "invalid_request", f"times are written YYYY-mm-dd-HH-MM-SS, got {text!r}") from None


def _query(request: Request, user: User, chips: str, states: str, start: str | None, end: str | None, offset: int,
           limit: int, sort: str, order: str) -> dict[str, Any]:
    wanted_chips = {c.strip().lower() for c in chips.split(",") if c.strip()}
    wanted_states = {s.strip() for s in states.split(",") if s.strip()}
    after, before = _parse_time(start), _parse_time(end)
    with request.app.state.database.read() as session:
        rows, _total = jobs.list_jobs(session, user.id, limit=10_000)
    picked = []
    for job in rows:
        created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)
        if wanted_chips and job.backend.lower() not in wanted_chips:
            continue
        if wanted_states and _word(job) not in wanted_states:
            continue
        if (after is not None and created < after) or (before is not None and created > before):
            continue
        picked.append(job)
    key = _QUERY_SORT.get(sort, "created_at")
    picked.sort(key=lambda job: (getattr(job, key) or ""), reverse=order != "asc")
    page = picked[offset: offset + limit]
    return {"total": len(picked), "offset": offset, "limit": limit,
            "tasks": [{"taskId": task_id(job.id), "taskName": job.name or "", "chipName": job.backend,
                       "status": _word(job), "submitTime": job.created_at.strftime(_TIME_FORMAT), "shots": job.shots}
                      for job in page]}


@router.get("/query/", operation_id="sqc_query")
async def query(request: Request, token: Annotated[str, Header()] = "", chips: str = "", status: str = "",
                start: str | None = None, end: str | None = None,
                offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 10,
                sort: str = "submitTime", order: str = "desc") -> JSONResponse:
    """The caller's tasks (from every client) filtered by chips, status words and submit time, paged and sorted."""
    try:
        user = await task_user(request, token)
        answer = await run_in_threadpool(_query, request, user, chips, status, start, end, offset, limit, sort,
                                         order)
    except Problem as exc:
        return _error(compat.problem_text(exc))
    return _answer(answer)
