"""Database engines and sessions for one :class:`~xihe.service.settings.Settings` (SQLite WAL or PostgreSQL).

Two session kinds: :meth:`Database.write` opens a transaction that may write (on SQLite ``BEGIN IMMEDIATE``, so a
read-then-write transaction such as a claim takes the write lock first and never fails half way with
SQLITE_BUSY), :meth:`Database.read` reads (on SQLite in autocommit: each statement its own snapshot; WAL readers
never block the writer).

A write waits for its locks at most ``write_wait_seconds`` (issue 18): a process frozen while it holds SQLite's
write lock (SIGSTOP, a paused VM) used to stall every writer for as long as it stayed frozen; now the waiter gives
up with :class:`WriteLockTimeout` (an ``OperationalError``, answered 503 with ``Retry-After``), having changed
nothing. PostgreSQL's ``lock_timeout`` gives a writer waiting on a frozen holder's rows the same bound.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from xihe.service.settings import Settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own locking only
    fcntl = None  # type: ignore[assignment]


WAKEUP_KEY = "xihe_wakeup_channels"
_NO_LIMIT_SECONDS = 30 * 24 * 3600.0  # SQLite's busy wait when write_wait_seconds is 0 (no limit)
READ_BUSY_SECONDS = 30.0  # a WAL reader waits only on a checkpoint's or a recovery's brief lock


class WriteLockTimeout(OperationalError):
    """Another process held the database's write lock longer than ``write_wait_seconds``: nothing was written.
    An ``OperationalError``, so every caller treats it as the database being unavailable (the API answers 503
    with ``Retry-After``, a worker exits and is restarted)."""

    def __init__(self, waited: float) -> None:
        super().__init__("BEGIN IMMEDIATE", None, TimeoutError(
            f"the database's write lock was held by another process for more than {waited:g} s "
            "(write_wait_seconds)"))
        self.waited = waited


def _sqlite_engine(url: str, *, immediate: bool, busy_seconds: float) -> Engine:
    # The read engine runs in autocommit: each SELECT sees a consistent snapshot by itself, and a read-only
    # session then costs no BEGIN/ROLLBACK round trip (and no pool reset) -- reads are on every API request.
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_seconds}, pool_size=20,
                           max_overflow=40, pool_reset_on_return="rollback" if immediate else None)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins (the documented recipe).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={round(busy_seconds * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if immediate:
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class _WriterLock:
    """The machine's writer ``flock`` (a file beside the database, shared by every process: API, workers, CLI),
    taken with a bounded wait. ``flock`` itself has no timeout, so a contended lock is waited for by one helper
    thread per process doing the blocking ``flock``; the caller waits for the helper's word at most its timeout.
    An uncontended lock costs one non-blocking ``flock``, and a waiter is still woken by the kernel the moment the
    lock is free (no polling). A lock the helper gets after its caller gave up is released at once, or handed to
    the next caller of this process if one already waits."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._state = threading.Condition()
        self._waiting = 0  # callers waiting for the helper (at most one: callers hold the thread lock)
        self._wanted = False  # the helper should wait for the lock
        self._busy = False  # the helper is in flock or holds the lock: the descriptor is not the caller's to try
        self._handed = False  # the helper holds the lock for the waiting caller
        self._helper: threading.Thread | None = None
        self._closed = False

    def acquire(self, timeout: float | None) -> bool:
        """Take the lock (the caller holds the process's thread lock); False when ``timeout`` seconds passed
        first (None: wait without limit)."""
        with self._state:
            if not self._busy:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    pass
            self._waiting += 1
            self._wanted = True
            if self._helper is None:
                self._helper = threading.Thread(target=self._wait_for_lock, name="xihe-writer-lock", daemon=True)
                self._helper.start()
            self._state.notify_all()
            got = self._state.wait_for(lambda: self._handed, timeout)
            self._waiting -= 1
            if got:
                self._handed = False
                self._state.notify_all()
            if self._waiting == 0:
                self._wanted = False
            return got

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _wait_for_lock(self) -> None:
        """The helper: a blocking ``flock`` whenever a caller waits; the lock goes to that caller, or is released
        at once if it gave up meanwhile."""
        while True:
            with self._state:
                self._state.wait_for(lambda: self._wanted or self._closed)
                if self._closed:
                    return
                self._busy = True
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            with self._state:
                taken = False
                if self._waiting > 0 and not self._closed:
                    self._handed = True
                    self._state.notify_all()
                    self._state.wait_for(lambda: not self._handed or self._closed)
                    taken = not self._handed
                if not taken:
                    self._handed = False
                    fcntl.flock(self._fd, fcntl.LOCK_UN)  # its caller gave up meanwhile
                self._busy = False

    def close(self) -> None:
        with self._state:
            self._closed = True
            self._state.notify_all()
        if self._helper is None:  # a helper blocked in flock keeps the descriptor; the process is ending
            os.close(self._fd)


