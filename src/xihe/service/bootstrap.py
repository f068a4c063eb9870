"""First-start chores of ``xihe serve``: migrations on the embedded default, the demo user, calibrations."""

from __future__ import annotations

from dataclasses import dataclass

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
    if current != head:
        return f"database schema is at {current or 'nothing'}, expected {head}: run `xihe db upgrade`"
    return None
