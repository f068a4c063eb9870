"""quafu-sdk 0.2.7's ``/api/v1`` (jobs of tasks, devices, calibration, metadata) over Xihe's jobs and accounts.

A quafu-sdk job is one Xihe job: ``single`` is a single job, ``collection`` a batch, ``sweep`` a parametrized
job whose ``{{name}}`` placeholders become the parameter ``name`` bound to each point. Task ``k`` is the job's
``k``-th result; its id is ``<job_id>-<k>``. An ``iterative`` job is a job group (``g`` + 16 hex digits): each
append is one more Xihe job, and the group numbers their results as one list of tasks. ``client_ref`` is the
job's idempotency key, so a replayed ``POST /jobs`` returns the same job. Counts are keyed with classical bit 0
rightmost (``c0_rightmost``, all bits, length ``n_clbits``), as the SDK's ``reorder``/``counts_by_qubit``/
``expectation_z`` require.

``POST /api/v1/jobs`` and ``POST /api/v1/jobs/{id}/cancel`` exist in the native API too; this router comes first
and hands a request that is not quafu-sdk's back to the native handler (see docs/decisions.md).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from xihe.service.api import compat
from xihe.service.api.deps import UserDep
from xihe.service.api.quafu_sdk_results import task_detail
from xihe.service.api.quafu_sdk_stats import MAX_DAYS, user_stats
from xihe.service.api.routes import jobs as native_jobs
from xihe.service.api.routes import oauth, quafu_sdk_devices
from xihe.service.api.routes.quafu_sdk_devices import not_found, resolve, sdk_error
from xihe.service.clock import utcnow
from xihe.service.models import Job, JobGroup, User
from xihe.service.problems import Problem
from xihe.service.repositories import job_groups, jobs
from xihe.service.repositories.count_pages import WHOLE_COUNTS_LIMIT
from xihe.service.schemas import JobCreate
from xihe.service.states import JobStatus
from xihe.service.submit import SubmitOutcome

router = APIRouter(prefix="/api/v1", tags=["quafu-sdk"], include_in_schema=False)
router.include_router(quafu_sdk_devices.router)
router.include_router(oauth.router)
# The two operations quafu-sdk shares with the native API (same method and path): the app includes these before the
# native routers and ``router`` after them, so a native request does not walk quafu-sdk's other routes first (each
# candidate costs FastAPI's matcher about 1.5 us, on every request; issue 13, service load).
shared = APIRouter(prefix="/api/v1", tags=["quafu-sdk"], include_in_schema=False)

SOURCE = "quafu-sdk"
PARAMETERS_KEY = "quafu_sdk_parameters"  # a sweep's declared parameters ({name, unit[, symbol]}) in its payload
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


# --- jobs ------------------------------------------------------------------------------------------------------

# A job field's name in a quafu-sdk body, where the two differ.
_SDK_FIELD = {"backend": "target", "qasm": "circuits", "compile": "circuit_level"}


def _refused(exc: ValidationError) -> Problem:
    """The 400 for a body value the job model refuses, each message led by the quafu-sdk field it is about
    ("name: String should have at most 256 characters", not the bare message)."""
    return sdk_error(400, "bad_request", "; ".join(
        f"{_SDK_FIELD.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" if e["loc"] else str(e["msg"])
        for e in exc.errors()))


def _sdk_body(request: Request, body: dict[str, Any]) -> JobCreate:
    """The native submission a quafu-sdk ``POST /jobs`` body means."""
    mode = body.get("mode")
    target = str(body.get("target") or "").strip()
    backend, _device = resolve(request, target)
    shots = body.get("shots", 1024)
    common: dict[str, Any] = {"backend": backend, "shots": shots, "name": body.get("name"),
                              "compile": body.get("circuit_level", "logical") != "physical"}
    if mode in ("single", "collection"):
        items = body.get("circuits") or []
        if not items or not all(isinstance(item, dict) and isinstance(item.get("qasm"), str) for item in items):
            raise sdk_error(400, "bad_request", "'circuits' must be a list of {qasm: ...} items", field="circuits")
        if mode == "single" and len(items) != 1:
            raise sdk_error(400, "bad_request", "a single job has exactly one circuit", field="circuits")
        texts = [item["qasm"] for item in items]
        return JobCreate(qasm=texts[0], **common) if mode == "single" else JobCreate(circuits=texts, **common)
    if mode == "sweep":
        template, points = body.get("template_qasm"), body.get("points")
        names = [str(p.get("name")) for p in body.get("parameters") or [] if isinstance(p, dict)]
        if not isinstance(template, str) or not isinstance(points, list) or not points or not names:
            raise sdk_error(400, "bad_request", "a sweep needs 'template_qasm', 'parameters' and 'points'",
                            field="points")
        undeclared = sorted(set(_PLACEHOLDER.findall(template)) - set(names))
        if undeclared:
            raise sdk_error(422, "precheck.undeclared", f"placeholders {undeclared} are not declared parameters",
                            undeclared=undeclared)
        if any(not isinstance(row, list) or len(row) != len(names) for row in points):
            raise sdk_error(400, "bad_request", f"each point has {len(names)} values", field="points")
        bindings = [{name: float(value) for name, value in zip(names, row, strict=True)} for row in points]
        return JobCreate(qasm=_PLACEHOLDER.sub(lambda m: m.group(1), template), parameters=bindings, **common)
    raise sdk_error(400, "bad_request", f"unknown mode {mode!r}", field="mode")


def _quota_exhausted(request: Request, user: User, problem: Problem) -> Problem:
    """The daily quota refusal as quafu-sdk's ``QuotaError`` reads it: ``vars`` with ``hard_limit``, ``used``,
    ``resets_at`` and ``wait_s`` (its message names them), and ``retry_after``."""
    state = request.app.state
    now = utcnow()
    with state.database.read() as session:
        quota = user_stats(session, state.settings, state.catalog, user, 1, now)["quota"]
    resets_at = quota["sim"]["resets_at"]
    wait_s = max(1, math.ceil((datetime.fromisoformat(resets_at) - now).total_seconds())) if resets_at else None
    error = sdk_error(429, "runtime.quotaExhausted", problem.detail, used=quota["used"], limit=quota["limit"],
                      hard_limit=quota["limit"], remaining=0, requested=1, resets_at=resets_at, wait_s=wait_s)
    if wait_s is not None:
        error.extra["retry_after"] = wait_s
        error.headers["Retry-After"] = str(wait_s)
    return error


def _precheck(problem: Problem, request: Request, user: User) -> Problem:
    """A native validation problem in quafu-sdk's vocabulary (``precheck.*`` -> ``PrecheckError``)."""
    codes = {"too_many_shots": "precheck.shotsOutOfRange", "quota_shots": "precheck.shotsOutOfRange",
             "too_large": "precheck.simTooLarge", "quota_qubits": "precheck.simTooLarge",
             "too_many_circuits": "job_too_large"}
    if problem.status == 401:
        return problem
    if problem.code == "quota_jobs_per_day":
        return _quota_exhausted(request, user, problem)
    if problem.code == "unbound_parameters":  # the native hint names a field quafu-sdk never sends
        return sdk_error(422, "precheck.unbound_parameters", problem.detail.split(";")[0] + "; give their values "
                         "with quafu.sweep (the template writes each as {{name}}) or bind them before submitting")
    if problem.code in codes:  # a per-job limit, the user's or the backend's: the SDK's precheck categories
        return sdk_error(422 if problem.status == 403 else problem.status, codes[problem.code], problem.detail)
    if problem.status == 409 and problem.code == "backend_unavailable":
        return sdk_error(503, "runtime.deviceUnavailable", problem.detail)
    return sdk_error(problem.status, f"precheck.{problem.code}" if problem.status == 422 else problem.code,
                     problem.detail)


