"""``/api/v1/jobs``: submit (single, batch, sweep), list, get with ``?wait=`` long poll, cancel."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from xihe.limits import MAX_PAGE_SIZE
from xihe.service.api.deps import (
    CatalogDep,
    DatabaseDep,
    SettingsDep,
    UserDep,
    backend_parallelism,
    parse_pool,
    wait_until_finished,
)
from xihe.service.db import Database
from xihe.service.limits import quota_of
from xihe.service.models import User
from xihe.service.problems import Problem, not_found, problem_responses
from xihe.service.repositories import count_pages, jobs, memory_pages
from xihe.service.repositories.performance import CHARACTERIZE_KIND
from xihe.service.schemas import (
    CountsPagePublic,
    JobCreate,
    JobPage,
    JobPublic,
    MemoryPagePublic,
    ResultPublic,
)
from xihe.service.states import JobStatus
from xihe.service.submit import check_job, job_texts, submit_job
from xihe.service.views import RECORD_ITEMS, item_public, job_public

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429))


@router.post("", status_code=201, response_model=JobPublic, operation_id="submit_job",
             )
def submit(request: Request, body: JobCreate, user: UserDep, settings: SettingsDep, database: DatabaseDep,
           catalog: CatalogDep, response: Response,
           idempotency_key: Annotated[str | None, Header(max_length=255)] = None) -> JobPublic:
    """Validate and queue a job: ``qasm``, a batch of ``circuits``, or a parametrized ``qasm`` with ``parameters``."""
    # Parse and check against the backend before taking the write lock, which then covers only the short
    # database part (idempotency, quotas, insert); a large program is read in the parse pool.
    prepared = parse_pool(request).run(job_texts(body), check_job, body, quota_of(user),
                                       items=len(body.parameters or ()))
    for attempt in range(2):
        try:
            with database.write() as session:
                outcome = submit_job(session, settings, catalog, user, body, idempotency_key=idempotency_key,
                                     prepared=prepared)
                public = job_public(session, outcome.job, parallelism=backend_parallelism(request, body.backend))
            break
        except IntegrityError:
            # Two submits with one Idempotency-Key raced (PostgreSQL): the loser replays the winner's job.
            if attempt == 1 or idempotency_key is None:
                raise
    if not outcome.created:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        request.app.state.metrics.jobs_submitted.labels(backend=body.backend, kind=body.kind).inc()
    return public


@router.get("", response_model=JobPage, operation_id="list_jobs")
def list_(user: UserDep, database: DatabaseDep, status: JobStatus | None = None, backend: str | None = None,
          tag: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
          offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> JobPage:
    """The caller's jobs, newest first, with filters and paging (results left out: get a job for them)."""
    with database.read() as session:
        rows, total = jobs.list_jobs(session, user.id, status=status.value if status else None, backend=backend,
                                     tag=tag, limit=limit, offset=offset)
        items = [job_public(session, job, with_results=False) for job in rows]
    return JobPage(items=items, total=total, limit=limit, offset=offset)


def _status(database: Database, user: User, job_id: str) -> JobStatus:
    with database.read() as session:
        status = jobs.user_job_status(session, user.id, job_id)
    if status is None:
        raise not_found("job", job_id)
    return JobStatus(status)


async def _off_loop(database: Database, function: Any, *args: Any) -> Any:
    """Run a short read: inline on SQLite (a WAL read takes no lock and well under a millisecond, less than a
    thread-pool hand-off), in the thread pool on PostgreSQL (a network round trip)."""
    if database.is_sqlite:
        return function(*args)
    return await run_in_threadpool(function, *args)


