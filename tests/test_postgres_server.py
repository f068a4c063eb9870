"""The tests' PostgreSQL (``tests/postgres.py``): a private server started from the pgserver wheel when
``XIHE_TEST_DATABASE_URL`` is not set, on a free port other than the machine's 5432, torn down without a trace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests import postgres
from tests.paths import REPO

pytestmark = pytest.mark.postgres


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_private_server_runs_in_its_own_folder_on_a_free_port_and_leaves_nothing() -> None:
    server = postgres.PrivateServer.start()
    try:
        assert server.port != 5432
        assert server.admin_url.startswith("postgresql://postgres@127.0.0.1:")
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            data_directory = conn.execute("SHOW data_directory").fetchone()
            port = conn.execute("SHOW port").fetchone()
            conn.execute('CREATE DATABASE "scratch"')
        assert data_directory is not None and Path(data_directory[0]).parent == server.folder
        assert port is not None and int(port[0]) == server.port
        with psycopg.connect(postgres.database_url(server.admin_url, "scratch").replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("scratch",)
    finally:
        server.stop()
    assert not server.folder.exists()
    assert server.process.poll() is not None
    assert not _answers(server.admin_url)


def test_without_the_variable_the_tests_use_the_private_server() -> None:
    if postgres.configured_url() is not None:
        # This run was pointed at a server: that one is used, as configured.
        assert postgres.admin_url() == postgres.configured_url()
        return
    url = postgres.admin_url()
    assert ":5432/" not in url
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None and Path(row[0]).name == "data" and Path(row[0]).parent.name.startswith("xihe-test-pg-")


def test_the_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(postgres.ENV, "postgresql+psycopg://someone@db.example:6543/admin?sslmode=require")
    assert postgres.admin_url() == "postgresql://someone@db.example:6543/admin?sslmode=require"
    assert (postgres.database_url(postgres.admin_url(), "xihe_test_1")
            == "postgresql+psycopg://someone@db.example:6543/xihe_test_1?sslmode=require")


def test_a_killed_test_process_leaves_no_server_behind() -> None:
    code = ("import json, time\nfrom tests import postgres\n"
            "s = postgres.PrivateServer.start()\n"
            "print(json.dumps({'pid': s.process.pid, 'folder': str(s.folder), 'url': s.admin_url}), flush=True)\n"
            "time.sleep(600)\n")
    env = {k: v for k, v in os.environ.items() if k != postgres.ENV}
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        started = json.loads(child.stdout.readline())
        assert _answers(started["url"])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 120
    while (_alive(started["pid"]) or Path(started["folder"]).exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(started["pid"]) and not Path(started["folder"]).exists()
