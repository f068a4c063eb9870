"""Operator commands pointed at PostgreSQL (``XIHE_DATABASE_URL``, docs/deploy.md) answer a database that cannot
be reached, or holds no Xihe schema yet, in one line that names the database and what to do.

Found following docs/deploy.md as a new operator: a database not yet created (or a typo in its name, or a server
that is down) made ``xihe users``, ``db``, ``agent-token``, ``worker`` and ``serve`` print a 470-line traceback,
and an empty database was answered ``pass --data-dir or set XIHE_DATA_DIR``, which has nothing to do with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.helpers import free_port, fresh_postgres_database

pytestmark = pytest.mark.postgres

COMMANDS = [("users", "list"), ("users", "add", "ada"), ("agent-token", "--device", "line10"), ("db", "current"),
            ("db", "upgrade"), ("worker", "--processes", "1"), ("serve", "--no-workers", "--port", "0")]


@pytest.fixture(scope="module")
def empty_database() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


def xihe(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env |= {"HOME": str(tmp_path), "XIHE_DATABASE_URL": database_url, "COLUMNS": "100", "NO_COLOR": "1"}
    args = tuple(str(free_port()) if a == "0" else a for a in args)
    return subprocess.run([sys.executable, "-c", "from xihe.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    return done.stderr.strip()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_database_that_does_not_exist_is_named_in_one_line(empty_database: str, tmp_path: Path,
                                                             command: tuple[str, ...]) -> None:
    base, _, name = empty_database.rpartition("/")
    missing = f"{base}/{name}_not_created"
    message = one_line_error(xihe(missing, tmp_path, *command))
    where = missing.split("@")[-1]
    assert message.startswith(f"error: cannot reach the database {where} (XIHE_DATABASE_URL): "), message
    assert f'database "{name}_not_created" does not exist' in message


def test_a_server_that_is_down_is_named_in_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    message = one_line_error(xihe(f"postgresql+psycopg://xihe:secret-pw@127.0.0.1:{port}/xihe", tmp_path,
                                  "users", "list"))
    assert message.startswith(f"error: cannot reach the database 127.0.0.1:{port}/xihe (XIHE_DATABASE_URL): ")
    assert "secret-pw" not in message


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[:2] != ("db", "upgrade")])
def test_an_empty_database_asks_for_the_migration(empty_database: str, tmp_path: Path,
                                                  command: tuple[str, ...]) -> None:
    message = one_line_error(xihe(empty_database, tmp_path, *command))
    where = empty_database.split("@")[-1]
    assert message == f"error: no Xihe schema in the database {where} (XIHE_DATABASE_URL): run `xihe db upgrade`"
