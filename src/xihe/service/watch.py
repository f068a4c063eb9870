"""Wake long polls when jobs finish, without a query per waiter.

One background thread waits on the database's wake-up source (:mod:`xihe.service.wakeup`: SQLite's data version,
PostgreSQL's ``NOTIFY xihe_done``) and wakes every waiting request; each then re-reads its job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from xihe.service.db import Database
from xihe.service.wakeup import DONE_CHANNEL, Wakeup, wakeup_for

log = logging.getLogger("xihe.watch")


class ChangeWatcher:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wakeup: Wakeup | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            self._wakeup = wakeup_for(self.database.url, DONE_CHANNEL)
        except Exception:  # no signal: waiters fall back to short timers
            log.warning("no wake-up source for the database; long polls use timers", exc_info=True)
            return
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
        assert self._wakeup is not None and self._loop is not None
        while not self._stop.is_set():
            try:
                changed = self._wakeup.wait(0.5)
            except Exception:
                log.exception("wake-up source failed")
                self._stop.wait(1.0)
                continue
            if changed:
                with contextlib.suppress(RuntimeError):  # loop closed at shutdown
                    self._loop.call_soon_threadsafe(self._fire)

    def _fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_for_change(self, timeout: float) -> None:
        """Return after the next change, or after ``timeout`` (at most 50 ms without a wake-up source)."""
        if self._thread is None:
            await asyncio.sleep(min(timeout, 0.05))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