def _open_group(request: Request, user: User, body: dict[str, Any]) -> dict[str, Any]:
    """An iterative job: an open group with no tasks yet (a replayed ``client_ref`` returns the same one)."""
    backend, _device = resolve(request, str(body.get("target") or "").strip())
    template = body.get("template_qasm")
    parameters = [p for p in body.get("parameters") or [] if isinstance(p, dict) and p.get("name")]
    if template is not None:
        undeclared = sorted(set(_PLACEHOLDER.findall(str(template))) - {str(p["name"]) for p in parameters})
        if undeclared:
            raise sdk_error(422, "precheck.undeclared", f"placeholders {undeclared} are not declared parameters",
                            undeclared=undeclared)
    shots = body.get("shots", 1024)
    if not isinstance(shots, int) or isinstance(shots, bool) or shots < 1:
        raise sdk_error(400, "bad_request", "shots must be a positive integer", field="shots")
    ref = body.get("client_ref")
    with request.app.state.database.write() as session:
        group = job_groups.find_by_client_ref(session, user.id, str(ref)) if ref else None
        if group is None:
            group = job_groups.create_group(
                session, user.id, client_ref=str(ref) if ref else None, target=str(body.get("target")),
                backend=backend, shots=shots, compile=body.get("circuit_level", "logical") != "physical",
                name=body.get("name"), template=template, parameters=parameters)
        return {"job_id": group.id, "task_ids": [], "n_tasks": 0, "status": "Queued", "open": bool(group.open)}


