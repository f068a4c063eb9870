"""Stored characterization results (``performance_runs``): record a suite result, read the newest and history.

Each row holds one :meth:`xihe.characterize.suite.SuiteResult.to_dict` document; the (backend, time) index
serves both the backend list (newest row per backend) and a backend's history (newest rows first).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xihe.service.models import Job, PerformanceRun
from xihe.status import JobKind, JobStatus

#: The job kind of a characterization job (the worker runs a suite instead of circuits).
CHARACTERIZE_KIND = JobKind.CHARACTERIZE


def record_run(session: Session, backend: str, job_id: str | None, document: dict[str, Any],
               time: datetime) -> PerformanceRun:
    """Store one suite result (inside the caller's transaction, e.g. the one that marks its job DONE)."""
    row = PerformanceRun(backend=backend, job_id=job_id, suite=str(document.get("suite", "")), time=time,
                         summary=dict(document.get("summary", {})), document=document)
    session.add(row)
    session.flush()
    return row


def latest_run(session: Session, backend: str) -> PerformanceRun | None:
    """A backend's newest stored run (with its full document)."""
    query = (select(PerformanceRun).where(PerformanceRun.backend == backend)
             .order_by(PerformanceRun.time.desc(), PerformanceRun.id.desc()).limit(1))
    return session.scalars(query).first()


def summary_history(session: Session, backend: str, limit: int = 50) -> list[dict[str, Any]]:
    """``{"id", "time", "summary"}`` of a backend's runs, newest first: the history without the big documents."""
    query = (select(PerformanceRun.id, PerformanceRun.time, PerformanceRun.summary)
             .where(PerformanceRun.backend == backend)
             .order_by(PerformanceRun.time.desc(), PerformanceRun.id.desc()).limit(limit))
    return [{"id": run_id, "time": time.isoformat(), "summary": summary}
            for run_id, time, summary in session.execute(query)]


def latest_summaries(session: Session) -> dict[str, tuple[datetime, dict[str, Any]]]:
    """backend -> (time, summary) of its newest run (only the summary column is read, not the documents)."""
    newest = (select(PerformanceRun.backend, func.max(PerformanceRun.time).label("time"))
              .group_by(PerformanceRun.backend).subquery())
    query = (select(PerformanceRun.backend, PerformanceRun.time, PerformanceRun.summary)
             .join(newest, (PerformanceRun.backend == newest.c.backend) & (PerformanceRun.time == newest.c.time)))
    return {backend: (time, summary) for backend, time, summary in session.execute(query)}


def last_run_times(session: Session) -> dict[str, datetime]:
    """backend -> time of its newest stored run (for the periodic schedule)."""
    query = select(PerformanceRun.backend, func.max(PerformanceRun.time)).group_by(PerformanceRun.backend)
    return {backend: time for backend, time in session.execute(query)}


def pending_backends(session: Session, backends: Sequence[str] | None = None) -> set[str]:
    """Backends with a characterization job still QUEUED or RUNNING (the scheduler adds no second one)."""
    query = select(Job.backend).where(Job.kind == CHARACTERIZE_KIND,
                                      Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
    if backends is not None:
        query = query.where(Job.backend.in_(list(backends)))
    return set(session.scalars(query))
