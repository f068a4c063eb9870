"""First-start chores of ``xihe serve``: migrations on the embedded default, the demo user, calibrations."""

from __future__ import annotations

import errno
import socket
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from xihe.service.db import Database
from xihe.service.repositories import users
from xihe.service.security import new_password
from xihe.service.settings import Settings


@dataclass(frozen=True)
class DemoCredentials:
    name: str
    password: str
    token: str


def ensure_demo_user(database: Database, settings: Settings) -> DemoCredentials | None:
    """Create the demo user if the database has no user yet; its password and token exist only in the return."""
    if not settings.create_demo_user:
        return None
    with database.write() as session:
        if users.list_users(session):
            return None
        password = new_password()
        user = users.create_user(session, settings.demo_user, role="admin", password=password)
        issued = users.create_token(session, user, name="demo")
        return DemoCredentials(name=user.name, password=password, token=issued.secret)


def check_schema(database: Database) -> str | None:
    """None if the database is at the latest migration, else a message telling the operator what to run."""
    from alembic.script import ScriptDirectory

    from xihe.service.migrate import alembic_config, current_revision

    head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
    current = current_revision(database)
    if current is None:
        return _no_schema(database.url)
    if current != head:
        return f"database schema is at {current}, expected {head}: run `xihe db upgrade`"
    return None


def _where(url: str) -> str:
    """The database a URL names, for messages: the SQLite file, else ``host:port/name`` (never the password)."""
    return _sqlite_file(url) or url.split("@")[-1]


def _no_schema(url: str) -> str:
    """What an operator command says of a database server's database that holds no Xihe schema yet."""
    return f"no Xihe schema in the database {_where(url)} (XIHE_DATABASE_URL): run `xihe db upgrade`"


def unreachable_database(settings: Settings) -> str | None:
    """A one-line message when the settings' database server cannot be reached, else None.

    A PostgreSQL URL with a typo, a database not yet created or a server that is down made every operator command
    (``serve``, ``worker``, ``users``, ``db``) print a 470-line traceback; this says which database and why, in the
    driver's words. SQLite needs no check: its file is opened, or reported missing, by the callers.
    """
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        return None
    database = Database(url)
    try:
        with database.read_engine.connect():
            return None
    except DBAPIError as exc:
        reason = " ".join(str(exc.orig or exc).split())
        return f"cannot reach the database {_where(url)} (XIHE_DATABASE_URL): {reason}"
    finally:
        database.dispose()


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (None for another dialect or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return None if not path or path == ":memory:" else path


def _sqlite_has_schema(path: Path) -> bool:
    """True if ``path`` is a SQLite file with Xihe's migration table, read without writing a byte to it."""
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)) as connection:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def missing_database(settings: Settings) -> str | None:
    """A one-line message when the settings' database holds no Xihe schema, checked without creating anything.

    Operator commands (``xihe users``, ``agent-token``, ``db current``) call this first: run from the wrong folder
    they must say where they looked, not create an empty ``.xihe-data/xihe.db`` there and fail on a missing table.
    """
    url = settings.resolved_database_url()
    path = _sqlite_file(url)
    if path is not None:
        message = f"no Xihe database at {path}; pass --data-dir or set XIHE_DATA_DIR"
        return None if _sqlite_has_schema(Path(path)) else message
    from xihe.service.migrate import current_revision

    unreachable = unreachable_database(settings)
    if unreachable:
        return unreachable
    database = Database(url)
    try:
        if current_revision(database) is None:  # the folder options have nothing to do with it here
            return _no_schema(url)
    finally:
        database.dispose()
    return None


def port_problem(host: str, port: int) -> str | None:
    """None if ``host:port`` can be bound now, else a one-line message (checked before ``serve`` changes anything)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is in use; choose --port"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None
