"""What a plain ``POST /jobs`` does no more of (issue 13, the API's CPU a job under service load).

Counted, never timed: the request body is hashed only for an ``Idempotency-Key``, and a native request's route is
found without walking quafu-sdk's own routes (FastAPI checks candidates in order, each check on every request).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.routing import Match

from xihe.app import create_app
from xihe.service import submit as submit_module
from xihe.service.catalog import DeviceCatalog
from xihe.service.db import Database
from xihe.service.models import User
from xihe.service.repositories import users
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import submit_job

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
SDK_MODULES = ("xihe.service.api.routes.quafu_sdk", "xihe.service.api.routes.quafu_sdk_devices",
               "xihe.service.api.routes.oauth")


@pytest.fixture
def user(database: Database) -> User:
    with database.write() as session:
        return users.create_user(session, "submitter", password="submitter-password-1")


def count_body_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    real = submit_module.body_hash
    seen: list[str] = []

    def counting(request: JobCreate) -> str:
        seen.append(real(request))
        return seen[-1]

    monkeypatch.setattr(submit_module, "body_hash", counting)
    return seen


def test_a_submit_hashes_its_body_only_for_an_idempotency_key(settings: Settings, database: Database, user: User,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    hashes = count_body_hashes(monkeypatch)
    catalog = DeviceCatalog()
    request = JobCreate(qasm=BELL, backend="sim", shots=10, seed=1)
    with database.write() as session:
        assert submit_job(session, settings, catalog, user, request).created
    assert hashes == []  # no key: nothing to compare the body with later
    with database.write() as session:
        first = submit_job(session, settings, catalog, user, request, idempotency_key="k-1")
    with database.write() as session:
        replay = submit_job(session, settings, catalog, user, request, idempotency_key="k-1")
    assert first.created and not replay.created and replay.job.id == first.job.id
    assert len(hashes) == 2 and hashes[0] == hashes[1]


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with database.write() as session:
        token = users.create_token(session, users.create_user(session, "router")).secret
    with TestClient(create_app(settings, database=database)) as test_client:
        yield test_client, {"Authorization": f"Bearer {token}"}


def test_a_native_request_is_routed_without_walking_quafu_sdk_routes(client: tuple[TestClient, dict[str, str]],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    test_client, headers = client
    checked: list[tuple[str, str]] = []
    real = APIRoute.matches

    def recording(route: APIRoute, scope: Any) -> tuple[Match, Any]:
        checked.append((route.endpoint.__module__, route.endpoint.__name__))
        return real(route, scope)

    monkeypatch.setattr(APIRoute, "matches", recording)
    answer = test_client.get("/api/v1/jobs/0123456789abcdef", headers=headers)
    assert answer.status_code == 404, answer.text
    sdk_checked = {name for module, name in checked if module in SDK_MODULES}
    # Only the two operations quafu-sdk shares with the native API come before the native routes. Before, all 16
    # quafu-sdk routes (devices, calibrations, oauth, its job tasks and stats) were checked first on every request.
    assert sdk_checked <= {"submit", "cancel"}, sdk_checked
    assert ("xihe.service.api.routes.jobs", "get") in checked

    # quafu-sdk's own requests still reach it: its shared submit answers an SDK body, its other routes still match.
    checked.clear()
    sdk_job = test_client.post("/api/v1/jobs", headers=headers, json={
        "mode": "single", "target": "sim", "shots": 10, "circuits": [{"qasm": BELL}]})
    assert sdk_job.status_code == 201, sdk_job.text
    assert "task_ids" in sdk_job.json()
    assert test_client.get(f"/api/v1/jobs/{sdk_job.json()['job_id']}/status", headers=headers).status_code == 200


def test_a_request_looks_its_token_up_without_an_orm_session(client: tuple[TestClient, dict[str, str]],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Two token lookups a job (its submit and its long poll): each on a Core connection, not in an ORM session
    opened and closed around one prebuilt statement (issue 13)."""
    test_client, headers = client
    real = users.authenticate_token
    sources: list[object] = []

    def recording(source: Any, secret: str, **kwargs: Any) -> Any:
        sources.append(source)
        return real(source, secret, **kwargs)

    monkeypatch.setattr(users, "authenticate_token", recording)
    job = test_client.post("/api/v1/jobs", headers=headers, json={"qasm": BELL, "backend": "sim", "shots": 10})
    assert job.status_code == 201, job.text
    assert test_client.get(f"/api/v1/jobs/{job.json()['id']}", headers=headers).status_code == 200
    assert len(sources) == 2
    assert not any(isinstance(source, Session) for source in sources), sources
    # A bad token is still refused (the lookup's rules are the same on a connection).
    assert test_client.get("/api/v1/jobs", headers={"Authorization": "Bearer qf_nope"}).status_code == 401