@router.get("/{job_id}", response_model=JobPublic, operation_id="get_job")
async def get(request: Request, job_id: str, user: UserDep, database: DatabaseDep, settings: SettingsDep,
              wait: Annotated[float, Query(ge=0, le=3600, allow_inf_nan=False,
                                           description="Long poll: wait up to this many seconds")] = 0,
              items_offset: Annotated[int, Query(ge=0, le=10**6, description=(
                  "A batch's record from this item on (see results_next)"))] = 0,
              items_limit: Annotated[int, Query(ge=1, le=RECORD_ITEMS, description=(
                  "At most this many items in the record"))] = RECORD_ITEMS,
              ) -> Response:
    """A job with its status, queue position and estimated start while queued, and its result(s) when done.

    ``?wait=S`` holds the request until the job is finished or S seconds (at most the server's limit) passed;
    a watcher wakes the request when the job finishes (see :mod:`xihe.service.watch`).
    """
    if wait > 0:
        async def finished() -> bool:
            status: JobStatus = await _off_loop(database, _status, database, user, job_id)
            return status.is_terminal

        await wait_until_finished(request, job_id, wait, finished)
    # The JSON is sent as is. A record that may hold large results (counts of many outcomes) is read and encoded on
    # the thread pool: its decoding, validation and encoding must not run on the event loop (/health, every other
    # answer waited 3 s behind a 644,000-outcome record when FastAPI encoded it there), even on SQLite. A small
    # one is read on the loop where reads are local (SQLite): the hand-off to a pool thread and back cost more CPU
    # than the read (issue 13, service load).
    items = (items_offset, items_limit)
    body = _load_json(database, user, job_id, request, items, small_only=True) if database.is_sqlite else None
    if body is None:
        body = await run_in_threadpool(_load_json, database, user, job_id, request, items)
    return Response(body, media_type="application/json")


# A record of at most this many shots in all (so at most as many outcomes, or per-shot keys) is small: 4,096
# distinct 12-bit outcomes are decoded, validated and encoded in 1.8 ms of CPU (loaded 2-core machine).
SMALL_RECORD_SHOTS = 4096


def _load_json(database: Database, user: User, job_id: str, parallelism_of: Request,
               items: tuple[int, int] = (0, RECORD_ITEMS), small_only: bool = False) -> str | None:
    """The job's record as JSON (``items``: the offset and limit of its items); with ``small_only``, None instead
    for a job whose record may be large."""
    with database.read() as session:
        job = jobs.get_user_job(session, user.id, job_id, with_payload=False)
        if job is None:
            raise not_found("job", job_id)
        if small_only and job.shots * job.num_circuits > SMALL_RECORD_SHOTS:
            return None
        return job_public(session, job, parallelism=backend_parallelism(parallelism_of, job.backend),
                          items_offset=items[0], items_limit=items[1]).model_dump_json()


@router.get("/{job_id}/items/{index}", response_model=ResultPublic, operation_id="get_job_item")
def item(job_id: str, index: Annotated[int, Path(ge=0, le=10**6)], user: UserDep, database: DatabaseDep
         ) -> Response:
    """One finished item's whole record, as a job's record carries an item within its size budget: counts (the
    first page when there are more outcomes than a page, with ``counts_url``), compiled circuit, layouts,
    metadata, per-shot keys inline when the item holds at most a page of them (else ``memory_url``). A batch's
    record summarizes the items past its budget and links here (``item_url``)."""
    with database.read() as session:
        job = jobs.get_user_job(session, user.id, job_id, with_payload=False)
        if job is None:
            raise not_found("job", job_id)
        if job.status != JobStatus.DONE.value:
            raise Problem(409, "job_not_done", f"job {job_id} is {job.status}: its results come once DONE")
        result = item_public(session, job_id, index) if job.kind != CHARACTERIZE_KIND else None
        if result is None:
            raise Problem(404, "result_not_found", f"job {job_id} has no result for item {index}")
        body = result.model_dump_json()
    return Response(body, media_type="application/json")


