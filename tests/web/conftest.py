"""A real app (``create_app``) on a throw-away SQLite database, driven over HTTPS by Starlette's test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from xihe.app import create_app
from xihe.service.db import Database
from xihe.service.migrate import upgrade
from xihe.service.repositories import users
from xihe.service.settings import Settings
from xihe.service.worker import Worker

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-1"}


class Site:
    """The app, its database and settings; ``client(name)`` gives a logged-in browser-like client."""

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.app = create_app(settings, database=database)
        self._clients: list[TestClient] = []

    def anonymous(self) -> TestClient:
        client = TestClient(self.app, base_url="https://testserver")
        client.__enter__()
        self._clients.append(client)
        return client

    def client(self, name: str, password: str | None = None) -> TestClient:
        client = self.anonymous()
        response = log_in(client, name, password or PASSWORDS[name])
        assert response.status_code == 303, response.text
        return client

    def run_jobs(self) -> None:
        """Run every queued job in this process with the service's own worker loop."""
        worker = Worker(self.settings, self.database)
        while worker.run_once():
            pass

    def close(self) -> None:
        for client in self._clients:
            client.__exit__(None, None, None)


def login_csrf(client: TestClient) -> str:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def log_in(client: TestClient, name: str, password: str, next_path: str = "/backends"):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"name": name, "password": password, "csrf_token": login_csrf(client),
                                       "next": next_path}, follow_redirects=False)


def page_csrf(client: TestClient, path: str = "/account") -> str:
    match = re.search(r'data-csrf="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("xihe-web")
    settings = Settings(data_dir=data_dir, workers=1, memory_budget_bytes=2**30)
    database = Database.from_settings(settings)
    upgrade(database)
    with database.write() as session:
        users.create_user(session, "alice", role="admin", password=PASSWORDS["alice"])
        users.create_user(session, "bob", role="user", password=PASSWORDS["bob"])
    site = Site(settings, database)
    yield site
    site.close()
    database.dispose()


@pytest.fixture(scope="module")
def alice(site: Site) -> TestClient:
    return site.client("alice")


@pytest.fixture(scope="module")
def bob(site: Site) -> TestClient:
    return site.client("bob")

