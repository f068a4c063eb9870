"""``/health``'s view of the database: a recent ``SELECT 1`` answer, refreshed on a thread of its own.

``/health`` is what load balancers and probes poll, so it must answer at once whatever else the API is doing (issue
18: it stalled behind the shared thread pool and the database during large answers and cancels). It never waits
for the database while a recent answer exists: a check at most every :data:`FRESH_SECONDS`, run on this probe's
own thread (never the thread pool the request handlers share), and an answer up to :data:`STALE_SECONDS` old is
served while the next check is under way. Only when none is that recent does a caller wait for the check, so a
database that stops answering still turns ``/health`` into "degraded" within seconds.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import text

from xihe.service.db import Database
from xihe.service.repositories import jobs

FRESH_SECONDS = 1.0
STALE_SECONDS = 10.0


@dataclass(frozen=True)
class DatabaseState:
    """One check's answer: reachable or not (with the exception's type), and when (monotonic seconds)."""

    reachable: bool
    detail: str
    at: float


class DatabaseProbe:
    """The latest :class:`DatabaseState` of one API process, checked on a thread of its own."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xihe-health")
        self._last: DatabaseState | None = None
        self._pending: Future[DatabaseState] | None = None

    def _check(self) -> DatabaseState:
        try:
            with self.database.read() as session:
                session.execute(text("SELECT 1"))
            state = DatabaseState(True, self.database.dialect, time.monotonic())
        except Exception as exc:
            state = DatabaseState(False, f"unreachable: {type(exc).__name__}", time.monotonic())
        self._last = state
        return state

    async def state(self) -> DatabaseState:
        """The newest answer if fresh enough; else start a check and wait only when no recent answer exists."""
        last, now = self._last, time.monotonic()
        if last is not None and now - last.at < FRESH_SECONDS:
            return last
        if self._pending is None or self._pending.done():
            self._pending = self._executor.submit(self._check)
        if last is not None and now - last.at < STALE_SECONDS:
            return last
        return await asyncio.wrap_future(self._pending)

    async def active_counts(self) -> dict[str, int]:
        """Queued and running jobs, read on the probe's thread too (an admin's /health waits for no handler)."""
        return await asyncio.wrap_future(self._executor.submit(self._active_counts))

    def _active_counts(self) -> dict[str, int]:
        with self.database.read() as session:
            return jobs.active_counts(session)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
