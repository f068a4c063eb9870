"""The work queue: claim with a lease, heartbeat, finish once under the lease, and lease expiry.

Claims follow the scheduling policy of :mod:`xihe.service.scheduling`. On PostgreSQL a claim locks its row with
``FOR UPDATE SKIP LOCKED`` and serialises the rare cross-job checks (an exclusive backend already busy, the host's
memory budget) with a transaction-level advisory lock; on SQLite the claim is one short ``BEGIN IMMEDIATE``
write transaction. Every state change goes through :func:`xihe.service.states.check_transition`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session, aliased

from xihe.service.db import WAKEUP_KEY
from xihe.service.models import BackendState, Job, JobAttempt, JobResult, User
from xihe.service.repositories import memory_pages
from xihe.service.repositories.users import record_usage
from xihe.service.retry import RetryDecision, RetryPolicy
from xihe.service.states import AttemptOutcome, ErrorStage, JobStatus, check_transition
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


def cancel_requested(session: Session, job_id: str) -> bool:
    """Whether a cancel of ``job_id`` was requested: a read, polled between heartbeats so a cancel is seen within
    a fraction of a second without a write per poll."""
    return bool(session.connection().execute(_CANCEL_FLAG, {"p_job_id": job_id}).scalar())


@dataclass(frozen=True)
class Ending:
    """How an attempt ends: the job's next state, the attempt's outcome, and what is stored with them.

    Built by the constructors below from the retry policy's decision, so the worker, the lease reaper and the
    device agents all end attempts the same way through :func:`finish_attempt`.
    """

    status: JobStatus
    outcome: AttemptOutcome
    exec_seconds: float = 0.0
    stage: ErrorStage | None = None
    detail: str | None = None
    results: tuple[dict[str, Any], ...] = ()

    @classmethod
    def done(cls, results: Sequence[dict[str, Any]], exec_seconds: float) -> Ending:
        return cls(JobStatus.DONE, AttemptOutcome.DONE, exec_seconds, results=tuple(results))

    @classmethod
    def cancelled(cls, exec_seconds: float = 0.0) -> Ending:
        return cls(JobStatus.CANCELLED, AttemptOutcome.CANCELLED, exec_seconds)

    @classmethod
    def error(cls, decision: RetryDecision, stage: ErrorStage, exec_seconds: float) -> Ending:
        """A failed attempt: back to the queue if the policy says retry, else FAILED at ``stage``."""
        if decision.retry:
            return cls(JobStatus.QUEUED, AttemptOutcome.RETRY, exec_seconds, stage, decision.reason)
        return cls(JobStatus.FAILED, AttemptOutcome.FAILED, exec_seconds, stage, decision.reason)

    @classmethod
    def lease_lost(cls, decision: RetryDecision, cancel_requested: bool) -> Ending:
        """The holder vanished: a cancelled job ends CANCELLED; otherwise the policy decides, as for an error."""
        if cancel_requested:
            return cls(JobStatus.CANCELLED, AttemptOutcome.LOST, detail="lease expired")
        status = JobStatus.QUEUED if decision.retry else JobStatus.FAILED
        return cls(status, AttemptOutcome.LOST, stage=ErrorStage.EXECUTE, detail=decision.reason)

    @property
    def attempt_detail(self) -> str | None:
        if self.outcome is AttemptOutcome.LOST:
            return "lease expired"
        return f"{self.stage}: {self.detail}" if self.stage is not None else self.detail


_INSERT_RESULT = insert(JobResult)
_CLOSE_ATTEMPT = (
    update(JobAttempt).where(JobAttempt.job_id == bindparam("p_job_id"), JobAttempt.number == bindparam("p_number"))
    .values(ended_at=bindparam("p_now", type_=JobAttempt.ended_at.type), outcome=bindparam("p_outcome"),
            detail=bindparam("p_detail"))
)


@lru_cache(maxsize=16)
def _finish_statement(goal: JobStatus, by_holder: bool) -> Any:
    """The guarded UPDATE that ends an attempt as ``goal``, built once per (goal, who may end it): building it took
    a third of a millisecond of every job's finish. Parameters: ``p_job_id``, ``p_now``, ``p_holder`` (by the
    lease holder) and, as ``goal`` needs, ``p_exec_seconds``, ``p_stage``, ``p_detail``."""
    now = bindparam("p_now", type_=Job.lease_expires_at.type)
    guard = Job.lease_owner == bindparam("p_holder") if by_holder else Job.lease_expires_at < now
    if goal is JobStatus.DONE:
        guard = guard & Job.cancel_requested.is_(False)
    values: dict[str, Any] = {"status": goal.value, "lease_owner": None, "lease_expires_at": None}
    if goal.is_terminal:
        values.update(finished_at=bindparam("p_now", type_=Job.finished_at.type),
                      exec_seconds=bindparam("p_exec_seconds", type_=Job.exec_seconds.type))
    if goal is JobStatus.FAILED:
        values.update(error_stage=bindparam("p_stage", type_=Job.error_stage.type),
                      error_detail=bindparam("p_detail", type_=Job.error_detail.type))
    return (update(Job).where(Job.id == bindparam("p_job_id"), Job.status == JobStatus.RUNNING.value, guard)
            .values(**values).returning(Job.user_id, Job.attempts))


def finish_attempt(session: Session, job_id: str, ending: Ending, *, now: datetime, holder: str | None) -> bool:
    """End the running attempt of ``job_id`` as ``ending``, atomically; False if this caller may not.

    The one way an attempt ends. A guarded UPDATE decides who may: the lease ``holder`` (a worker or agent), or,
    with ``holder=None``, the reaper of an expired lease. It moves the job (``RUNNING -> ending.status``, checked
    against the transition table), stores the results of a DONE job (their unique key (job, index) makes a second
    write fail even if two holders ever raced), closes the attempt record, charges the user's fair share and
    wakes whoever waits.

    A result is never stored after a cancel was accepted: DONE is guarded by ``cancel_requested`` too, and a
    holder whose job was cancelled while it ran ends it CANCELLED instead (and gets False: nothing was stored).
    """
    goal = check_transition(JobStatus.RUNNING, ending.status)
    parameters: dict[str, Any] = {"p_job_id": job_id, "p_now": now}
    if holder is not None:
        parameters["p_holder"] = holder
    if goal.is_terminal:
        parameters["p_exec_seconds"] = ending.exec_seconds
    if goal is JobStatus.FAILED:
        parameters.update(p_stage=ending.stage, p_detail=ending.detail)
    connection = session.connection()
    held = connection.execute(_finish_statement(goal, holder is not None), parameters).first()
    if held is None:
        if goal is JobStatus.DONE and holder is not None:
            finish_attempt(session, job_id, Ending.cancelled(ending.exec_seconds), now=now, holder=holder)
        return False
    user_id, attempts = held
    if ending.results:
        # Per-shot memory still inside a record (an agent's, a sampling job's) goes to its pages here; the worker
        # stores a plain job's pages item by item while it runs (memory_pages.store_item).
        connection.execute(_INSERT_RESULT, [
            {"job_id": job_id, "index": index, "data": memory_pages.split_record(connection, job_id, index, data),
             "created_at": now} for index, data in enumerate(ending.results)])
    elif goal is not JobStatus.DONE:
        memory_pages.delete_for(connection, job_id)  # pages of an attempt that ends without results
    connection.execute(_CLOSE_ATTEMPT, {"p_job_id": job_id, "p_number": attempts, "p_now": now,
                                        "p_outcome": ending.outcome.value, "p_detail": ending.attempt_detail})
    if ending.exec_seconds:
        record_usage(session, user_id, ending.exec_seconds, now)
    notify(session, JOBS_CHANNEL if goal is JobStatus.QUEUED else DONE_CHANNEL)
    return True


_ANY_EXPIRED = select(Job.id).where(Job.status == JobStatus.RUNNING.value,
                                    Job.lease_expires_at < bindparam("p_now", type_=Job.lease_expires_at.type)).limit(1)


def any_expired(session: Session, now: datetime) -> bool:
    """A lock-free read: is any running job's lease out of date?"""
    return session.connection().execute(_ANY_EXPIRED, {"p_now": now}).first() is not None


def requeue_expired(session: Session, *, now: datetime, policy: RetryPolicy) -> list[str]:
    """Jobs whose lease ran out go back to the queue (or FAILED after the last attempt, or CANCELLED if asked)."""
    query = select(Job.id, Job.attempts, Job.cancel_requested).where(Job.status == JobStatus.RUNNING.value,
                                                                      Job.lease_expires_at < now)
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    touched = []
    for job_id, attempts, cancel_requested in session.execute(query).all():
        ending = Ending.lease_lost(policy.after_lease_lost(attempts), bool(cancel_requested))
        if finish_attempt(session, job_id, ending, now=now, holder=None):
            touched.append(job_id)
    return touched
