"""An agent's claim keeps its lease while the server compiles the job (found running docs/deploy.md's cluster:
a cold chip compile on a loaded machine outlasted the 15 s lease, a worker reaped the lease as a dead agent's, and
the job lost an attempt while the agent's claim was still waiting for its answer).

A real app (``create_app``) on a real database, driven by Starlette's test client through the agent API. The
compile is the real one, followed by a pause longer than the lease and then the reaper every worker runs
(``queue.requeue_expired``), as a worker on another machine would run it at that moment.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from xihe.app import create_app
from xihe.service.catalog import DeviceCatalog
from xihe.service.clock import utcnow
from xihe.service.cluster import agents
from xihe.service.db import Database
from xihe.service.models import JobAttempt
from xihe.service.repositories import queue, users
from xihe.service.retry import RetryPolicy
from xihe.service.settings import Settings

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
LEASE_SECONDS = 2.0


def test_a_compile_longer_than_the_lease_keeps_the_claim(database: Database, tmp_path: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path, lease_seconds=LEASE_SECONDS, heartbeat_seconds=0.2,
                        memory_budget_bytes=2**30)
    with database.write() as session:
        user = users.create_user(session, "operator", role="admin")
        token = users.create_token(session, user).secret
        device_token = agents.issue_device_token(session, DeviceCatalog(), "line10").secret
    real_compile = agents.compile_plan
    reaped: list[str] = []

    def slow_compile(*args: Any, **kwargs: Any) -> Any:
        plan = real_compile(*args, **kwargs)
        time.sleep(LEASE_SECONDS * 1.5)
        with database.write() as session:  # a worker elsewhere reaps expired leases now
            reaped.extend(queue.requeue_expired(session, now=utcnow(), policy=RetryPolicy(settings.max_attempts)))
        return plan

    monkeypatch.setattr(agents, "compile_plan", slow_compile)
    with TestClient(create_app(settings, database=database), base_url="https://testserver") as client:
        submitted = client.post("/api/v1/jobs", json={"qasm": BELL, "backend": "line10", "shots": 100, "seed": 1},
                                headers={"Authorization": f"Bearer {token}"})
        assert submitted.status_code == 201, submitted.text
        job_id = submitted.json()["id"]
        claimed = client.post("/api/v1/agents/line10/claim", json={"agent": "lab-pc"},
                              headers={"Authorization": f"Bearer {device_token}"})
    # Before, the lease expired mid-compile and was reaped: the claim tried again (another attempt lost) until
    # the job failed after its third attempt, and the agent got 204.
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["job_id"] == job_id
    assert claimed.json()["attempt"] == 1
    assert reaped == []
    with database.read() as session:
        outcomes = session.scalars(select(JobAttempt.outcome).where(JobAttempt.job_id == job_id)).all()
    assert list(outcomes) == [None]