def _labels(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Any], list[Any]] | None:
    """The declared parameters and per-circuit ``parameter_values``/``name`` of a single or collection job, or
    None when it has none (then the job is a plain Xihe job; with them, a closed group that keeps the labels)."""
    items = [item for item in body.get("circuits") or [] if isinstance(item, dict)]
    parameters = [p for p in body.get("parameters") or [] if isinstance(p, dict) and p.get("name")]
    values = [item.get("parameter_values") for item in items]
    names = [item.get("name") for item in items]
    if not parameters and not any(v is not None for v in values + names):
        return None
    declared = {str(p["name"]) for p in parameters}
    undeclared = sorted({str(k) for v in values if isinstance(v, dict) for k in v} - declared)
    if undeclared:
        raise sdk_error(422, "precheck.undeclared", f"parameter values {undeclared} are not declared parameters",
                        undeclared=undeclared, missing=not parameters)
    return parameters, values, names


def _shot_runs(body: dict[str, Any]) -> list[tuple[int, list[int]]]:
    """The circuits as contiguous runs sharing their shots (an item's own ``shots``, else the job's):
    ``[(shots, [item index, ...]), ...]``. One Xihe job runs one number of shots, so each run is one job."""
    runs: list[tuple[int, list[int]]] = []
    for index, item in enumerate(body.get("circuits") or []):
        shots = item.get("shots", body.get("shots", 1024))
        if not isinstance(shots, int) or isinstance(shots, bool):
            raise sdk_error(400, "bad_request", f"circuit {index}: shots must be an integer", field="shots")
        if runs and runs[-1][0] == shots:
            runs[-1][1].append(index)
        else:
            runs.append((shots, [index]))
    return runs


def _submit_grouped(request: Request, user: User, body: dict[str, Any], create: JobCreate,
                    labels: tuple[list[dict[str, Any]], list[Any], list[Any]] | None,
                    runs: list[tuple[int, list[int]]]) -> dict[str, Any]:
    """A collection as a closed group: its labels kept per task, and one batch job per run of equal shots.

    Each run is submitted with its own idempotency key (the first with the job's), and joins the group in its own
    transaction, in order; a replay of the same ``client_ref`` returns the same group and adds nothing.
    """
    texts = [item["qasm"] for item in body["circuits"]]
    parameters, values, names = labels or ([], [None] * len(texts), [None] * len(texts))
    ref = str(body["client_ref"]) if body.get("client_ref") else None
    group_id: list[str] = []
    words: list[str] = []
    for run, (shots, members) in enumerate(runs):
        if len(runs) == 1:
            part = create
        else:
            try:
                part = JobCreate(circuits=[texts[k] for k in members], backend=create.backend, shots=shots,
                                 compile=create.compile, name=create.name)
            except ValidationError as exc:
                raise _refused(exc) from None

        def record(session: Session, outcome: SubmitOutcome, members: list[int] = members) -> None:
            group = (job_groups.get_user_group(session, user.id, group_id[0]) if group_id else
                     job_groups.find_by_client_ref(session, user.id, ref) if ref else None)
            if group is None:
                group = job_groups.create_group(session, user.id, open=False, client_ref=ref,
                                                target=str(body.get("target")), backend=create.backend,
                                                shots=create.shots, compile=create.compile, name=create.name,
                                                template=None, parameters=parameters)
            n = len(members)
            job_groups.add_member(session, group, outcome.job.id, n, [None] * n, [None] * n,
                                  parameter_values=[values[k] for k in members], names=[names[k] for k in members])
            if not group_id:
                group_id.append(group.id)

        key = None if ref is None else f"quafu-sdk:{ref}" if run == 0 else f"quafu-sdk:{ref}:{run}"
        try:
            job = compat.submit(request, user, part, source=SOURCE, then=record, idempotency_key=key).job
        except Problem as exc:
            raise _precheck(exc, request, user) from None
        words.append(compat.STATUS_WORDS[JobStatus(job.status)])
    n = len(texts)
    return {"job_id": group_id[0], "task_ids": [f"{group_id[0]}-{k}" for k in range(n)], "n_tasks": n,
            "status": words[0] if len(set(words)) == 1 else "Queued", "open": False}


