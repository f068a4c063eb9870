"""What the estimator and sampler routes share: storing a checked primitive job, and finding a finished one.

Both kinds are ordinary jobs whose answer is computed from their stored item records; the routes differ only in
how a request is checked (``prepare_*``) and in how the records become an answer (values, or streamed shots).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from sqlalchemy.orm import Session

from xihe.service.db import Database
from xihe.service.models import Job, User
from xihe.service.problems import Problem, not_found
from xihe.service.repositories import jobs
from xihe.service.schemas import JobPublic
from xihe.service.states import JobStatus
from xihe.service.views import job_public
from xihe.status import JobKind


def store_checked(request: Request, database: Database, kind: JobKind, backend: str,
                  store: Callable[[Session], Job]) -> JobPublic:
    """Store a checked request with ``store`` in one short write transaction and count it; the job's record."""
    with database.write() as session:
        public = job_public(session, store(session))
    request.app.state.metrics.jobs_submitted.labels(backend=backend, kind=kind.value).inc()
    return public


def finished_job(session: Session, user: User, job_id: str, kind: JobKind, items: str
                 ) -> tuple[Job, JobStatus, jobs.StoredRecords | None]:
    """The user's job of ``kind``, its status and, once DONE, its records read on demand (a 404 for another
    user's or another kind's job, a 409 when a DONE job lacks some of its ``items``)."""
    job = jobs.get_user_job(session, user.id, job_id)
    if job is None or job.kind != kind:
        raise not_found("job", job_id)
    status = JobStatus(job.status)
    if status != JobStatus.DONE:
        return job, status, None
    records = jobs.StoredRecords(session, job.id)
    if len(records) != job.num_circuits:
        raise Problem(409, f"{kind.value}_incomplete", f"job {job_id} stored {len(records)} of its "
                      f"{job.num_circuits} {items}", stage="execute")
    return job, status, records
