"""Nothing accepted is lost: 200 jobs, kill -9 of the server and its workers mid-run, restart, all DONE once."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.service.helpers import (
    Server,
    fresh_postgres_database,
    job_rows,
    run_xihe,
    server_env,
    slow_basis_state_qasm,
    wait_all,
)

NUM_JOBS = 200
NUM_QUBITS = 10
SHOTS = 500


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        with fresh_postgres_database() as url:
            yield url


def _group_alive(pgid: int, grace: float = 10.0) -> bool:
    """True if a process of the group still exists after ``grace`` seconds (SIGKILL delivery is asynchronous)."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    return True


def test_kill_9_mid_run_loses_nothing(tmp_path: Path, database_url: str | None) -> None:
    env = server_env(tmp_path, database_url, WORKERS="2", LEASE_SECONDS="2", HEARTBEAT_SECONDS="0.3")
    if database_url:
        run_xihe("db", "upgrade", env=env)
    server = Server(tmp_path, env).start()
    assert server.token
    expected: dict[str, str] = {}
    try:
        with server.client() as client:
            def submit(index: int) -> tuple[str, str]:
                value = (index * 37) % 2**NUM_QUBITS
                response = client.post("/jobs", json={"qasm": slow_basis_state_qasm(value, NUM_QUBITS, 12),
                                                      "backend": "sim", "shots": SHOTS, "seed": index})
                assert response.status_code == 201, response.text
                return response.json()["id"], format(value, f"0{NUM_QUBITS}b")

            with ThreadPoolExecutor(8) as pool:
                expected = dict(pool.map(submit, range(NUM_JOBS)))
            assert len(expected) == NUM_JOBS
            deadline = time.monotonic() + 60
            while client.get("/jobs", params={"status": "DONE", "limit": 1}).json()["total"] < 10:
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.02)
    finally:
        assert server.process is not None
        pgid = server.process.pid
        server.kill()
    assert not _group_alive(pgid), "a worker survived kill -9 of its group"
    url = database_url or f"sqlite:///{tmp_path / 'xihe.db'}"
    at_kill = job_rows(url, list(expected))
    done_at_kill = sum(1 for row in at_kill.values() if row["status"] == "DONE")
    running_at_kill = [job_id for job_id, row in at_kill.items() if row["status"] == "RUNNING"]
    assert done_at_kill < NUM_JOBS, "the kill came after the end: not a mid-run crash"

    restarted = Server(tmp_path, env, port=server.port).start()
    try:
        with restarted.client(server.token) as client:
            final = wait_all(client, list(expected), timeout=180)
    finally:
        restarted.stop()
    for job_id, bits in expected.items():
        job = final[job_id]
        assert job["status"] == "DONE", job
        assert job["result"]["counts"] == {bits: SHOTS}
    stored = job_rows(url, list(expected))
    assert all(row["results"] == 1 for row in stored.values())  # written exactly once
    assert all(row["status"] == "DONE" and 1 <= row["attempts"] <= 3 for row in stored.values())
    for job_id in running_at_kill:  # a job cut off mid-run was put back by lease expiry and finished later
        assert stored[job_id]["outcomes"][0] == "LOST" and stored[job_id]["outcomes"][-1] == "DONE"
