"""The login throttle is shared by API replicas: two app instances on one database (SQLite file, PostgreSQL) see
the same failure counts, so a guesser spreading tries over replicas still pauses, and the owner from a fresh
address still logs in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.service.helpers import fresh_postgres_database
from tests.web.conftest import log_in
from xihe.app import create_app
from xihe.service.db import Database
from xihe.service.migrate import upgrade
from xihe.service.repositories import users
from xihe.service.settings import Settings

PASSWORD = "ivy-password-1"


def _replica(settings: Settings, address: str) -> tuple[TestClient, Database]:
    """One more API process on the same database, and a client connecting to it from ``address``."""
    database = Database.from_settings(settings)
    client = TestClient(create_app(settings, database=database), base_url="https://testserver",
                        client=(address, 40000))
    client.__enter__()
    return client, database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path, workers=1)
        return
    with fresh_postgres_database() as url:
        yield Settings(data_dir=tmp_path, workers=1, database_url=url)


def test_failures_on_one_replica_pause_the_same_guesser_on_another(settings: Settings) -> None:
    setup = Database.from_settings(settings)
    upgrade(setup)
    with setup.write() as session:
        users.create_user(session, "ivy", password=PASSWORD)
    first, first_db = _replica(settings, "198.51.100.40")
    second, second_db = _replica(settings, "198.51.100.40")
    owner, owner_db = _replica(settings, "203.0.113.40")
    try:
        for i in range(10):  # the guesser alternates between the two replicas
            replica = first if i % 2 else second
            assert log_in(replica, "ivy", "guess").status_code == 401
        for replica in (first, second):
            paused = log_in(replica, "ivy", PASSWORD)
            assert paused.status_code == 429 and int(paused.headers["retry-after"]) > 0
        assert log_in(owner, "ivy", PASSWORD).status_code == 303  # never a lockout of the owner elsewhere
    finally:
        for client, database in ((first, first_db), (second, second_db), (owner, owner_db)):
            client.__exit__(None, None, None)
            database.dispose()
        setup.dispose()
