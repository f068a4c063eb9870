"""Wake-ups between processes, so an idle worker claims a new job (and a long poll returns) within milliseconds.

- SQLite (one machine): ``PRAGMA data_version`` on a private connection changes whenever another connection
  commits; polling it every few milliseconds costs microseconds and no lock.
- PostgreSQL (several machines): ``LISTEN``/``NOTIFY``. Submits notify :data:`JOBS_CHANNEL`, finished jobs
  :data:`DONE_CHANNEL` (see :func:`xihe.service.repositories.queue.notify`).

A wake-up is only a hint: every waiter re-reads the database, and every wait has a timeout, so a lost
notification costs latency, never correctness.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from typing import Protocol

JOBS_CHANNEL = "xihe_jobs"
DONE_CHANNEL = "xihe_done"


class Wakeup(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until something changed (True) or ``timeout`` seconds passed (False)."""

    def close(self) -> None: ...


class SqliteWakeup:
    def __init__(self, path: str, interval: float = 0.003) -> None:
        self.interval = interval
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._version = self._read()

    def _read(self) -> int | None:
        try:
            return int(self._connection.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._read()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.interval, left))

    def close(self) -> None:
        self._connection.close()


class PostgresWakeup:
    def __init__(self, url: str, channel: str) -> None:
        import psycopg

        self._connection = psycopg.connect(_libpq_url(url), autocommit=True)
        self._connection.execute(f"LISTEN {channel}")

    def wait(self, timeout: float) -> bool:
        got = False
        for _ in self._connection.notifies(timeout=timeout, stop_after=1):
            got = True
        if got:  # drain what else arrived, so one burst is one wake-up
            for _ in self._connection.notifies(timeout=0.0001):
                pass
        return got

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()


class SleepWakeup:
    """No signal available: wait out the timeout."""

    def wait(self, timeout: float) -> bool:
        time.sleep(timeout)
        return False

    def close(self) -> None:
        pass


def _libpq_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def wakeup_for(url: str, channel: str) -> Wakeup:
    """The wake-up source for a database URL (SQLAlchemy form)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        return SqliteWakeup(path) if path and path != ":memory:" else SleepWakeup()
    if url.startswith("postgresql"):
        return PostgresWakeup(url, channel)
    return SleepWakeup()
