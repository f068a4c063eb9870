"""Build wire objects (JobPublic...) from storage rows; shared by the API routes, the web pages and tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xihe.service.clock import utcnow
from xihe.service.models import Job
from xihe.service.repositories import jobs, memory_pages
from xihe.service.repositories.performance import CHARACTERIZE_KIND
from xihe.service.scheduling import decayed_usage, queue_estimate
from xihe.service.schemas import JobError, JobPublic, QueueEta, ResultPublic
from xihe.service.states import JobStatus

DEFAULT_JOB_SECONDS = 0.05
# Where an item's per-shot keys are served in pages (the route in xihe.service.api.routes.jobs).
MEMORY_PATH = "/api/v1/jobs/{job_id}/items/{index}/memory"
# Where an item's counts of many outcomes are served in pages.
COUNTS_PATH = "/api/v1/jobs/{job_id}/items/{index}/counts"


def stored_results(session: Session, job: Job) -> list[ResultPublic]:
    """A finished job's results for the wire: per-shot keys inline only when the job holds few in all
    (:data:`~xihe.service.repositories.memory_pages.INLINE_SHOTS`), otherwise a link to their pages, and counts of
    more than a page of outcomes as their first page (the most frequent) with a link to the rest, so a job record
    stays small however many shots and outcomes it kept."""
    records = jobs.results_for(session, job.id, all_counts=False)
    held = sum(int(record.get("memory_shots") or 0) for record in records)
    inline = memory_pages.read_job(session, job.id) if 0 < held <= memory_pages.INLINE_SHOTS else {}
    out = []
    for index, record in enumerate(records):
        if record.get("memory_shots") is not None:
            record = {**record, "memory_url": MEMORY_PATH.format(job_id=job.id, index=index)}
            if record.get("memory") is None and (index in inline or record["memory_shots"] == 0):
                record["memory"] = inline.get(index, [])
        if record.get("counts_outcomes") is not None:
            record = {**record, "counts_url": COUNTS_PATH.format(job_id=job.id, index=index)}
        out.append(ResultPublic.model_validate(record))
    return out


def job_public(session: Session, job: Job, *, with_results: bool = True, parallelism: int = 1,
               now: datetime | None = None) -> JobPublic:
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
    result = results = None
    # A characterization job's result is a suite document, served by /backends/{name}/performance.
    if with_results and status == JobStatus.DONE and job.kind != CHARACTERIZE_KIND:
        stored = stored_results(session, job)
        if job.kind == "single" and stored:
            result = stored[0]
        else:
            results = stored
    error = JobError(stage=job.error_stage, detail=job.error_detail) if job.error_stage or job.error_detail else None
    return JobPublic(
        id=job.id, status=status, backend=job.backend, shots=job.shots, name=job.name, tags=list(job.tags or []),
        priority=job.priority, effective_priority=job.effective_priority, kind=job.kind,
        num_circuits=job.num_circuits, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at, queue_position=position, estimated_start=start, eta=eta,
        attempts=job.attempts, error=error, result=result, results=results,
    )
