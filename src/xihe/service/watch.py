"""Wake long polls when their jobs finish, with one query per database change for all waiters of a process.

A background thread waits on the database's wake-up source (:mod:`xihe.service.wakeup`: SQLite's data version,
PostgreSQL's ``NOTIFY xihe_done``); on each change (and at least twice a second) it asks which of the awaited jobs
are finished, and wakes just those requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterator

from xihe.service.db import Database
from xihe.service.repositories import jobs
from xihe.service.wakeup import DONE_CHANNEL, SleepWakeup, Wakeup, wakeup_for

log = logging.getLogger("xihe.watch")


class ChangeWatcher:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wakeup: Wakeup | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._lock = threading.Lock()
        self._any_event = asyncio.Event()
        self._any_waiters = 0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            self._wakeup = wakeup_for(self.database.url, DONE_CHANNEL)
        except Exception:  # no signal: the thread still checks twice a second
            log.warning("no wake-up source for the database; long polls use timers", exc_info=True)
            self._wakeup = SleepWakeup()
        self._thread = threading.Thread(target=self._run, name="xihe-watch", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 2.0)
            self._thread = None
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None

    def _run(self) -> None:
        assert self._loop is not None
        while not self._stop.is_set():
            try:
                assert self._wakeup is not None
                changed = self._wakeup.wait(0.5)
                if changed and self._any_waiters:
                    with contextlib.suppress(RuntimeError):
                        self._loop.call_soon_threadsafe(self._fire_any)
                with self._lock:
                    awaited = list(self._waiters)
                if not awaited:
                    continue
                with self.database.read_connection() as connection:
                    finished = jobs.finished_among(connection, awaited)
            except Exception:
                log.exception("long-poll watcher failed; reconnecting its wake-up source")
                self._stop.wait(1.0)
                self._reconnect()
                continue
            if finished:
                with contextlib.suppress(RuntimeError):  # loop closed at shutdown
                    self._loop.call_soon_threadsafe(self._fire, finished)

    def _reconnect(self) -> None:
        """A lost LISTEN connection (database restart) must not leave long polls on timers forever."""
        old, self._wakeup = self._wakeup, SleepWakeup()
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()
        with contextlib.suppress(Exception):
            self._wakeup = wakeup_for(self.database.url, DONE_CHANNEL)

    def _fire_any(self) -> None:
        event, self._any_event = self._any_event, asyncio.Event()
        event.set()

    async def wait_for_change(self, timeout: float) -> None:
        """Return after the next change the wake-up source reports (any job), or after ``timeout`` seconds."""
        if self._thread is None:
            await asyncio.sleep(min(timeout, 0.05))
            return
        self._any_waiters += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._any_event.wait(), timeout)
        finally:
            self._any_waiters -= 1

    def _fire(self, finished: list[str]) -> None:
        with self._lock:
            events = [event for job_id in finished for event in self._waiters.get(job_id, ())]
        for event in events:
            event.set()

    @contextlib.contextmanager
    def watching(self, job_id: str) -> Iterator[Watch]:
        """Register interest in ``job_id`` for the whole block, *before* the caller reads the job's status.

        Registering first closes the window a check-then-register wait has: a job that finishes after the check
        but before the registration is seen by the watcher's next query (its commit wakes the watcher), instead of
        only at the watcher's half-second tick, or never while nothing else changes."""
        event = asyncio.Event()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(event)
        try:
            yield Watch(event, self._thread is not None)
        finally:
            with self._lock:
                waiting = self._waiters.get(job_id)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._waiters[job_id]

    async def wait_finished(self, job_id: str, timeout: float) -> bool:
        """Wait until ``job_id`` is finished (True: the watcher saw it in a terminal state) or ``timeout`` passed."""
        with self.watching(job_id) as watch:
            return await watch.wait(timeout)


class Watch:
    """One registered long poll (see :meth:`ChangeWatcher.watching`): wait for the watcher to see the job finished."""

    def __init__(self, event: asyncio.Event, live: bool) -> None:
        self._event = event
        self._live = live

    async def wait(self, timeout: float) -> bool:
        """True once the watcher saw the job in a terminal state (at once if it already has), False after
        ``timeout`` seconds. Without a running watcher: a short sleep, so the caller polls."""
        if not self._live:
            await asyncio.sleep(min(timeout, 0.05))
            return False
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True
