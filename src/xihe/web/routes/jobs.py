"""Job pages: the list with filters and live status, one job's page (queue, histogram, counts, compiled circuit,
layout on the chip, calibration snapshot), its JSON download, and cancel.

A batch's page reads its record as the API's ``GET /jobs/{id}`` does (issue 18): items whole up to the record's size
budget (the first always), later ones as summaries linking to the page of that item alone (``?item=``), which
reads that one item; a result's CSV reads its one item. The JSON download carries every item's whole counts,
streamed an item and a count page at a time, each read in a short read transaction of its own.

A user sees only their own jobs: another user's job id answers the same 404 page as a missing one. Live status is
polled JSON (``/jobs/status.json``, ``/jobs/{id}/status.json``), built by the service's own ``job_public``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from xihe.service.api.deps import backend_parallelism
from xihe.service.clock import utcnow
from xihe.service.models import Job
from xihe.service.repositories import calibrations, count_pages, jobs
from xihe.service.repositories.performance import CHARACTERIZE_KIND
from xihe.service.schemas import JobPublic, ResultPublic
from xihe.service.states import JobStatus
from xihe.service.views import RECORD_BYTES, item_public, job_public
from xihe.status import DeviceKind
from xihe.web import calibration as calibration_table
from xihe.web.deps import JsonUser, PageError, PageUser, WebUser, catalog, check_csrf, database, render
from xihe.web.results import (
    MAX_RESULTS_SHOWN,
    TOP_CHOICES,
    ResultOptions,
    WholeCounts,
    counts_csv,
    counts_csv_lines,
    is_paged,
    result_view,
    result_views,
    source_programs,
)
from xihe.web.timeline import status_timeline
from xihe.web.topology import topology_svg

router = APIRouter(include_in_schema=False)

STALE_CALIBRATION_DAYS = 7  # older than this when the job ran: the page says so


def _queue_fields(job: JobPublic) -> dict[str, Any]:
    """The queue estimate's sentence and counts, as the API's ``eta`` carries them (one estimate everywhere)."""
    if job.eta is None:
        return {"running": None, "queue_text": None}
    return {"running": job.eta.running, "queue_text": job.eta.text}


def _status_fields(job: JobPublic, queue: dict[str, Any]) -> dict[str, Any]:
    return {"id": job.id, "status": job.status.value, "terminal": job.status.is_terminal,
            "queue_position": job.queue_position, **queue,
            "estimated_start": job.estimated_start.isoformat() if job.estimated_start else None,
            "started_at": job.started_at.isoformat() if job.started_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "error": job.error.model_dump() if job.error else None}


def _own_job(request: Request, user: WebUser, job_id: str, with_results: bool = True
             ) -> tuple[Job, JobPublic, dict[str, Any]]:
    """The job and its record within the API's size budget (items past it as summaries), its first
    :data:`MAX_RESULTS_SHOWN` items only (what the page shows), or without results."""
    with database(request).read() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            raise PageError(404, "No such job", f"There is no job {job_id!r} in your account.")
        public = job_public(session, job, with_results=with_results,
                            parallelism=backend_parallelism(request, job.backend), budget=RECORD_BYTES,
                            items_limit=MAX_RESULTS_SHOWN)
        return job, public, _queue_fields(public)


def _own_item(request: Request, job: Job, index: int) -> ResultPublic:
    """One finished item's whole record (as the API's item route serves it), or the 404 page."""
    with database(request).read() as session:
        result = item_public(session, job.id, index) if job.status == JobStatus.DONE.value else None
    if result is None:
        raise PageError(404, "No such result", f"Job {job.id} has no result {index}.")
    return result


@router.get("/jobs/{job_id}/status.json")
def job_status(request: Request, job_id: str, user: JsonUser) -> Response:
    with database(request).read() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            return JSONResponse({"detail": f"no job {job_id!r}"}, status_code=404)
        public = job_public(session, job, with_results=False, parallelism=backend_parallelism(request, job.backend))
        fields = _status_fields(public, _queue_fields(public))
    return JSONResponse(fields, headers={"Cache-Control": "no-store"})


@router.get("/jobs/{job_id}/download")
def job_download(request: Request, job_id: str, user: PageUser) -> Response:
    """The job's record with every item whole, its counts complete (all their pages): streamed an item and a
    count page at a time, so the API holds one item's record and one page whatever the job's size."""
    job, public, _ = _own_job(request, user, job_id, with_results=False)
    items = job.status == JobStatus.DONE.value and job.kind != CHARACTERIZE_KIND
    return StreamingResponse(_job_json(request, public, items), media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="xihe-job-{public.id}.json"'})


def _job_json(request: Request, public: JobPublic, items: bool) -> Iterator[str]:
    """:func:`job_download`'s JSON in pieces: the record without results, then each item (``result`` for a single
    job, ``results`` for a batch or sweep) read in a read transaction of its own."""
    head = json.dumps(public.model_dump(mode="json", exclude={"result", "results"}))
    if not items:
        yield head[:-1] + ', "result": null, "results": null}'
        return
    single = public.kind == "single"
    yield head[:-1] + (', "results": null, "result": ' if single else ', "result": null, "results": [')
    written = 0
    for index in itertools.count():
        with database(request).read() as session:
            result = item_public(session, public.id, index)
        if result is None:
            break
        yield ("," if written else "") + "\n"
        yield from _item_json(request, public.id, index, result)
        written += 1
        if single:
            break
    yield ("null" if single and not written else "") + ("}" if single else "\n]}")


def _item_json(request: Request, job_id: str, index: int, result: ResultPublic) -> Iterator[str]:
    """One item's record as JSON with its whole counts and probabilities: a paged item's count pages are read one
    at a time (counts as stored, probabilities from them), never all at once."""
    if not is_paged(result):
        yield result.model_dump_json()
        return
    yield result.model_dump_json(exclude={"counts", "probabilities"})[:-1]
    shots = result.shots or 1
    pages = range(-(-int(result.counts_outcomes or 0) // count_pages.PAGE_OUTCOMES))
    for name in ("counts", "probabilities"):
        yield f', "{name}": {{'
        for page in pages:
            with database(request).read() as session:
                text = count_pages.page_text(session, job_id, index, page) or "{}"
            if name == "probabilities":
                text = json.dumps({key: count / shots for key, count in json.loads(text).items()})
            inner = text.strip()[1:-1].strip()
            if inner:
                yield ("," if page else "") + inner
        yield "}"
    yield "}"


@router.post("/jobs/{job_id}/cancel")
def job_cancel(request: Request, job_id: str, user: PageUser, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    with database(request).write() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None:
            raise PageError(404, "No such job", f"There is no job {job_id!r} in your account.")
        if not JobStatus(job.status).is_terminal:
            jobs.request_cancel(session, job)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


def _whole_counts(request: Request, job_id: str) -> WholeCounts:
    """A paged result's every (outcome, count), most frequent first, one count page per short read transaction:
    what a marginal or a download over all of its shots reads, holding one page whatever its size."""
    def pairs(index: int, result: ResultPublic) -> Iterator[tuple[str, int]]:
        outcomes = int(result.counts_outcomes or 0)
        for offset in range(0, outcomes, count_pages.PAGE_OUTCOMES):
            with database(request).read() as session:
                page = count_pages.read_slice(session, job_id, index, offset, count_pages.PAGE_OUTCOMES)
            yield from page.items()
    return pairs


def _layout(result: ResultPublic | None) -> list[int] | None:
    layout = result.initial_layout if result is not None else None
    if isinstance(layout, list) and all(isinstance(q, int) for q in layout):
        return list(layout)
    return None


def _calibration(request: Request, backend: str, calibration_id: str | None) -> dict[str, Any] | None:
    """The snapshot a job ran under: from the recorded history, else from the device's own history."""
    if not calibration_id:
        return None
    with database(request).read() as session:
        for row in calibrations.list_snapshots(session, backend, limit=500):
            if row.snapshot_id == calibration_id:
                return {"id": row.snapshot_id, "version": row.version, "time": row.time, "data": row.data}
    devices = catalog(request)
    if backend in devices.names():
        for snapshot in devices.get(backend).history:
            if snapshot.id == calibration_id:
                return {"id": snapshot.id, "version": snapshot.version, "time": snapshot.time, "data": snapshot.data}
    return {"id": calibration_id, "version": None, "time": None, "data": {}}


