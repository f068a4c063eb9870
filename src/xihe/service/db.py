"""Database engines and sessions for one :class:`~xihe.service.settings.Settings` (SQLite WAL or PostgreSQL).

Two session kinds: :meth:`Database.write` opens a transaction that may write (on SQLite ``BEGIN IMMEDIATE``, so a
read-then-write transaction such as a claim takes the write lock first and never fails half way with
SQLITE_BUSY), :meth:`Database.read` reads (on SQLite in autocommit: each statement its own snapshot; WAL readers
never block the writer).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from xihe.service.settings import Settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own locking only
    fcntl = None  # type: ignore[assignment]


WAKEUP_KEY = "xihe_wakeup_channels"


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    # The read engine runs in autocommit: each SELECT sees a consistent snapshot by itself, and a read-only
    # session then costs no BEGIN/ROLLBACK round trip (and no pool reset) -- reads are on every API request.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20,
                           max_overflow=40, pool_reset_on_return="rollback" if immediate else None)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins (the documented recipe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if immediate:
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The engines and session factories of one database; built once per process from the settings."""

    def __init__(self, url: str, *, idle_transaction_seconds: float = 0.0) -> None:
        """``idle_transaction_seconds`` (PostgreSQL; 0: never): the server ends a session of this process that sits
        idle inside a transaction that long. A process frozen mid-transaction (SIGSTOP, a paused VM) would otherwise
        hold its row locks for as long as it is frozen: the reaper skips locked rows, so the job it held stayed
        RUNNING, and every transaction waiting on those rows stalled with it (issue 18, the chaos suite)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
        else:
            idle_ms = round(idle_transaction_seconds * 1000)
            connect_args = {"options": f"-c idle_in_transaction_session_timeout={idle_ms}"} if idle_ms > 0 else {}
            self.write_engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                              connect_args=connect_args)
            self.read_engine = self.write_engine
        self._thread_lock = threading.Lock() if self.is_sqlite else None
        self._lock_path: str | None = None
        self._lock_fd: int | None = None
        self.sqlite_path = ""
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                self.sqlite_path = path
                if fcntl is not None:
                    self._lock_path = path + "-writer.lock"
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._notifier: Any = None
        if self.sqlite_path:
            event.listen(self._write, "after_commit", self._send_wakeups)

    def _send_wakeups(self, session: Session) -> None:
        """After a commit, wake the processes waiting on the channels this transaction touched (SQLite)."""
        channels = session.info.pop(WAKEUP_KEY, None)
        if not channels:
            return
        if self._notifier is None:
            from xihe.service.wakeup import SocketNotifier, socket_folder

            self._notifier = SocketNotifier(socket_folder(self.sqlite_path))
        for channel in channels:
            self._notifier.send(channel)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.resolved_database_url(), idle_transaction_seconds=settings.idle_transaction_seconds)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception.

        On SQLite the threads of one process take a Python lock first: SQLite makes a blocked writer sleep in
        steps of 1 to 100 ms, so letting threads queue on a lock instead keeps latency in microseconds.
        """
        if self._thread_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        with self._thread_lock, self._process_lock(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _process_lock(self) -> Iterator[None]:
        """An exclusive ``flock`` on a file beside the database, shared by every process of this machine (API,
        workers, CLI): the kernel wakes a waiting writer the moment the lock is free, where SQLite's busy handler
        would sleep."""
        if self._lock_path is None:
            yield
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (rolled back at the end)."""
        with self._read() as session:
            yield session

    def dispose(self) -> None:
        if self._notifier is not None:
            self._notifier.close()
            self._notifier = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
