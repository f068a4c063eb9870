"""Jobs as the API sees them: insert, read (scoped to a user), list with filters, cancel, queue position."""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from sqlalchemy import Connection, String, and_, bindparam, case, cast, func, insert, or_, select, true, update
from sqlalchemy.orm import Session, defer

from xihe.service.clock import utcnow
from xihe.service.models import Job, JobAttempt, JobResult, User
from xihe.service.repositories import count_pages, memory_pages
from xihe.service.states import JobStatus, check_transition
from xihe.service.wakeup import DONE_CHANNEL


def new_job_id() -> str:
    return secrets.token_hex(8)


_INSERT_JOB = insert(Job)


def insert_job(session: Session, **fields: Any) -> Job:
    """Insert a QUEUED job (one prebuilt INSERT, no ORM flush: this is on every submit's path)."""
    values = {"id": fields.pop("id", None) or new_job_id(), "status": JobStatus.QUEUED.value,
              "created_at": fields.pop("created_at", None) or utcnow(), "attempts": 0, "cancel_requested": False,
              "started_at": None, "finished_at": None, "lease_owner": None, "lease_host": None,
              "lease_expires_at": None, "error_stage": None, "error_detail": None, "exec_seconds": None,
              "source": "native", "priority": 0, "effective_priority": 0, "name": None, "tags": [],
              "kind": "single", "num_circuits": 1, "num_qubits": 0, "memory_estimate": 0, "max_attempts": 3,
              "wall_seconds": 600.0, **fields}
    session.connection().execute(_INSERT_JOB, values)
    return Job(**values)