def _submit_sdk(request: Request, user: User, body: dict[str, Any]) -> dict[str, Any]:
    if body.get("mode") == "iterative":
        return _open_group(request, user, body)
    client_ref = body.get("client_ref")
    try:
        create = _sdk_body(request, body)
    except ValidationError as exc:
        raise _refused(exc) from None
    grouped = body.get("mode") in ("single", "collection")
    labels = _labels(body) if grouped else None
    runs = _shot_runs(body) if grouped else []
    if labels is not None or len(runs) > 1:
        return _submit_grouped(request, user, body, create, labels, runs)
    if runs and runs[0][0] != create.shots:  # one circuit (or all) with its own shots
        try:
            create = JobCreate.model_validate(create.model_dump() | {"shots": runs[0][0]})
        except ValidationError as exc:
            raise _refused(exc) from None
    declared = [{"name": str(p["name"]), "unit": str(p.get("unit") or "1"), **({"symbol": str(p["symbol"])} if
                 p.get("symbol") else {})} for p in body.get("parameters") or [] if isinstance(p, dict)]

    def keep_parameters(session: Session, outcome: SubmitOutcome) -> None:
        if declared and outcome.created:  # the sweep's declared names and units, for its results table
            session.execute(update(Job).where(Job.id == outcome.job.id).values(
                payload={**(outcome.job.payload or {}), PARAMETERS_KEY: declared}))

    try:
        job = compat.submit(request, user, create, source=SOURCE, then=keep_parameters,
                            idempotency_key=f"quafu-sdk:{client_ref}" if client_ref else None).job
    except Problem as exc:
        raise _precheck(exc, request, user) from None
    n = job.num_circuits
    return {"job_id": job.id, "task_ids": [f"{job.id}-{k}" for k in range(n)], "n_tasks": n,
            "status": compat.STATUS_WORDS[JobStatus(job.status)], "open": False}


@shared.post("/jobs", status_code=201, operation_id="sdk_or_native_submit")
async def submit(request: Request, user: UserDep, response: Response,
                 idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> Any:
    """A quafu-sdk job (its body has ``mode``) or else the native submission, answered by the native handler."""
    raw = await request.body() if "json" in request.headers.get("content-type", "").lower() else None
    # Decoding a 2 MB body is ~20 ms of CPU (issue 18): on the thread pool with the submit, never on the loop.
    return await run_in_threadpool(_submit_decoded, request, user, response, idempotency_key, raw)


def _submit_decoded(request: Request, user: User, response: Response, idempotency_key: str | None,
                    raw: bytes | None) -> Response:
    """:func:`submit` on a pool thread: decode the body (``None``: not JSON, which the native model refuses as
    FastAPI would, "the body must be a JSON object"), then submit it as the protocol it is."""
    body: Any = None
    if raw is not None:
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError as exc:
            raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode "
                                           "error", "input": {}, "ctx": {"error": exc.msg}}]) from None
    if isinstance(body, dict) and "mode" in body and "target" in body:
        return JSONResponse(_submit_sdk(request, user, body), status_code=201)
    try:
        native = JobCreate.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    state = request.app.state
    public = native_jobs.submit(request=request, body=native, user=user, settings=state.settings,
                                database=state.database, catalog=state.catalog, response=response,
                                idempotency_key=idempotency_key)
    # The model's own JSON, encoded by pydantic in one step (jsonable_encoder walked the dict again: 150 us; a
    # JSON-mode dump then json.dumps: twice the work of this).
    return Response(public.model_dump_json(by_alias=True), status_code=201, media_type="application/json",
                    headers=dict(response.headers))


@dataclass
class _Slot:
    """One task of an SDK job: result ``local`` of Xihe job ``job``; ``iteration``/``evaluation_index`` if given."""

    job: Job
    results: list[dict[str, Any]]
    local: int
    iteration: int | None = None
    evaluation_index: int | None = None
    parameter_values: dict[str, float] | None = None
    name: str | None = None


