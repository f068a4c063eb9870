"""Two machines' worth of Xihe on one PostgreSQL: migrations run once by concurrent ``xihe db upgrade``s, two
stateless API replicas (``xihe serve --no-workers``), two ``xihe worker`` processes. A mixed load goes through
both replicas; one worker is killed with kill -9 while it holds a job; every accepted job ends DONE exactly once
with a correct result."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.service.helpers import (
    Server,
    basis_state_qasm,
    fresh_postgres_database,
    job_rows,
    run_xihe,
    server_env,
    slow_basis_state_qasm,
    wait_all,
    xihe_command,
)
from xihe import devices
from xihe.service import executor
from xihe.service.db import Database
from xihe.service.migrate import current_revision
from xihe.service.models import Job

pytestmark = pytest.mark.postgres

SWEEP = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nrx(theta) q[0];\ncx q[0],q[1];\n'
         "measure q -> c;\n")
GHZ = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\n'
       "measure q -> c;\n")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``xihe worker --processes 1`` in its own process group (its pid is the group id of its worker child)."""
    return subprocess.Popen(xihe_command("worker", "--processes", "1"), env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def running_owners(database_url: str) -> dict[str, str]:
    """RUNNING job id -> its lease owner (``host-pid-hex``)."""
    database = Database(database_url)
    try:
        with database.read() as session:
            return {job_id: str(owner) for job_id, owner in
                    session.execute(select(Job.id, Job.lease_owner).where(Job.status == "RUNNING")).all()}
    finally:
        database.dispose()


def process_group(lease_owner: str) -> int | None:
    with contextlib.suppress(ValueError, ProcessLookupError, IndexError):
        return os.getpgid(int(lease_owner.rsplit("-", 2)[1]))
    return None


def mixed_load() -> list[dict[str, Any]]:
    """Single circuits, batches, sweeps; ideal simulator, Clifford simulator and the exclusive line10 twin."""
    bodies: list[dict[str, Any]] = []
    for i in range(10):
        bodies.append({"qasm": basis_state_qasm(i * 37 % 64, 6), "backend": "sim", "shots": 64, "seed": i})
    for i in range(6):  # about a second each: the jobs a worker is killed in the middle of
        bodies.append({"qasm": slow_basis_state_qasm(5 + i, 12, 60), "backend": "sim", "shots": 32, "seed": 50 + i,
                       "name": "slow"})
    for i in range(4):
        bodies.append({"circuits": [basis_state_qasm(v, 4) for v in range(i, i + 5)], "backend": "sim",
                       "shots": 16, "seed": 100 + i})
    for i in range(4):
        bodies.append({"qasm": SWEEP, "backend": "sim", "shots": 200, "seed": 200 + i,
                       "parameters": [{"theta": 0.3 * k} for k in range(6)]})
    for i in range(3):
        bodies.append({"qasm": GHZ, "backend": "sim-clifford", "shots": 300, "seed": 300 + i})
    for i in range(4):
        bodies.append({"qasm": GHZ, "backend": "line10", "shots": 500, "seed": 400 + i})
    return bodies


def expected(body: dict[str, Any]) -> list[dict[str, int]]:
    """What a correct run of ``body`` gives: the worker path computed here, from the job's own seeds."""
    payload = {"circuits": [body["qasm"]] if "qasm" in body else body["circuits"], "seed": body["seed"],
               "parameters": body.get("parameters"), "compile": True, "optimization_level": 2}
    items = executor.work_items(payload, body["shots"])
    return [r["counts"] for r in executor.run_items(devices.get(body["backend"]), items, lambda: False)]


def test_two_replicas_two_workers_kill9(postgres_url: str, tmp_path: Path) -> None:
    env = server_env(tmp_path, postgres_url, lease_seconds="3", heartbeat_seconds="0.5")
    # Migrations, three at once (as replicas started together would): the advisory lock lets one run them.
    upgrades = [subprocess.Popen(xihe_command("db", "upgrade"), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT) for _ in range(3)]
    for process in upgrades:
        output = process.communicate(timeout=120)[0]
        assert process.returncode == 0, output
    database = Database(postgres_url)
    assert current_revision(database) is not None
    database.dispose()
    token = run_xihe("users", "add", "alice", env=env).splitlines()[-1]

    replicas = []
    for i in range(2):
        (tmp_path / f"api{i}").mkdir()
        replicas.append(Server(tmp_path / f"api{i}", env).start("--no-workers"))
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        clients = [replica.client(token) for replica in replicas]
        bodies = mixed_load()
        ids: list[str] = []
        for body, client in zip(bodies, itertools.cycle(clients), strict=False):
            response = client.post("/jobs", json=body)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])

        # kill -9 worker 0 (its supervisor and its worker process) while it runs one of the slow jobs.
        slow = {job_id for job_id, body in zip(ids, bodies, strict=True) if body.get("name") == "slow"}
        victim = workers[0]
        deadline = time.monotonic() + 90
        killed_job = None
        while killed_job is None:
            assert time.monotonic() < deadline, "worker 0 never held a slow job"
            held = {job: owner for job, owner in running_owners(postgres_url).items()
                    if job in slow and process_group(owner) == victim.pid}
            if held:
                kill_group(victim)
                still = running_owners(postgres_url)
                killed_job = next((job for job, owner in held.items() if still.get(job) == owner), None)
                assert killed_job is not None, "the held job finished before the kill landed"
            else:
                time.sleep(0.02)

        finished = wait_all(clients[1], ids, timeout=240)
        rows = job_rows(postgres_url, ids)
        for job_id, body in zip(ids, bodies, strict=True):
            job = finished[job_id]
            assert job["status"] == "DONE", job
            results = [job["result"]] if job["kind"] == "single" else job["results"]
            assert [r["counts"] for r in results] == expected(body), (job_id, body)
            # Exactly once: one DONE attempt, one stored result row per circuit.
            assert rows[job_id]["outcomes"].count("DONE") == 1, rows[job_id]
            assert rows[job_id]["results"] == len(results)
        assert rows[killed_job]["attempts"] >= 2 and "LOST" in rows[killed_job]["outcomes"], rows[killed_job]
        # Both replicas read the same state.
        assert clients[0].get(f"/jobs/{killed_job}").json()["status"] == "DONE"
        for client in clients:
            client.close()
    finally:
        for worker in workers:
            kill_group(worker)
        for replica in replicas:
            replica.stop()