def get_job(session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


def get_user_job(session: Session, user_id: int, job_id: str, *, with_payload: bool = True) -> Job | None:
    """The job if it belongs to ``user_id``; another user's job is indistinguishable from a missing one.

    ``with_payload=False`` leaves the stored request (the programs' text, megabytes for a long circuit) unread
    until something asks for it: a job's record and its long polls never do."""
    job = session.get(Job, job_id, options=() if with_payload else (defer(Job.payload),))
    return job if job is not None and job.user_id == user_id else None


_STATUS_OF = select(Job.status).where(Job.id == bindparam("p_id"), Job.user_id == bindparam("p_user"))


def user_job_status(session: Session, user_id: int, job_id: str) -> str | None:
    """Just the status of the user's job (the cheap read a long poll repeats); None if not theirs."""
    value = session.connection().execute(_STATUS_OF, {"p_id": job_id, "p_user": user_id}).scalar()
    return str(value) if value is not None else None


_FINISHED_AMONG = select(Job.id).where(
    Job.id.in_(bindparam("p_ids", expanding=True)),
    Job.status.in_([JobStatus.DONE.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value]))


def finished_among(connection: Connection, job_ids: list[str]) -> list[str]:
    """Which of these jobs are in a terminal state (one query for every long poll of an API process).

    The watcher runs it on every database change while a poll waits (about once a job under load), so it is one
    prebuilt statement on a Core connection: an ORM session and a statement built per call cost 290 us of CPU a
    call against 80 us (issue 13, service load)."""
    return [str(job_id) for job_id in connection.execute(_FINISHED_AMONG, {"p_ids": job_ids}).scalars()]


JOB_ORDERS = {  # the list's sort keys (web and API): each ends with a unique key, so pages never overlap
    "newest": (Job.created_at.desc(), Job.id.desc()),
    "oldest": (Job.created_at.asc(), Job.id.asc()),
    "name": (Job.name.asc(), Job.created_at.desc(), Job.id.desc()),
    "status": (Job.status.asc(), Job.created_at.desc(), Job.id.desc()),
    "backend": (Job.backend.asc(), Job.created_at.desc(), Job.id.desc()),
    "shots": (Job.shots.desc(), Job.created_at.desc(), Job.id.desc()),
}


def list_jobs(session: Session, user_id: int | None, *, status: str | None = None, backend: str | None = None,
              tag: str | None = None, search: str | None = None, created_from: datetime | None = None,
              created_before: datetime | None = None, created_after: datetime | None = None,
              order: str = "newest", limit: int = 50, offset: int = 0) -> tuple[Sequence[Job], int]:
    """A page of jobs and the total that match. ``user_id=None``: every user's (admin).

    ``search`` matches a job id prefix, a part of the name or a part of a tag (case-insensitive);
    ``created_from`` (inclusive) and ``created_before`` (exclusive) bound the submission time, ``created_after``
    keeps only jobs newer than a moment (the web list's live updates); ``order`` is a key of :data:`JOB_ORDERS`.
    """
    conditions = []
    if user_id is not None:
        conditions.append(Job.user_id == user_id)
    if status:
        conditions.append(Job.status == status)
    if backend:
        conditions.append(Job.backend == backend)
    if tag:
        # Tags are a small JSON list stored as text (JSON, not JSONB, on PostgreSQL): an element equal to ``tag``
        # appears in it exactly as json.dumps(tag), quotes included.
        conditions.append(cast(Job.tags, String).contains(json.dumps(tag), autoescape=True))
    if search:
        text = search.strip().lower()
        conditions.append(or_(Job.id.startswith(text, autoescape=True),
                              func.lower(Job.name).contains(text, autoescape=True),
                              func.lower(cast(Job.tags, String)).contains(text, autoescape=True)))
    if created_from is not None:
        conditions.append(Job.created_at >= created_from)
    if created_before is not None:
        conditions.append(Job.created_at < created_before)
    if created_after is not None:
        conditions.append(Job.created_at > created_after)
    query = select(Job).where(*conditions).order_by(*JOB_ORDERS.get(order, JOB_ORDERS["newest"]))
    total = session.scalar(select(func.count()).select_from(Job).where(*conditions)) or 0
    return session.scalars(query.limit(limit).offset(offset)).all(), int(total)


_CIRCUITS_SINCE = select(func.coalesce(func.sum(Job.num_circuits), 0)).where(
    Job.user_id == bindparam("p_user"), Job.created_at >= bindparam("p_since", type_=Job.created_at.type))


def count_circuits_since(session: Session, user_id: int, since: datetime) -> int:
    """Circuits (each batch item or sweep binding counts) the user submitted since ``since`` (daily quota)."""
    return int(session.connection().execute(_CIRCUITS_SINCE, {"p_user": user_id, "p_since": since}).scalar() or 0)


_JOBS_SINCE = select(func.count()).select_from(Job).where(
    Job.user_id == bindparam("p_user"), Job.created_at >= bindparam("p_since", type_=Job.created_at.type))


def count_jobs_since(session: Session, user_id: int, since: datetime) -> int:
    """Jobs the user submitted since ``since``, a batch or sweep counting once (the ``jobs_per_day`` quota)."""
    return int(session.connection().execute(_JOBS_SINCE, {"p_user": user_id, "p_since": since}).scalar() or 0)


def exec_seconds_since(session: Session, user_id: int, since: datetime) -> float:
    """Execution seconds of the user's jobs that finished since ``since`` (the account page's use today)."""
    total = session.scalar(select(func.coalesce(func.sum(Job.exec_seconds), 0.0)).where(
        Job.user_id == user_id, Job.finished_at >= since, Job.exec_seconds.is_not(None)))
    return float(total or 0.0)


def request_cancel(session: Session, job: Job, *, now: datetime | None = None) -> Job:
    """Cancel a queued job at once; ask a running one to stop (its worker ends it as CANCELLED). Idempotent."""
    status = JobStatus(job.status)
    if status == JobStatus.QUEUED:
        result = session.execute(
            update(Job).where(Job.id == job.id, Job.status == JobStatus.QUEUED.value)
            .values(status=check_transition(status, JobStatus.CANCELLED).value, finished_at=now or utcnow(),
                    cancel_requested=True)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            # A worker claimed it in between: fall through to the cooperative path.
            session.execute(update(Job).where(Job.id == job.id, Job.status == JobStatus.RUNNING.value)
                            .values(cancel_requested=True))
        else:
            from xihe.service.repositories.queue import notify

            notify(session, DONE_CHANNEL)
    elif status == JobStatus.RUNNING:
        session.execute(update(Job).where(Job.id == job.id).values(cancel_requested=True))
    session.refresh(job)
    return job


def results_for(session: Session, job_id: str, *, with_memory: bool = False, all_counts: bool = True,
                counts_limit: int | None = None) -> list[dict[str, Any]]:
    """The job's result records in item order, per-shot memory left in its pages (``memory`` None, see
    :mod:`.memory_pages`) unless ``with_memory`` (for a protocol that answers with every shot); counts of many
    outcomes read back whole from their pages unless not ``all_counts`` (the native record: page 0 only, see
    :mod:`.count_pages`). With ``counts_limit`` (a protocol that answers with whole counts), a job whose items have
    more distinct outcomes in all is refused with a 413 as soon as they add up past it, before any page is read
    and with a few rows held, whatever the number of its items."""
    rows_per_read = ROWS_PER_READ
    if counts_limit is not None:
        # Checked first, a row a query and none kept: a refusal holds one decoded record (a first page of up to
        # 16,384 outcomes, ~2 MB in Python), not the 16 a query reads nor the items before the one that passes.
        held = 0
        for index, record in enumerate(stored_rows(session, job_id, rows_per_read=1)):
            held += count_pages.outcomes(record)
            if held > counts_limit:
                raise count_pages.too_many_outcomes(job_id, index, held, counts_limit)
        rows_per_read = 1
    records = list(stored_rows(session, job_id, rows_per_read=rows_per_read))
    if all_counts:
        records = [count_pages.with_all_counts(session, job_id, index, record)
                   for index, record in enumerate(records)]
    if with_memory:
        records = [with_item_memory(session, job_id, index, record) for index, record in enumerate(records)]
    return records


_RECORD_ROWS = (select(JobResult.index, JobResult.data)
                .where(JobResult.job_id == bindparam("p_job"), JobResult.index >= bindparam("p_first"),
                       JobResult.index < bindparam("p_stop"))
                .order_by(JobResult.index))
_RECORD_COUNT = select(func.count()).select_from(JobResult).where(JobResult.job_id == bindparam("p_job"))


ROWS_PER_READ = 16


def stored_rows(session: Session, job_id: str, rows_per_read: int = ROWS_PER_READ, first: int = 0
                ) -> Iterator[dict[str, Any]]:
    """The job's result records as stored, in item order from item ``first``, ``rows_per_read`` rows a query (a
    reader that stops early has read a few rows, not the job's; a reader of large records asks for fewer at a time,
    since a query's rows are decoded together)."""
    while True:
        rows = session.connection().execute(_RECORD_ROWS, {"p_job": job_id, "p_first": first,
                                                           "p_stop": first + rows_per_read}).all()
        for _index, data in rows:
            yield data
        if len(rows) < rows_per_read:  # a small job: one query
            return
        first += len(rows)


class StoredRecords(Sequence[dict[str, Any]]):
    """A finished job's result records read on demand from ``session`` while it is open, a few rows a query, with
    counts of many outcomes as :class:`~.count_pages.PagedCounts` (read page by page as they are iterated): what
    turns a job's records into an answer (the estimator's values) holds a few records' first pages at a time,
    not the job's results, whatever their size. Slices are views over the same rows; only the last few rows read
    are kept."""

    def __init__(self, session: Session, job_id: str, indices: range | None = None,
                 cache: dict[int, dict[str, Any]] | None = None) -> None:
        self._session, self._job_id = session, job_id
        if indices is None:
            total = int(session.connection().execute(_RECORD_COUNT, {"p_job": job_id}).scalar() or 0)
            indices = range(total)
        self._indices = indices
        self._cache: dict[int, dict[str, Any]] = {} if cache is None else cache

    def __len__(self) -> int:
        return len(self._indices)

    def _record(self, index: int) -> dict[str, Any]:
        if index not in self._cache:
            self._cache.clear()
            rows = self._session.connection().execute(_RECORD_ROWS, {
                "p_job": self._job_id, "p_first": index, "p_stop": index + ROWS_PER_READ})
            for stored, data in rows:
                self._cache[int(stored)] = count_pages.streamed(self._session, self._job_id, int(stored), data)
        return self._cache[index]

    @overload
    def __getitem__(self, position: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, position: slice) -> StoredRecords: ...

    def __getitem__(self, position: int | slice) -> dict[str, Any] | StoredRecords:
        if isinstance(position, slice):
            return StoredRecords(self._session, self._job_id, self._indices[position], self._cache)
        return self._record(self._indices[position])


def result_summary(session: Session, job_id: str, index: int) -> dict[str, Any] | None:
    """One item's stored record (counts and metadata; per-shot keys are in their pages), or None."""
    return session.scalar(select(JobResult.data).where(JobResult.job_id == job_id, JobResult.index == index))


def with_item_memory(session: Session, job_id: str, index: int, record: dict[str, Any]) -> dict[str, Any]:
    """The record with its per-shot keys read back from their pages (as it was before storage split them)."""
    if record.get("memory") is not None or not record.get("memory_shots"):
        return record
    return {**record, "memory": memory_pages.read_item(session, job_id, index)}


def attempts_for(session: Session, job_id: str) -> Sequence[JobAttempt]:
    return session.scalars(select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.number)).all()


def _queue_position_statement(*columns: Any) -> Any:
    """The queued jobs of the same backend the scheduler would take before a given one, as ``columns``."""
    owner_usage = select(User.usage_log2).where(User.id == bindparam("p_user")).scalar_subquery()
    priority: Any = bindparam("p_priority")
    created = bindparam("p_created", type_=Job.created_at.type)
    return select(*(columns or (func.count(),))).select_from(Job).join(User, User.id == Job.user_id).where(
        Job.status == JobStatus.QUEUED.value,
        Job.backend == bindparam("p_backend"),
        Job.id != bindparam("p_id"),
        or_(
            Job.effective_priority > priority,
            and_(Job.effective_priority == priority,
                 or_(User.usage_log2 < owner_usage,
                     and_(User.usage_log2 == owner_usage,
                          or_(Job.created_at < created,
                              and_(Job.created_at == created, Job.id < bindparam("p_id")))))),
        ),
    )


_QUEUE_POSITION = _queue_position_statement()
_CIRCUITS = case((Job.num_circuits > 1, Job.num_circuits), else_=1)  # a job is at least one circuit's work


def queue_position(session: Session, job: Job) -> int:
    """How many queued jobs of the same backend the scheduler would take before this one (0 = next)."""
    ahead = session.connection().execute(_QUEUE_POSITION, {
        "p_user": job.user_id, "p_priority": job.effective_priority, "p_created": job.created_at,
        "p_backend": job.backend, "p_id": job.id}).scalar()
    return int(ahead or 0)


@dataclass(frozen=True)
class QueueSnapshot:
    """What a queued job's estimate reads from storage: the jobs ahead of it (as :func:`queue_position` counts
    them) and their circuits, the backend's running jobs and their circuits, and the owner's fair-share key."""

    jobs_ahead: int
    circuits_ahead: int
    running: int
    running_circuits: int
    owner_usage_log2: float | None


def _queue_snapshot_statement() -> Any:
    ahead = _queue_position_statement(func.count().label("jobs"),
                                      func.coalesce(func.sum(_CIRCUITS), 0).label("circuits")).subquery()
    running = select(func.count().label("jobs"), func.coalesce(func.sum(_CIRCUITS), 0).label("circuits")).where(
        Job.status == JobStatus.RUNNING.value, Job.backend == bindparam("p_backend")).subquery()
    owner = select(User.usage_log2).where(User.id == bindparam("p_user")).scalar_subquery()
    # Two one-row aggregates side by side (joined on TRUE: the linter's word for an intended cross join).
    return select(ahead.c.jobs, ahead.c.circuits, running.c.jobs, running.c.circuits, owner).select_from(
        ahead.join(running, true()))


# Read on every submit and every read of a queued job: one prebuilt statement, one round trip (three ORM queries
# and a User load took 0.6 ms of the submit's write transaction).
_QUEUE_SNAPSHOT = _queue_snapshot_statement()


def queue_snapshot(session: Session, job: Job) -> QueueSnapshot:
    """The :class:`QueueSnapshot` of a queued job, in one query."""
    ahead, circuits, running, running_circuits, usage = session.connection().execute(_QUEUE_SNAPSHOT, {
        "p_user": job.user_id, "p_priority": job.effective_priority, "p_created": job.created_at,
        "p_backend": job.backend, "p_id": job.id}).one()
    return QueueSnapshot(int(ahead or 0), int(circuits or 0), int(running or 0), int(running_circuits or 0),
                         None if usage is None else float(usage))


def queue_length(session: Session, backend: str | None = None) -> int | dict[str, int]:
    """Queued jobs of one backend, or a map backend -> queued count."""
    if backend is not None:
        return int(session.scalar(select(func.count()).select_from(Job).where(
            Job.status == JobStatus.QUEUED.value, Job.backend == backend)) or 0)
    rows = session.execute(select(Job.backend, func.count()).where(Job.status == JobStatus.QUEUED.value)
                           .group_by(Job.backend))
    return {name: int(count) for name, count in rows}


def running_count(session: Session, backend: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Job).where(
        Job.status == JobStatus.RUNNING.value, Job.backend == backend)) or 0)


