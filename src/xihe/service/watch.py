"""Wake long polls when the database changes, without a query per waiter.

On SQLite, ``PRAGMA data_version`` on one dedicated connection changes whenever another connection commits; one
background task polls it every few milliseconds and wakes every waiter. On PostgreSQL the waiters simply re-read
on a short timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from xihe.service.db import Database


class ChangeWatcher:
    def __init__(self, database: Database, interval: float = 0.003) -> None:
        self.database = database
        self.interval = interval
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: sqlite3.Connection | None = None

    async def start(self) -> None:
        if self.database.is_sqlite and self._task is None:
            path = self.database.url.split("///", 1)[1]
            self._connection = sqlite3.connect(path, check_same_thread=False)
            self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _poll(self) -> None:
        assert self._connection is not None
        last = None
        while True:
            try:
                version = self._connection.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                version = None
            if version != last:
                last = version
                event, self._event = self._event, asyncio.Event()
                event.set()
            await asyncio.sleep(self.interval)

    async def wait_for_change(self, timeout: float) -> None:
        """Return after the next commit by another connection, or after ``timeout`` (at most 50 ms on PostgreSQL)."""
        if self._task is None:
            await asyncio.sleep(min(timeout, 0.02))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
