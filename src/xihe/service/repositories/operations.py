"""What operators watch, read from the database at scrape time: running jobs per backend, queue-wait and run-time
distributions, retried and lost attempts.

From the database, not from counters in one process: workers and agents run elsewhere (other processes, other
machines), and every API replica must report the same figures. Each query is one aggregate (no rows come back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from xihe.service.models import Job, JobAttempt
from xihe.service.states import JobStatus


@dataclass(frozen=True)
class Distribution:
    """A cumulative histogram: ``counts[i]`` values are <= ``bounds[i]``; ``total`` values summing to ``sum``."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: int
    sum: float


def _seconds_between(session: Session, start: Any, end: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * literal_column("86400.0")
    return cast(func.extract("epoch", end - start), Float)


def _distribution(session: Session, start: Any, end: Any, bounds: Sequence[float]) -> Distribution:
    seconds = _seconds_between(session, start, end)
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
    row = session.execute(select(func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
                          .where(start.is_not(None), end.is_not(None))).one()
    return Distribution(tuple(bounds), tuple(int(v or 0) for v in row[2:]), int(row[0] or 0), float(row[1] or 0.0))


def queue_wait(session: Session, bounds: Sequence[float]) -> Distribution:
    """Seconds from submission to the first start, over every job that started."""
    return _distribution(session, Job.created_at, Job.started_at, bounds)


def run_time(session: Session, bounds: Sequence[float]) -> Distribution:
    """Seconds of each attempt that ended, from its claim to its end (whatever the outcome)."""
    return _distribution(session, JobAttempt.started_at, JobAttempt.ended_at, bounds)


def running_by_backend(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.backend, func.count()).where(Job.status == JobStatus.RUNNING.value)
                           .group_by(Job.backend))
    return {backend: int(count) for backend, count in rows}


def attempt_outcomes(session: Session) -> dict[str, int]:
    """Ended attempts by outcome (RETRY: failed and put back; LOST: the lease ran out)."""
    rows = session.execute(select(JobAttempt.outcome, func.count()).where(JobAttempt.outcome.is_not(None))
                           .group_by(JobAttempt.outcome))
    return {str(outcome): int(count) for outcome, count in rows}