_RECENT = (select(Job.exec_seconds.label("job"),
                  (Job.exec_seconds / _CIRCUITS).label("circuit"))
           .where(Job.backend == bindparam("p_backend"), Job.status == JobStatus.DONE.value,
                  Job.exec_seconds.is_not(None))
           .order_by(Job.finished_at.desc()).limit(50).subquery())
_MEAN_EXEC = select(func.avg(_RECENT.c.job), func.avg(_RECENT.c.circuit),
                    func.avg(_RECENT.c.circuit * _RECENT.c.circuit), func.count())
_STATS_CACHE: dict[tuple[str, str], tuple[float, ExecStats]] = {}
MIN_SPREAD_SAMPLES = 5


@dataclass(frozen=True)
class ExecStats:
    """A backend's measured service rate over its 50 latest finished jobs: seconds per job, and per circuit with
    the standard deviation (None under 5 samples). A batch of 20 circuits takes about 20 circuits' time."""

    per_job: float | None
    per_circuit: float | None
    per_circuit_spread: float | None


def exec_stats(session: Session, backend: str) -> ExecStats:
    """The backend's :class:`ExecStats` (for queue estimates; cached 2 s)."""
    key = (str(getattr(session.get_bind(), "url", "")), backend)
    now = time.monotonic()
    cached = _STATS_CACHE.get(key)
    if cached is not None and now - cached[0] < 2.0:
        return cached[1]
    per_job, mean, square, count = session.connection().execute(_MEAN_EXEC, {"p_backend": backend}).one()
    circuit = float(mean) if mean is not None else None
    spread = (math.sqrt(max(0.0, float(square) - circuit * circuit))
              if circuit is not None and square is not None and int(count or 0) >= MIN_SPREAD_SAMPLES else None)
    stats = ExecStats(float(per_job) if per_job is not None else None, circuit, spread)
    _STATS_CACHE[key] = (now, stats)
    return stats


def mean_exec_seconds(session: Session, backend: str) -> float | None:
    """Mean execution time of the backend's 50 latest finished jobs (cached 2 s)."""
    return exec_stats(session, backend).per_job


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    return {status: int(count) for status, count in rows}


_ACTIVE_COUNTS = (select(Job.status, func.count())
                  .where(Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])).group_by(Job.status))


def active_counts(session: Session) -> dict[str, int]:
    """Queued and running jobs (through the queue index: only the active rows are read, not the history)."""
    return {str(status): int(count) for status, count in session.execute(_ACTIVE_COUNTS)}
