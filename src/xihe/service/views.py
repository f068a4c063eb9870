"""Build wire objects (JobPublic...) from storage rows; shared by the API routes, the web pages and tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xihe.service.clock import utcnow
from xihe.service.models import Job
from xihe.service.repositories import jobs
from xihe.service.repositories.performance import CHARACTERIZE_KIND
from xihe.service.scheduling import estimated_start
from xihe.service.schemas import JobError, JobPublic, ResultPublic
from xihe.service.states import JobStatus

DEFAULT_JOB_SECONDS = 0.05


def job_public(session: Session, job: Job, *, with_results: bool = True, parallelism: int = 1,
               now: datetime | None = None) -> JobPublic:
    status = JobStatus(job.status)
    position = start = None
    if status == JobStatus.QUEUED:
        position = jobs.queue_position(session, job)
        mean = jobs.mean_exec_seconds(session, job.backend) or DEFAULT_JOB_SECONDS
        start = estimated_start(position, mean, parallelism, now or utcnow(),
                                running=jobs.running_count(session, job.backend))
    result = results = None
    # A characterization job's result is a suite document, served by /backends/{name}/performance.
    if with_results and status == JobStatus.DONE and job.kind != CHARACTERIZE_KIND:
        stored = [ResultPublic.model_validate(data) for data in jobs.results_for(session, job.id)]
        if job.kind == "single" and stored:
            result = stored[0]
        else:
            results = stored
    error = JobError(stage=job.error_stage, detail=job.error_detail) if job.error_stage or job.error_detail else None
    return JobPublic(
        id=job.id, status=status, backend=job.backend, shots=job.shots, name=job.name, tags=list(job.tags or []),
        priority=job.priority, kind=job.kind, num_circuits=job.num_circuits, created_at=job.created_at,
        started_at=job.started_at, finished_at=job.finished_at, queue_position=position, estimated_start=start,
        attempts=job.attempts, error=error, result=result, results=results,
    )
