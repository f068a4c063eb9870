"""The work queue: claim with a lease, heartbeat, finish once under the lease, and lease expiry.

Claims follow the scheduling policy of :mod:`xihe.service.scheduling`. On PostgreSQL a claim locks its row with
``FOR UPDATE SKIP LOCKED`` and serialises the rare cross-job checks (an exclusive backend already busy, the host's
memory budget) with a transaction-level advisory lock; on SQLite the claim is one short ``BEGIN IMMEDIATE``
write transaction. Every state change goes through :func:`xihe.service.states.check_transition`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from xihe.service.models import Job, JobAttempt, JobResult, User
from xihe.service.repositories.users import record_usage
from xihe.service.retry import RetryPolicy
from xihe.service.states import JobStatus, check_transition

CLAIM_LOCK_KEY = 0x7869_6865  # "xihe"


@dataclass(frozen=True)
class LeaseState:
    held: bool
    cancel_requested: bool


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim_next_job(session: Session, *, worker_id: str, host: str, backends: Collection[str] | None,
                   exclusive: Collection[str], memory_budget: int, lease_seconds: float, now: datetime,
                   exclude: Collection[str] = ()) -> Job | None:
    """Take the best queued job this worker may run and lease it to ``worker_id``; None if there is none."""
    postgres = _is_postgres(session)
    if postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
    conditions: list[Any] = [Job.status == JobStatus.QUEUED.value]
    if backends is not None:
        conditions.append(Job.backend.in_(list(backends)))
    if exclude:
        conditions.append(Job.id.not_in(list(exclude)))
    if exclusive:
        busy = set(session.scalars(select(Job.backend).where(Job.status == JobStatus.RUNNING.value,
                                                             Job.backend.in_(list(exclusive))).distinct()))
        if busy:
            conditions.append(Job.backend.not_in(sorted(busy)))
    used = session.scalar(select(func.coalesce(func.sum(Job.memory_estimate), 0)).where(
        Job.status == JobStatus.RUNNING.value, Job.lease_host == host)) or 0
    conditions.append(Job.memory_estimate <= memory_budget - int(used))
    query = (select(Job).join(User, User.id == Job.user_id).where(*conditions)
             .order_by(Job.effective_priority.desc(), User.usage_log2.asc(), Job.created_at.asc(), Job.id.asc())
             .limit(1))
    if postgres:
        query = query.with_for_update(of=Job, skip_locked=True)
    job = session.scalars(query).first()
    if job is None:
        return None
    job.status = check_transition(job.status, JobStatus.RUNNING).value
    job.attempts += 1
    job.lease_owner = worker_id
    job.lease_host = host
    job.lease_expires_at = now + timedelta(seconds=lease_seconds)
    if job.started_at is None:
        job.started_at = now
    session.add(JobAttempt(job_id=job.id, number=job.attempts, worker=worker_id, host=host, started_at=now))
    session.flush()
    return job


def renew_lease(session: Session, job_id: str, worker_id: str, *, lease_seconds: float, now: datetime) -> LeaseState:
    """Heartbeat: extend the lease if still held; report whether a cancel was requested."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.lease_owner == worker_id, Job.status == JobStatus.RUNNING.value)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
    )
    held = bool(result.rowcount)  # type: ignore[attr-defined]
    cancel = bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
    return LeaseState(held=held, cancel_requested=cancel)


def _held_job(session: Session, job_id: str, worker_id: str) -> Job | None:
    query = select(Job).where(Job.id == job_id, Job.lease_owner == worker_id, Job.status == JobStatus.RUNNING.value)
    if _is_postgres(session):
        query = query.with_for_update()
    return session.scalars(query).first()


def _close_attempt(session: Session, job: Job, outcome: str, detail: str | None, now: datetime) -> None:
    session.execute(update(JobAttempt).where(JobAttempt.job_id == job.id, JobAttempt.number == job.attempts)
                    .values(ended_at=now, outcome=outcome, detail=detail))


def _release(job: Job) -> None:
    job.lease_owner = None
    job.lease_expires_at = None


def complete_job(session: Session, job_id: str, worker_id: str, results: list[dict[str, Any]], *,
                 exec_seconds: float, now: datetime) -> bool:
    """Store the results and mark DONE, only if ``worker_id`` still holds the lease; False otherwise.

    The results' unique key (job, index) makes a second write fail even if two holders ever raced.
    """
    job = _held_job(session, job_id, worker_id)
    if job is None:
        return False
    for index, data in enumerate(results):
        session.add(JobResult(job_id=job.id, index=index, data=data, created_at=now))
    job.status = check_transition(job.status, JobStatus.DONE).value
    job.finished_at = now
    job.exec_seconds = exec_seconds
    _release(job)
    _close_attempt(session, job, "DONE", None, now)
    record_usage(session, job.user_id, exec_seconds, now)
    session.flush()
    return True


def fail_job(session: Session, job_id: str, worker_id: str, *, stage: str, detail: str, retry: bool,
             exec_seconds: float, now: datetime) -> bool:
    """End an attempt in error: back to QUEUED if ``retry``, else FAILED with stage and detail."""
    job = _held_job(session, job_id, worker_id)
    if job is None:
        return False
    _close_attempt(session, job, "RETRY" if retry else "FAILED", f"{stage}: {detail}", now)
    if retry:
        job.status = check_transition(job.status, JobStatus.QUEUED).value
    else:
        job.status = check_transition(job.status, JobStatus.FAILED).value
        job.finished_at = now
        job.error_stage = stage
        job.error_detail = detail
        job.exec_seconds = exec_seconds
    _release(job)
    record_usage(session, job.user_id, exec_seconds, now)
    session.flush()
    return True


def cancel_running_job(session: Session, job_id: str, worker_id: str, *, exec_seconds: float, now: datetime) -> bool:
    """The lease holder stops a job whose cancel was requested."""
    job = _held_job(session, job_id, worker_id)
    if job is None:
        return False
    job.status = check_transition(job.status, JobStatus.CANCELLED).value
    job.finished_at = now
    _release(job)
    _close_attempt(session, job, "CANCELLED", None, now)
    record_usage(session, job.user_id, exec_seconds, now)
    session.flush()
    return True


def requeue_expired(session: Session, *, now: datetime, policy: RetryPolicy) -> list[str]:
    """Jobs whose lease ran out go back to the queue (or FAILED after the last attempt, or CANCELLED if asked)."""
    query = select(Job).where(Job.status == JobStatus.RUNNING.value, Job.lease_expires_at < now)
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    touched = []
    for job in session.scalars(query).all():
        _close_attempt(session, job, "LOST", "lease expired", now)
        if job.cancel_requested:
            job.status = check_transition(job.status, JobStatus.CANCELLED).value
            job.finished_at = now
        else:
            decision = policy.after_lease_lost(job.attempts)
            if decision.retry:
                job.status = check_transition(job.status, JobStatus.QUEUED).value
            else:
                job.status = check_transition(job.status, JobStatus.FAILED).value
                job.finished_at = now
                job.error_stage = "execute"
                job.error_detail = decision.reason
        _release(job)
        touched.append(job.id)
    session.flush()
    return touched


def next_lease_expiry(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Job.lease_expires_at)).where(Job.status == JobStatus.RUNNING.value))