def _with_ideal(request: Request, backend: str) -> bool:
    """Twins (and chips) get the ideal overlay: their counts carry noise; an ideal simulator's do not."""
    devices = catalog(request)
    return backend in devices.names() and devices.get(backend).kind != DeviceKind.SIMULATOR


@router.get("/jobs/{job_id}/results/{index}.csv")
def result_csv(request: Request, job_id: str, index: int, user: PageUser, bits: str = "",
               ideal: str = "") -> Response:
    """One result's counts (or their marginal over ``bits``) as CSV, by count, with the ideal column on twins. A
    result of counts in pages is sent whole, streamed a page at a time."""
    job, public, _ = _own_job(request, user, job_id, with_results=False)
    result = _own_item(request, job, index)
    options = ResultOptions.parse(bits=bits, ideal=ideal)
    whole = _whole_counts(request, job_id)
    view = result_view(index, result, options, source_programs(job.payload or {}),
                       _with_ideal(request, public.backend), whole)
    suffix = "-bits-" + "-".join(map(str, options.bits)) if bits else ""
    headers = {"Content-Disposition": f'attachment; filename="xihe-{job_id}-{index}{suffix}.csv"'}
    if is_paged(result) and not [b for b in options.bits if b < view.num_bits]:
        shots = result.shots or 1
        rows = ((key, count, count / shots) for key, count in whole(index, result))
        return StreamingResponse(counts_csv_lines(rows, view.ideal), media_type="text/csv; charset=utf-8",
                                 headers=headers)
    return Response(counts_csv(view.counts, view.ideal), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, user: PageUser, top: str = "", scale: str = "", bits: str = "",
             ideal: str = "", item: str = "") -> Response:
    """The job's page; ``?item=i`` shows result ``i`` alone, read whole (the link of an item the record summarizes)."""
    alone = int(item) if item.isdigit() else None
    job, public, queue = _own_job(request, user, job_id, with_results=alone is None)
    options = ResultOptions.parse(top=top, scale=scale, bits=bits, ideal=ideal)
    with database(request).read() as session:
        attempts = [(a.started_at, a.ended_at, a.outcome, a.worker) for a in jobs.attempts_for(session, job.id)]
    timeline = status_timeline(public.created_at, attempts, public.status.value,
                               public.finished_at if public.status.is_terminal else None, now=utcnow())
    with_ideal = _with_ideal(request, public.backend)
    sources = source_programs(job.payload or {})
    if alone is None:
        views = result_views(public, options, sources, with_ideal, _whole_counts(request, job.id))
    else:
        views = [result_view(alone, _own_item(request, job, alone), options, sources, with_ideal,
                             _whole_counts(request, job.id))]
    first = views[0].result if views else None
    layout = _layout(first)
    devices = catalog(request)
    device = devices.get(public.backend) if public.backend in devices.names() else None
    chip = device is not None and not device.target.unconstrained
    snapshot = _calibration(request, public.backend, first.calibration_id if first else None)
    data = (snapshot or {}).get("data") or {}
    used_qubits = calibration_table.qubit_rows(data, device.target if device else None, only=layout,
                                                 defaults=device.defaults if device else None) \
        if layout and calibration_table.is_chip_info(data) else []
    used_couplers = calibration_table.coupler_rows(data, only=layout) \
        if layout and calibration_table.is_chip_info(data) else []
    payload = job.payload or {}
    ran_at = public.started_at or public.created_at
    taken = (snapshot or {}).get("time")
    snapshot_age_days = (ran_at - taken).days if isinstance(taken, datetime) and ran_at is not None else None
    if device is not None and device.kind == DeviceKind.SIMULATOR:
        snapshot_age_days = None  # an ideal simulator has no chip whose noise could be out of date
    context = {
        "snapshot_age_days": snapshot_age_days if snapshot_age_days is not None
        and snapshot_age_days > STALE_CALIBRATION_DAYS else None,
        "nav": "jobs", "job": public, "timeline": timeline, "options": options, "top_choices": TOP_CHOICES,
        "with_ideal": with_ideal,
        "views": views, "queue_text": queue["queue_text"],
        "hidden_results": max(0, public.num_circuits - MAX_RESULTS_SHOWN) if public.results else 0,
        "alone": alone,
        "layout": layout, "final_layout": first.final_layout if first else None,
        "topology": topology_svg(device, layout=layout) if chip and layout else None, "chip": chip,
        "snapshot": snapshot, "used_qubits": used_qubits, "used_couplers": used_couplers,
        "source_qasm": (payload.get("circuits") or [None])[0],
        "run_options": {"compile": payload.get("compile"), "optimization_level": payload.get("optimization_level"),
                    "seed": payload.get("seed")},
    }
    return render(request, "job.html", context, user=user)