@router.get("/{job_id}/items/{index}/memory", response_model=MemoryPagePublic, operation_id="get_job_memory")
def memory(job_id: str, index: Annotated[int, Path(ge=0, le=10**6)], user: UserDep, database: DatabaseDep,
           offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
           limit: Annotated[int, Query(ge=1, le=memory_pages.MAX_SLICE)] = memory_pages.MAX_SLICE
           ) -> Response:
    """A slice of one finished item's per-shot keys (``memory[k]`` is shot ``offset + k``): large per-shot results
    are read in pages of at most 16,384 shots, each from at most two stored rows, never whole (nor is the item's
    counts summary read)."""
    with database.read() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            raise not_found("job", job_id)
        if job.status != JobStatus.DONE.value:
            raise Problem(409, "job_not_done", f"job {job_id} is {job.status}: its per-shot memory comes once DONE")
        total = memory_pages.stored_shots(session, job_id, index)
        if total:
            keys = memory_pages.read_slice(session, job_id, index, offset, min(limit, max(0, total - offset)))
        else:  # none in pages: a result stored before memory had pages of its own, or none asked for
            record = jobs.result_summary(session, job_id, index)
            inline = record.get("memory") if record is not None else None
            if inline is None:
                raise Problem(404, "memory_not_found", f"job {job_id} has no per-shot memory for item {index}")
            total, keys = len(inline), [str(key) for key in inline[offset:offset + limit]]
    # Written directly (the keys are plain strings): no model copy of a page that may be 65,536 keys long.
    body = {"job_id": job_id, "index": index, "offset": offset, "limit": limit, "total": total, "memory": keys}
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.get("/{job_id}/items/{index}/counts", response_model=CountsPagePublic, operation_id="get_job_counts")
def counts(job_id: str, index: Annotated[int, Path(ge=0, le=10**6)], user: UserDep, database: DatabaseDep,
           offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
           limit: Annotated[int, Query(ge=1, le=count_pages.MAX_SLICE)] = count_pages.MAX_SLICE) -> Response:
    """A slice of one finished item's counts, most frequent outcome first (ties by outcome): the pages in order
    are the whole counts. A result of more than 16,384 outcomes is read this way, each answer from at most two
    stored rows; a smaller one is served from its record."""
    with database.read() as session:
        job = jobs.get_user_job(session, user.id, job_id, with_payload=False)
        if job is None:
            raise not_found("job", job_id)
        if job.status != JobStatus.DONE.value:
            raise Problem(409, "job_not_done", f"job {job_id} is {job.status}: its counts come once DONE")
        total = count_pages.stored_outcomes(session, job_id, index)
        record = None if total else jobs.result_summary(session, job_id, index)
        if not total and record is None:
            raise Problem(404, "counts_not_found", f"job {job_id} has no result for item {index}")
        if total:  # paged: read from the pages alone, the record (first page and probabilities) left unread
            if offset % count_pages.PAGE_OUTCOMES == 0 and (limit == count_pages.PAGE_OUTCOMES
                                                            or offset + limit >= total):
                # A whole stored page (what the SDK and the web page read): sent as stored, not decoded.
                text = count_pages.page_text(session, job_id, index, offset // count_pages.PAGE_OUTCOMES)
                if text is not None or offset >= total:
                    head = json.dumps({"job_id": job_id, "index": index, "offset": offset, "limit": limit,
                                       "total": total}, separators=(",", ":"))
                    return Response(f'{head[:-1]},"counts":{text or "{}"}}}', media_type="application/json")
            page = count_pages.read_slice(session, job_id, index, offset, min(limit, max(0, total - offset)))
        else:
            assert record is not None
            ordered = count_pages.ordered(record.get("counts") or {})
            total, page = len(ordered), dict(ordered[offset:offset + limit])
    # Written directly, as the memory pages are: no model copy of a page of 16,384 outcomes.
    body = {"job_id": job_id, "index": index, "offset": offset, "limit": limit, "total": total, "counts": page}
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.post("/{job_id}/cancel", response_model=JobPublic, operation_id="cancel_job")
def cancel(request: Request, job_id: str, user: UserDep, database: DatabaseDep) -> JobPublic:
    """Cancel a queued job at once, or ask a running one to stop; a finished job is left as it is."""
    with database.write() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            raise not_found("job", job_id)
        if not JobStatus(job.status).is_terminal:
            jobs.request_cancel(session, job)
        return job_public(session, job, parallelism=backend_parallelism(request, job.backend))


__all__ = ["Problem", "router"]
