"""``/health`` (issue 18): only the status for anyone, details (database, version, queued and running jobs) for a
client in ``XIHE_METRICS_NETWORKS`` or an admin's token, the same rule as ``/metrics``; it answers while every
thread of the API's request pool is taken by blocked requests (before, it queued behind them); the local workers
run nicer than the API process, so a simulation does not delay its answers; and a job's record is read without its
stored program text (decoded on the event loop for every poll before)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.helpers import BELL, Server, child_pids, run_xihe, server_env
from tests.service.test_hostile_inputs import WriterLockHeld

OUTSIDE = {"X-Forwarded-For": "203.0.113.7"}  # a client outside the metrics network, through the trusted proxy
# More than the request thread pool holds (AnyIO's default: 40 threads).
BLOCKED_SUBMITS = 48


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-health")
    env = server_env(data_dir, WORKERS="1", METRICS_NETWORKS="127.0.0.1", TRUSTED_PROXIES="127.0.0.1",
                     RATE_LIMIT_PER_SECOND="100000", RATE_LIMIT_BURST="100000")
    srv = Server(data_dir, env).start()
    yield srv
    srv.stop()


def test_anyone_gets_the_status_only(server: Server) -> None:
    for path in ("/api/v1/health", "/health"):
        response = httpx.get(f"{server.url}{path}", headers=OUTSIDE)
        assert response.status_code == 200 and response.json() == {"status": "ok"}, response.text
    user = run_xihe("users", "add", "health-reader-not-admin", env=server.env).splitlines()[-1]
    plain = httpx.get(f"{server.url}/api/v1/health", headers={**OUTSIDE, "Authorization": f"Bearer {user}"})
    assert plain.json() == {"status": "ok"}
    bad = httpx.get(f"{server.url}/api/v1/health", headers={**OUTSIDE, "Authorization": "Bearer qf_not_a_token"})
    assert bad.status_code == 401  # a presented token is checked (and throttled) like anywhere else


def test_admins_and_the_metrics_network_see_the_details(server: Server) -> None:
    admin = httpx.get(f"{server.url}/api/v1/health", headers={**OUTSIDE, "Authorization": f"Bearer {server.token}"})
    inside = httpx.get(f"{server.url}/api/v1/health")  # 127.0.0.1 is the metrics network here
    for response in (admin, inside):
        body = response.json()
        assert response.status_code == 200 and body["status"] == "ok" and body["database"] == "sqlite", body
        assert {"version", "queued", "running"} <= set(body)


def test_health_answers_while_every_request_thread_is_blocked(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=120) as client:
        client.get("/api/v1/jobs").raise_for_status()  # the token's last-use stamp: written now, not under the lock
        httpx.get(f"{server.url}/api/v1/health", headers=OUTSIDE).raise_for_status()
        answers: list[int] = []
        submits = [threading.Thread(target=lambda: answers.append(client.post(
            "/api/v1/jobs", json={"backend": "sim", "qasm": BELL, "shots": 10}).status_code), daemon=True)
            for _ in range(BLOCKED_SUBMITS)]
        with WriterLockHeld(server):  # each submit waits for the write lock on a request thread
            for thread in submits:
                thread.start()
            # Liveness only: the pool is full once a plain request (also a pool thread) no longer answers.
            saturated = False
            for _ in range(60):
                try:
                    client.get("/api/v1/jobs", timeout=2)
                except httpx.TimeoutException:
                    saturated = True
                    break
            assert saturated, "the request pool never filled up"
            try:
                health = httpx.get(f"{server.url}/api/v1/health", headers=OUTSIDE, timeout=30)
            except httpx.TimeoutException:
                health = None
        for thread in submits:
            thread.join(120)
    assert health is not None, "/health waited for the request thread pool"
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert answers == [201] * BLOCKED_SUBMITS


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_local_workers_run_nicer_than_the_api(server: Server) -> None:
    assert server.process is not None
    # ``xihe serve`` runs the API in its own process; its children are the workers (a python each).
    workers = [pid for pid in child_pids(server.process.pid)
               if "xihe.service.worker" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert workers, child_pids(server.process.pid)
    api = niceness(server.process.pid)
    assert all(niceness(pid) >= api + 10 for pid in workers), [(pid, niceness(pid)) for pid in workers]


def test_a_jobs_record_and_long_poll_never_read_its_stored_program(server: Server) -> None:
    """A job's stored request (the programs' text: megabytes for a long circuit) was decoded for every poll of its
    record, on the event loop on SQLite; the record and its long poll now leave it unread. Shown with a finished
    job whose stored request is made unreadable: its record still answers."""
    auth = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers=auth, timeout=60) as client:
        job = client.post("/jobs", json={"backend": "sim", "qasm": BELL, "shots": 10}).json()
        assert client.get(f"/jobs/{job['id']}", params={"wait": 60}).json()["status"] == "DONE"
        with sqlite3.connect(server.data_dir / "xihe.db") as db:
            db.execute("UPDATE jobs SET payload = 'not json' WHERE id = ?", (job["id"],))
        record = client.get(f"/jobs/{job['id']}", params={"wait": 1})
    assert record.status_code == 200, record.text
    assert record.json()["status"] == "DONE" and sum(record.json()["result"]["counts"].values()) == 10
