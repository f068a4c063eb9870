"""Build wire objects (JobPublic...) from storage rows; shared by the API routes, the web pages and tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xihe.service.clock import utcnow
from xihe.service.models import Job
from xihe.service.repositories import count_pages, jobs, memory_pages
from xihe.service.repositories.performance import CHARACTERIZE_KIND
from xihe.service.scheduling import decayed_usage, queue_estimate
from xihe.service.schemas import JobError, JobPublic, QueueEta, ResultPublic
from xihe.service.states import JobStatus

DEFAULT_JOB_SECONDS = 0.05
# Where an item's per-shot keys are served in pages (the route in xihe.service.api.routes.jobs).
MEMORY_PATH = "/api/v1/jobs/{job_id}/items/{index}/memory"
# Where an item's counts of many outcomes are served in pages.
COUNTS_PATH = "/api/v1/jobs/{job_id}/items/{index}/counts"


# A job's record carries its items whole while their estimated JSON stays within this many bytes in all (the first
# item always whole); each later item comes as a summary with a link to its whole record (:data:`ITEM_PATH`). A batch
# of 12 items with 16,384 outcomes each was about 10 MB in one answer; now it is the budget plus a few hundred bytes a
# summary (the submit caps a batch's items).
RECORD_BYTES = 2 * 2**20
# Where one item's whole record (first page of counts, compiled circuit) is served.
ITEM_PATH = "/api/v1/jobs/{job_id}/items/{index}"
# Bytes a result record costs beyond its counts, probabilities and compiled circuit (fields, layouts, metadata).
_RECORD_OVERHEAD = 512
# A job's record carries at most this many items (a 10,000-item batch was ~4.5 MB of summaries in one answer);
# ``results_next`` links to the next page of items (``?items_offset=``), each page under its own size budget.
RECORD_ITEMS = 1000
# Where a job's record continues: its items from ``items_offset``.
RECORD_PAGE_PATH = "/api/v1/jobs/{job_id}?items_offset={offset}&items_limit={limit}"


def record_bytes(record: dict[str, Any]) -> int:
    """About how many bytes of JSON the record's item costs in a job's answer: each outcome appears twice (its count
    and its probability, ~30 bytes of digits and quotes), plus the compiled circuit's text; counted without
    encoding anything (the widest key stands for all)."""
    counts = record.get("counts") or {}
    width = max((len(str(key)) for key in itertools.islice(counts, 8)), default=0)
    return len(counts) * (2 * width + 30) + len(record.get("compiled_qasm") or "") + _RECORD_OVERHEAD


def item_summary(job_id: str, index: int, record: dict[str, Any]) -> dict[str, Any]:
    """An item past the record's budget: its shots and sizes with the links that serve the rest (the whole
    record, the counts pages, the memory pages), counts left empty with ``counts_outcomes`` set, so a client that
    pages counts reads them whole from ``counts_url`` and one that knows ``item_url`` reads the item there."""
    summary: dict[str, Any] = {
        "counts": {}, "probabilities": {}, "shots": record.get("shots", 0),
        "counts_outcomes": count_pages.outcomes(record),
        "counts_url": COUNTS_PATH.format(job_id=job_id, index=index),
        "item_url": ITEM_PATH.format(job_id=job_id, index=index),
        "bit_order": record.get("bit_order", "c0_leftmost")}
    if record.get("memory_shots") is not None:
        summary["memory_shots"] = record["memory_shots"]
        summary["memory_url"] = MEMORY_PATH.format(job_id=job_id, index=index)
    return summary


def item_record(job_id: str, index: int, record: dict[str, Any], inline: dict[int, list[str]]) -> dict[str, Any]:
    """An item's record for the wire: per-shot keys from ``inline`` when given there, otherwise a link to their
    pages; counts of more than a page of outcomes as their first page with a link to the rest."""
    if record.get("memory_shots") is not None:
        record = {**record, "memory_url": MEMORY_PATH.format(job_id=job_id, index=index)}
        if record.get("memory") is None and (index in inline or record["memory_shots"] == 0):
            record["memory"] = inline.get(index, [])
    if record.get("counts_outcomes") is not None:
        record = {**record, "counts_url": COUNTS_PATH.format(job_id=job_id, index=index)}
    return record


def rows_per_read(shots: int) -> int:
    """How many result rows to read (and decode) at once for a job of ``shots`` shots an item: a query's rows are
    decoded together, so at most about :data:`OUTCOMES_PER_READ` outcomes' worth (16 rows of up to 1,024
    outcomes; one row a query for items of a page of outcomes, ~3.5 MB of Python objects with their
    probabilities: 12 such rows read together took 42 MiB to answer 1.2 MB)."""
    return max(1, min(jobs.ROWS_PER_READ, OUTCOMES_PER_READ // max(1, min(shots, count_pages.PAGE_OUTCOMES))))


OUTCOMES_PER_READ = 16384


def stored_results(session: Session, job: Job, *, budget: int | None = RECORD_BYTES, offset: int = 0,
                   limit: int | None = None) -> list[ResultPublic]:
    """A finished job's results for the wire: per-shot keys inline only when the job holds few in all
    (:data:`~xihe.service.repositories.memory_pages.INLINE_SHOTS`), otherwise a link to their pages, counts of
    more than a page of outcomes as their first page (the most frequent) with a link to the rest, and, past
    ``budget`` bytes of items (None: no budget, for the web pages, which show a few items), each further item as
    a summary (:func:`item_summary`): a job record stays bounded however many shots, outcomes and items it kept.
    The rows are read a few at a time and a summarized item's counts dropped as it is read. ``offset`` and
    ``limit``: the items from ``offset``, at most ``limit`` of them (the first of them whole)."""
    records: list[dict[str, Any]] = []
    spent = held = 0
    rows = jobs.stored_rows(session, job.id, min(rows_per_read(job.shots), limit or jobs.ROWS_PER_READ), offset)
    for index, record in enumerate(itertools.islice(rows, limit), start=offset):
        held += int(record.get("memory_shots") or 0)
        if budget is not None and index > offset:
            size = record_bytes(record)
            if spent + size > budget:
                record = item_summary(job.id, index, record)
                size = _RECORD_OVERHEAD
            spent += size
        else:
            spent += record_bytes(record)
        records.append(record)
    inline = memory_pages.read_job(session, job.id) if 0 < held <= memory_pages.INLINE_SHOTS else {}
    return [ResultPublic.model_validate(record if record.get("item_url") else
                                        item_record(job.id, index, record, inline))
            for index, record in enumerate(records, start=offset)]


def item_public(session: Session, job_id: str, index: int) -> ResultPublic | None:
    """One item's whole record for the wire, as a job's record carries an item within its size budget (first page
    of counts with ``counts_url``, per-shot keys inline when the item holds at most a page of them, else
    ``memory_url``), or None when the job has no such item: the API's item route and the web pages read it."""
    record = jobs.result_summary(session, job_id, index)
    if record is None:
        return None
    shots = int(record.get("memory_shots") or 0)
    inline = {index: memory_pages.read_item(session, job_id, index)} \
        if 0 < shots <= memory_pages.INLINE_SHOTS and record.get("memory") is None else {}
    return ResultPublic.model_validate(item_record(job_id, index, record, inline))