@dataclass
class _View:
    """A quafu-sdk job as its tasks: one Xihe job's results, or an iterative group's members' results in order."""

    id: str
    open: bool
    slots: list[_Slot]
    parameters: list[dict[str, Any]]
    target: str = ""  # the target as quafu-sdk names it (echoed in each task's ``target``)


def _view(request: Request, user: User, job_id: str) -> _View:
    with request.app.state.database.read() as session:
        if job_groups.is_group_id(job_id):
            group = job_groups.get_user_group(session, user.id, job_id)
            if group is None:
                raise not_found("job", job_id)
            slots = []
            for member in group.members:
                job = jobs.get_job(session, member["job_id"])
                assert job is not None  # members are written in the job's own transaction
                results = _whole_results(session, job)
                n = int(member["n"])
                values, names = member.get("parameter_values") or [None] * n, member.get("names") or [None] * n
                slots += [_Slot(job, results, k, member["iterations"][k], member["evaluation_index"][k], values[k],
                                names[k]) for k in range(n)]
            return _View(group.id, bool(group.open), slots, list(group.parameters or []), str(group.target))
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            raise not_found("job", job_id)
        results = _whole_results(session, job)
        bindings = (job.payload or {}).get("parameters")
        names = list(bindings[0]) if bindings else []
        declared = (job.payload or {}).get(PARAMETERS_KEY) or [{"name": n, "unit": "1"} for n in names]
        return _View(job.id, False, [_Slot(job, results, k) for k in range(int(job.num_circuits))], declared,
                     quafu_sdk_devices.sdk_name(request.app.state.catalog.get(job.backend)))


