"""Chaos, seeded (issue 18): under a mixed load of jobs that finish and jobs cancelled while queued or running,
worker processes are killed with kill -9 at random moments (the supervisor starts fresh ones). Afterwards every
accepted job has ended exactly once: DONE with its one correct result, CANCELLED with none, or FAILED with its
reason (a job killed on each of its attempts); none is lost, none is stored twice."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
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
    worker_pids,
)

SEED = 18
NUM_JOBS = 24
NUM_CANCELS = 6
NUM_FAULTS = 4
NUM_QUBITS = 10
SHOTS = 200


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    if request.param == "sqlite":
        yield None
    else:
        with fresh_postgres_database() as url:
            yield url


def test_kill_9_of_workers_at_random_moments_ends_every_job_exactly_once(tmp_path: Path,
                                                                          database_url: str | None) -> None:
    rng = random.Random(SEED)
    env = server_env(tmp_path, database_url, WORKERS="2", LEASE_SECONDS="2", HEARTBEAT_SECONDS="0.3")
    if database_url:
        run_xihe("db", "upgrade", env=env)
    server = Server(tmp_path, env).start()
    expected: dict[str, str] = {}
    faults = 0
    try:
        with server.client() as client:
            actions = ["kill"] * NUM_FAULTS + ["cancel"] * NUM_CANCELS
            rng.shuffle(actions)
            cancelled_ok: set[str] = set()

            def act(action: str) -> None:
                nonlocal faults
                time.sleep(rng.uniform(0.05, 0.5))
                if action == "cancel":
                    job_id = rng.choice(sorted(set(expected) - cancelled_ok))
                    answer = client.post(f"/jobs/{job_id}/cancel")
                    if answer.status_code == 200 and answer.json()["status"] in ("CANCELLED", "RUNNING"):
                        cancelled_ok.add(job_id)  # accepted: it must end CANCELLED
                    return
                workers = worker_pids(server)
                if workers:
                    os.kill(rng.choice(sorted(workers)), signal.SIGKILL)
                    faults += 1

            # The faults and cancels land while jobs are still being submitted and run: one after every second
            # submission once a few jobs are queued, the rest after the last.
            for index in range(NUM_JOBS):
                value = rng.randrange(2**NUM_QUBITS)
                layers = rng.choice((4, 10, 20))
                response = client.post("/jobs", json={"qasm": slow_basis_state_qasm(value, NUM_QUBITS, layers),
                                                      "backend": "sim", "shots": SHOTS, "seed": index})
                assert response.status_code == 201, response.text
                expected[response.json()["id"]] = format(value, f"0{NUM_QUBITS}b")
                if index >= 4 and index % 2 == 0 and actions:
                    act(actions.pop())
            while actions:
                act(actions.pop())
            final = wait_all(client, list(expected), timeout=300)
    finally:
        server.stop()
    url = database_url or f"sqlite:///{tmp_path / 'xihe.db'}"
    stored = job_rows(url, list(expected))
    assert faults >= NUM_FAULTS - 1, "the workers were not found to kill"
    assert len(stored) == NUM_JOBS  # none lost
    for job_id, bits in expected.items():
        job, row = final[job_id], stored[job_id]
        assert row["status"] == job["status"], (job, row)
        if job_id in cancelled_ok:
            assert job["status"] == "CANCELLED" and row["results"] == 0, (job, row)
        elif job["status"] == "DONE":
            assert row["results"] == 1 and job["result"]["counts"] == {bits: SHOTS}, (job, row)  # exactly once
            assert row["outcomes"].count("DONE") == 1
        else:
            assert job["status"] == "FAILED" and job["error"]["detail"], (job, row)
            assert row["results"] == 0 and row["outcomes"].count("LOST") == row["attempts"], (job, row)
    print(f"chaos: {NUM_JOBS} jobs, {faults} kill -9s, {len(cancelled_ok)} cancels accepted; "
          f"DONE {sum(1 for j in final.values() if j['status'] == 'DONE')}, lost 0, duplicated 0")
