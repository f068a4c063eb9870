"""Run the Alembic migrations (``xihe db upgrade``; ``xihe serve`` on the embedded default)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from xihe.service.db import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# pg_advisory_xact_lock key of migrations ("ximg"): replicas that run ``xihe db upgrade`` together queue on it.
MIGRATION_LOCK_KEY = 0x7869_6D67


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the database to ``revision``. Concurrent callers never race: on SQLite the write lock serialises
    them; on PostgreSQL a transaction-level advisory lock does (the DDL runs in that same transaction, so the
    next caller finds the schema at head and does nothing)."""
    with database.write_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config = alembic_config(database.url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.read_engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
