"""Fixtures: a migrated throw-away database, once on SQLite and once on the machine's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.service.helpers import fresh_postgres_database
from xihe.service.db import Database
from xihe.service.migrate import upgrade
from xihe.service.models import Base
from xihe.service.settings import Settings


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        database = Database(url)
        upgrade(database)
        database.dispose()
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(Settings(data_dir=tmp_path).resolved_database_url())
        upgrade(db)
    else:
        db = Database(request.getfixturevalue("postgres_url"))
        with db.write() as session:
            names = ", ".join(table.name for table in Base.metadata.sorted_tables)
            session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield db
    db.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, lease_seconds=5, memory_budget_bytes=2**30)