_COUNT_KEYS = {JobStatus.QUEUED: "queued", JobStatus.RUNNING: "running", JobStatus.DONE: "finished",
               JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled"}


def _whole_results(session: Session, job: Job) -> list[dict[str, Any]]:
    """A finished job's records with their whole counts (the SDK reads them in one answer; past
    ``WHOLE_COUNTS_LIMIT`` outcomes a 413 points to the native pages), none before."""
    if job.status != JobStatus.DONE.value:
        return []
    return jobs.results_for(session, job.id, counts_limit=WHOLE_COUNTS_LIMIT)


def _counts(view: _View) -> dict[str, int]:
    counts = {"total": len(view.slots), "queued": 0, "running": 0, "finished": 0, "failed": 0, "cancelled": 0}
    for slot in view.slots:
        counts[_COUNT_KEYS[JobStatus(slot.job.status)]] += 1
    return counts


def _job_word(view: _View) -> str:
    """The job's status word from its tasks' (``PartiallyFinished``: some finished, the others did not)."""
    counts = _counts(view)
    if counts["running"] or (view.open and counts["finished"] + counts["failed"] + counts["cancelled"]):
        return "Running"
    if counts["queued"] or view.open or not view.slots:
        return "Queued" if view.open or counts["queued"] else "Finished"
    for key, word in (("finished", "Finished"), ("failed", "Failed"), ("cancelled", "Cancelled")):
        if counts[key] == counts["total"]:
            return word
    return "PartiallyFinished" if counts["finished"] else "Failed"


@router.get("/jobs/{job_id}/status", operation_id="sdk_job_status")
def job_status(request: Request, job_id: str, user: UserDep) -> dict[str, Any]:
    view = _view(request, user, job_id)
    return {"job_id": view.id, "status": _job_word(view), "open": view.open, "counts": _counts(view)}


def _slot_task(request: Request, view: _View, seq: int) -> dict[str, Any]:
    slot = view.slots[seq]
    detail = task_detail(slot.job, slot.results, slot.local)
    detail["task_id"] = f"{view.id}-{seq}"
    detail["target"] = view.target or detail["target"]
    if request.app.state.catalog.get(slot.job.backend).target.unconstrained:
        detail["calibration"]["id"] = None  # ideal simulation: no calibration was used (the SDK's contract)
    detail["job"] |= {"seq": seq, "iteration": slot.iteration, "evaluation_index": slot.evaluation_index}
    if slot.parameter_values is not None:
        detail["job"]["parameter_values"] = slot.parameter_values
    if slot.name is not None:
        detail["name"] = slot.name
    return detail


@router.get("/jobs/{job_id}/tasks/{seq}", operation_id="sdk_task")
def task(request: Request, job_id: str, seq: int, user: UserDep) -> dict[str, Any]:
    view = _view(request, user, job_id)
    if not 0 <= seq < len(view.slots):
        raise not_found("task", f"{job_id}-{seq}")
    return _slot_task(request, view, seq)


@router.get("/jobs/{job_id}/results", operation_id="sdk_results")
def results_table(request: Request, job_id: str, user: UserDep, offset: int = 0, limit: int = 200) -> dict[str, Any]:
    """The paged columnar table of a job's tasks (``seq``, ``total``, one list per column)."""
    view = _view(request, user, job_id)
    start = max(0, offset)
    seqs = list(range(start, min(len(view.slots), start + max(0, min(limit, 1000)))))
    rows = [_slot_task(request, view, seq) for seq in seqs]
    names = [str(p["name"]) for p in view.parameters]

    def point(row: dict[str, Any]) -> list[float] | None:
        values = row["job"]["parameter_values"]
        return [values[n] for n in names] if values and names else None

    return {"job_id": view.id, "schema_version": 1, "total": len(view.slots), "offset": offset,
            "parameters": view.parameters, "bit_order": "c0_rightmost", "seq": seqs,
            "task_ids": [row["task_id"] for row in rows], "points": [point(row) for row in rows],
            "names": [view.slots[seq].name for seq in seqs], "iterations": [row["job"]["iteration"] for row in rows],
            "evaluation_index": [row["job"]["evaluation_index"] for row in rows],
            "replicate_index": [0] * len(seqs), "status": [row["status"] for row in rows],
            "n_clbits": [row["result"]["n_clbits"] if row["result"] else None for row in rows],
            "shots_returned": [row["result"]["shots_returned"] if row["result"] else None for row in rows],
            "counts": [row["result"]["counts"] if row["result"] else None for row in rows],
            "errors": [row["error"] for row in rows]}


@router.post("/jobs/{job_id}/close", operation_id="sdk_close")
def close(request: Request, job_id: str, user: UserDep) -> dict[str, Any]:
    """Close an iterative job (no more appends); other jobs are closed from the start. Idempotent."""
    if job_groups.is_group_id(job_id):
        with request.app.state.database.write() as session:
            group = job_groups.get_user_group(session, user.id, job_id)
            if group is None:
                raise not_found("job", job_id)
            job_groups.close_group(session, group)
    view = _view(request, user, job_id)
    return {"open": view.open, "status": _job_word(view)}


def _append_body(group: JobGroup, body: dict[str, Any]) -> tuple[JobCreate, list[int | None], list[int | None]]:
    """The native submission of an append: points into the group's template, or circuits; per-task labels."""
    common: dict[str, Any] = {"backend": group.backend, "shots": group.shots, "compile": group.compile,
                              "name": group.name}
    iteration, evaluation = body.get("iteration"), body.get("evaluation_index")
    if body.get("points") is not None:
        if not group.template:
            raise sdk_error(409, "job_has_no_template", f"job {group.id} has no template to put points in")
        names = [str(p["name"]) for p in group.parameters]
        points = body["points"]
        if not isinstance(points, list) or not points or any(
                not isinstance(row, list) or len(row) != len(names) for row in points):
            raise sdk_error(400, "bad_request", f"each point has {len(names)} values", field="points")
        bindings = [{n: float(v) for n, v in zip(names, row, strict=True)} for row in points]
        create = JobCreate(qasm=_PLACEHOLDER.sub(lambda m: m.group(1), group.template), parameters=bindings, **common)
        return create, [iteration] * len(points), [evaluation] * len(points)
    items = body.get("circuits")
    if not isinstance(items, list) or not items or not all(
            isinstance(item, dict) and isinstance(item.get("qasm"), str) for item in items):
        raise sdk_error(400, "bad_request", "append 'points' or a list of {qasm: ...} 'circuits'", field="circuits")
    if {item["shots"] for item in items if "shots" in item} - {group.shots}:
        raise sdk_error(400, "bad_request", "Xihe runs every task of a job with the job's shots", field="shots")
    return (JobCreate(circuits=[item["qasm"] for item in items], **common),
            [item.get("iteration", iteration) for item in items],
            [item.get("evaluation_index", evaluation) for item in items])


def _append(request: Request, user: User, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
    with request.app.state.database.read() as session:
        group = job_groups.get_user_group(session, user.id, group_id) if job_groups.is_group_id(group_id) else None
        is_job = group is None and jobs.get_user_job(session, user.id, group_id) is not None
    if is_job:
        raise sdk_error(409, "job_not_iterative", f"job {group_id} is not an iterative job")
    if group is None:
        raise not_found("job", group_id)
    if not group.open:
        raise sdk_error(409, "job_closed", f"job {group_id} is closed")
    try:
        create, iterations, evaluation = _append_body(group, body)
    except ValidationError as exc:
        raise _refused(exc) from None
    first: list[int] = []

    def record(session: Session, outcome: SubmitOutcome) -> None:
        # In the submit's transaction: a closed group refuses the job, and a replay adds nothing.
        current = job_groups.get_user_group(session, user.id, group_id)
        assert current is not None
        if not current.open and outcome.created:
            raise sdk_error(409, "job_closed", f"job {group_id} is closed")
        first.append(job_groups.add_member(session, current, outcome.job.id, len(iterations), iterations,
                                           evaluation))

    ref = body.get("client_ref")
    try:
        compat.submit(request, user, create, source=SOURCE, then=record,
                      idempotency_key=f"quafu-sdk:{group_id}:{ref}" if ref else None)
    except Problem as exc:
        raise _precheck(exc, request, user) from None
    return {"task_ids": [f"{group_id}-{first[0] + k}" for k in range(len(iterations))]}


@router.post("/jobs/{job_id}/tasks", operation_id="sdk_append")
async def append(request: Request, job_id: str, user: UserDep) -> dict[str, Any]:
    """Append tasks (points or circuits) to an open iterative job; they continue its task numbering."""
    return await run_in_threadpool(_append_raw, request, user, job_id, await request.body())  # type: ignore[no-any-return]


def _append_raw(request: Request, user: User, job_id: str, raw: bytes) -> dict[str, Any]:
    """:func:`append` on a pool thread, its body decoded there (as :func:`submit`'s)."""
    try:
        body = json.loads(raw or b"{}")
    except json.JSONDecodeError as exc:
        raise sdk_error(400, "bad_request", f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise sdk_error(400, "bad_request", "the body must be a JSON object")
    return _append(request, user, job_id, body)


def _cancel_sdk(request: Request, user: User, job_id: str) -> dict[str, Any] | None:
    """quafu-sdk's cancel of a job it submitted; None for any other job (the native handler answers)."""
    with request.app.state.database.write() as session:
        if job_groups.is_group_id(job_id):
            group = job_groups.get_user_group(session, user.id, job_id)
            if group is None:
                raise not_found("job", job_id)
            job_groups.close_group(session, group)
            members = [(jobs.get_job(session, m["job_id"]), int(m["n"])) for m in group.members]
        else:
            job = jobs.get_user_job(session, user.id, job_id)
            if job is None:
                raise not_found("job", job_id)
            if job.source != SOURCE:
                return None
            members = [(job, int(job.num_circuits))]
        now = requested = 0
        for member, n in members:
            assert member is not None
            before = JobStatus(member.status)
            if not before.is_terminal:
                jobs.request_cancel(session, member)
            after = JobStatus(member.status)
            now += n if before == JobStatus.QUEUED and after == JobStatus.CANCELLED else 0
            requested += n if after == JobStatus.RUNNING else 0
    view = _view(request, user, job_id)
    return {"job_id": view.id, "cancelled_now": now, "cancel_requested": requested, "status": _job_word(view),
            "open": view.open}


@shared.post("/jobs/{job_id}/cancel", operation_id="sdk_or_native_cancel")
async def cancel(request: Request, job_id: str, user: UserDep) -> Any:
    """quafu-sdk's answer for its own jobs, the native answer for the others."""
    answer = await run_in_threadpool(_cancel_sdk, request, user, job_id)
    if answer is not None:
        return JSONResponse(answer)
    public = await run_in_threadpool(lambda: native_jobs.cancel(request=request, job_id=job_id, user=user,
                                                                database=request.app.state.database))
    return JSONResponse(public.model_dump(mode="json", by_alias=True))


@router.get("/stats/me", operation_id="sdk_stats")
def stats(request: Request, user: UserDep, days: str = "30") -> dict[str, Any]:
    """The caller's jobs, tasks and shots per day (every client's) and the quota (:mod:`quafu_sdk_stats`)."""
    if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
        raise sdk_error(400, "bad_request", f"days must be an integer from 1 to {MAX_DAYS}", field="days")
    state = request.app.state
    with state.database.read() as session:
        return user_stats(session, state.settings, state.catalog, user, int(days), utcnow())
