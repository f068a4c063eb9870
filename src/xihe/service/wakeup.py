"""Wake-ups between processes, so an idle worker claims a new job (and a long poll returns) within milliseconds.

- SQLite (one machine): each waiting process binds a Unix datagram socket in a folder named after the database
  (:class:`SocketWakeup`); a process that commits a new job (or finishes one) sends a byte to every socket of
  the channel after the commit (:class:`SocketNotifier`). Waiting costs no CPU.
- PostgreSQL (several machines): ``LISTEN``/``NOTIFY``. Submits notify :data:`JOBS_CHANNEL`, finished jobs
  :data:`DONE_CHANNEL` (see :func:`xihe.service.repositories.queue.notify`).

A wake-up is only a hint: every waiter re-reads the database, and every wait has a timeout, so a lost
notification costs latency, never correctness.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import select
import socket
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from typing import Protocol

JOBS_CHANNEL = "xihe_jobs"
DONE_CHANNEL = "xihe_done"


class Wakeup(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until something changed (True) or ``timeout`` seconds passed (False)."""

    def close(self) -> None: ...


def socket_folder(database_path: str) -> Path:
    """The folder of one SQLite database's wake-up sockets (short, under the temp folder: Unix socket paths are
    limited to about 100 bytes)."""
    digest = hashlib.sha256(os.path.abspath(database_path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"xihe-wake-{digest}"


class SocketWakeup:
    def __init__(self, folder: Path, channel: str) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = folder / f"{channel}-{os.getpid()}-{secrets.token_hex(3)}.sock"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(self.path))
        self._socket.setblocking(False)

    def wait(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._socket], [], [], max(0.0, timeout))
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError):
            while self._socket.recv(64):
                pass
        return True

    def close(self) -> None:
        self._socket.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(OSError):  # the last one out removes the folder
            self.path.parent.rmdir()


class SocketNotifier:
    """Sends wake-ups to every socket of a channel; forgets sockets whose process is gone."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._listing: dict[str, tuple[float, list[str]]] = {}

    def _targets(self, channel: str) -> list[str]:
        stamp, paths = self._listing.get(channel, (0.0, []))
        if time.monotonic() - stamp > 1.0:
            try:
                paths = [str(p) for p in self.folder.glob(f"{channel}-*.sock")]
            except OSError:
                paths = []
            self._listing[channel] = (time.monotonic(), paths)
        return paths

    def send(self, channel: str) -> None:
        for path in self._targets(channel):
            try:
                self._socket.sendto(b"!", path)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    os.unlink(path)  # its process died without cleaning up
                self._listing.pop(channel, None)
            except (BlockingIOError, OSError):
                pass  # a full queue already holds a wake-up

    def close(self) -> None:
        self._socket.close()


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


def _sqlite_file(url: str) -> str | None:
    """The database file of a SQLite URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path if path and path != ":memory:" else None


def forget_processes(url: str, pids: Collection[int]) -> None:
    """Remove the wake-up sockets that ended processes left (a worker killed before it could close its own), then
    the database's socket folder if nothing else uses it: a stopped server leaves nothing under the temp folder."""
    path = _sqlite_file(url)
    if path is None:
        return
    folder = socket_folder(path)
    for pid in pids:
        for stale in folder.glob(f"*-{pid}-*.sock"):
            with contextlib.suppress(OSError):
                stale.unlink()
    with contextlib.suppress(OSError):  # still in use (the API's own socket, another server): kept
        folder.rmdir()


def wakeup_for(url: str, channel: str) -> Wakeup:
    """The wake-up source for a database URL (SQLAlchemy form)."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        return SocketWakeup(socket_folder(path), channel) if path else SleepWakeup()
    if url.startswith("postgresql"):
        return PostgresWakeup(url, channel)
    return SleepWakeup()