class Database:
    """The engines and session factories of one database; built once per process from the settings."""

    def __init__(self, url: str, *, idle_transaction_seconds: float = 0.0, write_wait_seconds: float = 0.0) -> None:
        """``idle_transaction_seconds`` (PostgreSQL; 0: never): the server ends a session of this process that sits
        idle inside a transaction that long. A process frozen mid-transaction (SIGSTOP, a paused VM) would otherwise
        hold its row locks for as long as it is frozen: the reaper skips locked rows, so the job it held stayed
        RUNNING, and every transaction waiting on those rows stalled with it (issue 18, the chaos suite).

        ``write_wait_seconds`` (0: no limit): how long a write waits for a lock another process holds -- SQLite's
        write lock (this machine's writer lock, then SQLite's busy wait), PostgreSQL's row and table locks
        (``lock_timeout``) -- before it fails with an ``OperationalError`` (:class:`WriteLockTimeout` on SQLite)."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.write_wait_seconds = write_wait_seconds
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(url, immediate=True,
                                               busy_seconds=write_wait_seconds or _NO_LIMIT_SECONDS)
            self.read_engine = _sqlite_engine(url, immediate=False, busy_seconds=READ_BUSY_SECONDS)
        else:
            options = [f"-c {name}={round(seconds * 1000)}"
                       for name, seconds in (("idle_in_transaction_session_timeout", idle_transaction_seconds),
                                             ("lock_timeout", write_wait_seconds)) if seconds > 0]
            connect_args = {"options": " ".join(options)} if options else {}
            self.write_engine = create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                                              connect_args=connect_args)
            self.read_engine = self.write_engine
        self._thread_lock = threading.Lock() if self.is_sqlite else None
        self._writer_lock: _WriterLock | None = None
        self._lock_path: str | None = None
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
        return cls(settings.resolved_database_url(), idle_transaction_seconds=settings.idle_transaction_seconds,
                   write_wait_seconds=settings.write_wait_seconds)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @contextmanager
    def write(self, *, wait: float | None = None) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception.

        ``wait`` (SQLite): how long to wait for the write lock this time, 0 for one try (a write that may be
        skipped, such as a token's last-use stamp); default ``write_wait_seconds``.

        On SQLite the threads of one process take a Python lock first: SQLite makes a blocked writer sleep in
        steps of 1 to 100 ms, so letting threads queue on a lock instead keeps latency in microseconds. Both
        locks together are waited for at most ``write_wait_seconds``.
        """
        if self._thread_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        with self._write_locks(wait), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _write_locks(self, wait: float | None) -> Iterator[None]:
        """This process's thread lock, then an exclusive ``flock`` on a file beside the database, shared by every
        process of this machine (API, workers, CLI): the kernel wakes a waiting writer the moment the lock is
        free, where SQLite's busy handler would sleep. Past ``write_wait_seconds``: :class:`WriteLockTimeout`."""
        assert self._thread_lock is not None
        bound = wait if wait is not None else (self.write_wait_seconds if self.write_wait_seconds > 0 else None)
        deadline = time.monotonic() + bound if bound is not None else None
        if not self._thread_lock.acquire(timeout=-1 if bound is None else bound):
            raise WriteLockTimeout(bound or 0.0)
        try:
            if self._lock_path is not None:
                if self._writer_lock is None:
                    self._writer_lock = _WriterLock(self._lock_path)
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self._writer_lock.acquire(left):
                    raise WriteLockTimeout(bound or 0.0)
                try:
                    yield
                finally:
                    self._writer_lock.release()
            else:
                yield
        finally:
            self._thread_lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (rolled back at the end)."""
        with self._read() as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection for a read that builds no ORM object: cheaper than a session (no session, no identity
        map) for a query repeated on every database change, such as the long-poll watcher's."""
        with self.read_engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        if self._notifier is not None:
            self._notifier.close()
            self._notifier = None
        if self._writer_lock is not None:
            self._writer_lock.close()
            self._writer_lock = None
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