def job_public(session: Session, job: Job, *, with_results: bool = True, parallelism: int = 1,
               now: datetime | None = None, budget: int | None = RECORD_BYTES, items_offset: int = 0,
               items_limit: int | None = RECORD_ITEMS) -> JobPublic:
    """The job's wire record: with its results when DONE, items ``items_offset`` onwards, at most ``items_limit``
    of them (None: all), and ``results_next`` linking to the next page of items when there are more."""
    status = JobStatus(job.status)
    position = start = eta = None
    if status == JobStatus.QUEUED:
        at = now or utcnow()
        stats = jobs.exec_stats(session, job.backend)
        queue = jobs.queue_snapshot(session, job)
        usage = queue.owner_usage_log2
        estimate = queue_estimate(queue.jobs_ahead, queue.running, parallelism, at,
                                  seconds_per_circuit=stats.per_circuit or DEFAULT_JOB_SECONDS,
                                  spread_seconds=stats.per_circuit_spread, circuits_ahead=queue.circuits_ahead,
                                  running_circuits=queue.running_circuits, own_circuits=job.num_circuits,
                                  usage_seconds=decayed_usage(usage, at) if usage is not None else None)
        position, start = queue.jobs_ahead, estimate.start
        eta = QueueEta(start=estimate.start, start_earliest=estimate.start_earliest,
                       start_latest=estimate.start_latest, finish=estimate.finish,
                       finish_latest=estimate.finish_latest, jobs_ahead=estimate.ahead, running=estimate.running,
                       text=estimate.text(at))
    result = results = following = None
    # A characterization job's result is a suite document, served by /backends/{name}/performance.
    if with_results and status == JobStatus.DONE and job.kind != CHARACTERIZE_KIND:
        stored = stored_results(session, job, budget=budget, offset=items_offset, limit=items_limit)
        if job.kind == "single" and stored:
            result = stored[0]
        else:
            results = stored
            end = items_offset + len(stored)
            if items_limit is not None and len(stored) == items_limit and end < job.num_circuits:
                following = RECORD_PAGE_PATH.format(job_id=job.id, offset=end, limit=items_limit)
    error = JobError(stage=job.error_stage, detail=job.error_detail) if job.error_stage or job.error_detail else None
    return JobPublic(
        id=job.id, status=status, backend=job.backend, shots=job.shots, name=job.name, tags=list(job.tags or []),
        priority=job.priority, effective_priority=job.effective_priority, kind=job.kind,
        num_circuits=job.num_circuits, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at, queue_position=position, estimated_start=start, eta=eta,
        attempts=job.attempts, error=error, result=result, results=results,
        results_offset=items_offset if results is not None else None, results_next=following,
    )
