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
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session, aliased

from xihe.service.db import WAKEUP_KEY
from xihe.service.models import BackendState, Job, JobAttempt, JobResult, User
from xihe.service.repositories.users import record_usage
from xihe.service.retry import RetryPolicy
from xihe.service.states import JobStatus, check_transition
from xihe.service.wakeup import DONE_CHANNEL, JOBS_CHANNEL

CLAIM_LOCK_KEY = 0x7869_6865  # "xihe"


@dataclass(frozen=True)
class LeaseState:
    held: bool
    cancel_requested: bool


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def notify(session: Session, channel: str) -> None:
    """Wake the listeners of ``channel`` when this transaction commits: PostgreSQL ``NOTIFY``; on SQLite the
    :class:`~xihe.service.db.Database` sends the wake-ups after the commit (see :mod:`xihe.service.wakeup`)."""
    if _is_postgres(session):
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
    else:
        session.info.setdefault(WAKEUP_KEY, set()).add(channel)


@lru_cache(maxsize=64)
def _claim_statement(backends: tuple[str, ...] | None, exclusive: tuple[str, ...], postgres: bool) -> Any:
    """The claim UPDATE for one worker configuration, built once (statement construction is costly)."""
    running = aliased(Job)
    conditions: list[Any] = [
        Job.status == JobStatus.QUEUED.value,
        # A backend an operator put in maintenance (or offline) keeps its queue but starts nothing.
        Job.backend.not_in(select(BackendState.backend).where(BackendState.status != "online")),
    ]
    if backends is not None:
        conditions.append(Job.backend.in_(backends))
    if exclusive:
        conditions.append(~(Job.backend.in_(exclusive) & Job.backend.in_(
            select(running.backend).where(running.status == JobStatus.RUNNING.value))))
    used = (select(func.coalesce(func.sum(running.memory_estimate), 0))
            .where(running.status == JobStatus.RUNNING.value, running.lease_host == bindparam("p_host"))
            .scalar_subquery())
    conditions.append(Job.memory_estimate <= bindparam("p_budget") - used)
    candidate = (select(Job.id).join(User, User.id == Job.user_id).where(*conditions)
                 .order_by(Job.effective_priority.desc(), User.usage_log2.asc(), Job.created_at.asc(), Job.id.asc())
                 .limit(1))
    if postgres:
        candidate = candidate.with_for_update(of=Job, skip_locked=True)
    target = check_transition(JobStatus.QUEUED, JobStatus.RUNNING).value
    return (
        update(Job).where(Job.id == candidate.scalar_subquery(), Job.status == JobStatus.QUEUED.value)
        .values(status=target, attempts=Job.attempts + 1, lease_owner=bindparam("p_worker_id"),
                lease_host=bindparam("p_host"),
                lease_expires_at=bindparam("p_expires", type_=Job.lease_expires_at.type),
                started_at=func.coalesce(Job.started_at, bindparam("p_now", type_=Job.started_at.type)))
        .returning(*Job.__table__.c)
    )


@lru_cache(maxsize=64)
def _any_queued_statement(backends: tuple[str, ...] | None) -> Any:
    query = select(Job.id).where(Job.status == JobStatus.QUEUED.value)
    if backends is not None:
        query = query.where(Job.backend.in_(backends))
    return query.limit(1)


def any_queued(session: Session, backends: Collection[str] | None = None) -> bool:
    """A lock-free read before a claim: an idle worker woken by an unrelated commit takes no write lock."""
    statement = _any_queued_statement(tuple(sorted(backends)) if backends is not None else None)
    return session.connection().execute(statement).first() is not None


def claim_next_job(session: Session, *, worker_id: str, host: str, backends: Collection[str] | None,
                   exclusive: Collection[str], memory_budget: int, lease_seconds: float, now: datetime) -> Job | None:
    """Take the best queued job this worker may run and lease it to ``worker_id``; None if there is none.

    One guarded ``UPDATE ... WHERE id = (best candidate) AND status = 'QUEUED' RETURNING``: the candidate query
    applies the scheduling order, skips exclusive backends that already run a job, and keeps the host's running
    jobs within ``memory_budget``.
    """
    postgres = _is_postgres(session)
    if postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY})
    statement = _claim_statement(tuple(sorted(backends)) if backends is not None else None,
                                 tuple(sorted(exclusive)), postgres)
    row = session.connection().execute(statement, {
        "p_worker_id": worker_id, "p_host": host, "p_budget": memory_budget, "p_now": now,
        "p_expires": now + timedelta(seconds=lease_seconds)}).mappings().first()
    if row is None:
        return None
    job = Job(**dict(row))
    session.connection().execute(_INSERT_ATTEMPT, {"job_id": job.id, "number": job.attempts, "worker": worker_id,
                                                   "host": host, "started_at": now})
    return job


_INSERT_ATTEMPT = insert(JobAttempt)


_RENEW = (
    update(Job)
    .where(Job.id == bindparam("p_job_id"), Job.lease_owner == bindparam("p_worker_id"),
           Job.status == JobStatus.RUNNING.value)
    .values(lease_expires_at=bindparam("p_expires", type_=Job.lease_expires_at.type))
)
_CANCEL_FLAG = select(Job.cancel_requested).where(Job.id == bindparam("p_job_id"))


def renew_lease(session: Session, job_id: str, worker_id: str, *, lease_seconds: float, now: datetime) -> LeaseState:
    """Heartbeat: extend the lease if still held; report whether a cancel was requested."""
    connection = session.connection()
    result = connection.execute(_RENEW, {"p_job_id": job_id, "p_worker_id": worker_id,
                                         "p_expires": now + timedelta(seconds=lease_seconds)})
    cancel = bool(connection.execute(_CANCEL_FLAG, {"p_job_id": job_id}).scalar())
    return LeaseState(held=bool(result.rowcount), cancel_requested=cancel)


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


_FINISH_DONE = (
    update(Job)
    .where(Job.id == bindparam("p_job_id"), Job.lease_owner == bindparam("p_worker_id"),
           Job.status == JobStatus.RUNNING.value)
    .values(status=check_transition(JobStatus.RUNNING, JobStatus.DONE).value,
            finished_at=bindparam("p_now", type_=Job.finished_at.type), exec_seconds=bindparam("p_exec_seconds"),
            lease_owner=None, lease_expires_at=None)
    .returning(Job.user_id, Job.attempts)
)
_INSERT_RESULT = insert(JobResult)
_CLOSE_ATTEMPT = (
    update(JobAttempt).where(JobAttempt.job_id == bindparam("p_job_id"), JobAttempt.number == bindparam("p_number"))
    .values(ended_at=bindparam("p_now", type_=JobAttempt.ended_at.type), outcome=bindparam("p_outcome"),
            detail=bindparam("p_detail"))
)


def complete_job(session: Session, job_id: str, worker_id: str, results: list[dict[str, Any]], *,
                 exec_seconds: float, now: datetime) -> bool:
    """Store the results and mark DONE, only if ``worker_id`` still holds the lease; False otherwise.

    The guarded UPDATE (lease owner and RUNNING) decides; the results' unique key (job, index) makes a second
    write fail even if two holders ever raced.
    """
    connection = session.connection()
    held = connection.execute(_FINISH_DONE, {"p_job_id": job_id, "p_worker_id": worker_id, "p_now": now,
                                             "p_exec_seconds": exec_seconds}).first()
    if held is None:
        return False
    user_id, attempts = held
    connection.execute(_INSERT_RESULT, [{"job_id": job_id, "index": index, "data": data, "created_at": now}
                                        for index, data in enumerate(results)])
    connection.execute(_CLOSE_ATTEMPT, {"p_job_id": job_id, "p_number": attempts, "p_now": now,
                                        "p_outcome": "DONE", "p_detail": None})
    record_usage(session, user_id, exec_seconds, now)
    notify(session, DONE_CHANNEL)
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
    notify(session, JOBS_CHANNEL if retry else DONE_CHANNEL)
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
    notify(session, DONE_CHANNEL)
    session.flush()
    return True


_ANY_EXPIRED = select(Job.id).where(Job.status == JobStatus.RUNNING.value,
                                    Job.lease_expires_at < bindparam("p_now", type_=Job.lease_expires_at.type)).limit(1)


def any_expired(session: Session, now: datetime) -> bool:
    """A lock-free read: is any running job's lease out of date?"""
    return session.connection().execute(_ANY_EXPIRED, {"p_now": now}).first() is not None


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
    if touched:
        notify(session, JOBS_CHANNEL)
        notify(session, DONE_CHANNEL)
    session.flush()
    return touched
