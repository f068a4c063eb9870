"""Chaos on SQLite, seeded (issue 18, "faults as tests"): the disk of the database's folder fills up mid-run.

The folder is a small tmpfs of its own (mounted by the test: root only; elsewhere the test is skipped), holding the
database, its WAL and its lock file. Under a mixed load on ``xihe serve`` with two workers, a file fills the disk to
the last byte, and is removed a few seconds later. While the disk is full, a submit is answered with a 507 (or a
503), never a 500, and the server stays up; jobs that were running meanwhile may not store their results and run
again. Afterwards, read straight from the database: every accepted submit ended DONE with its one stored result per
circuit and one DONE attempt, FAILED with its reason, or CANCELLED; no logical submit made two jobs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.integration.test_chaos_cluster import Submit
from tests.service.helpers import Server, basis_state_qasm, job_rows, server_env, slow_basis_state_qasm, wait_all
from xihe.client import APIError, Client, RetryPolicy, TransportError
from xihe.service.db import Database
from xihe.service.models import Job

SEED = 18
DISK_BYTES = 64 * 2**20
RETRY = RetryPolicy(max_attempts=20, backoff=0.2, max_backoff=2.0)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs of its own: a disk the test may fill without filling anyone else's."""
    folder = tmp_path / "data"
    folder.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small disk to fill needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until the disk refuses one more byte; the file is what frees it again."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        chunk = bytes(2**20)
        while True:
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
        for size in (4096, 512, 1):  # the last partial blocks
            with contextlib.suppress(OSError):
                while True:
                    out.write(bytes(size))
    return filler


def mixed_load(rng: random.Random, prefix: str, count: int) -> list[Submit]:
    load: list[Submit] = []
    for i in range(count):
        kind = rng.choice(("quick", "slow", "batch"))
        if kind == "batch":
            values = [rng.randrange(16) for _ in range(3)]
            load.append(Submit(f"{prefix}-{i}", "native", [basis_state_qasm(v, 4) for v in values], "sim", 16, i,
                               exact=[format(v, "04b") for v in values]))
        else:
            # A slow one takes about a second: the workers are still finishing jobs while the disk is full.
            value = rng.randrange(2**12)
            qasm = basis_state_qasm(value, 12) if kind == "quick" else slow_basis_state_qasm(value, 12, 60)
            load.append(Submit(f"{prefix}-{i}", "native", [qasm], "sim", 32, i, exact=[format(value, "012b")]))
    return load


def submit(client: Client, item: Submit) -> str:
    circuits: str | list[str] = item.circuits[0] if len(item.circuits) == 1 else item.circuits
    return client.run(circuits, item.backend, shots=item.shots, seed=item.seed, name=item.name).id


def test_a_full_disk_under_load_refuses_submits_and_loses_no_job(tmp_path: Path, small_disk: Path) -> None:
    rng = random.Random(SEED)
    database_url = f"sqlite:///{small_disk / 'xihe.db'}"
    env = server_env(tmp_path, database_url, WORKERS="2", LEASE_SECONDS="3", HEARTBEAT_SECONDS="0.3")
    server = Server(tmp_path, env).start()  # its log stays off the small disk: it is the database's disk
    accepted: dict[str, Submit] = {}
    while_full: Counter[int] = Counter()
    try:
        with Client(server.url, server.token, retry=RETRY, timeout=30.0) as client:
            for item in mixed_load(rng, "before", 20):
                accepted[submit(client, item)] = item
            # The workers are warm (the first jobs are done) and the rest are queued or running when the disk fills.
            with server.client() as reader:
                wait_all(reader, list(accepted)[:2], timeout=120)
            time.sleep(rng.uniform(0.1, 0.5))
            filler = fill(small_disk)
            full_for = rng.uniform(3.0, 6.0)
            filled_at = time.monotonic()
            with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30,
                              headers={"Authorization": f"Bearer {server.token}"}) as raw:
                for item in mixed_load(rng, "full", 6):  # plain HTTP: every answer seen, none retried
                    body = {"qasm": item.circuits[0], "backend": "sim", "shots": item.shots, "seed": item.seed,
                            "name": item.name} if len(item.circuits) == 1 else \
                        {"circuits": item.circuits, "backend": "sim", "shots": item.shots, "seed": item.seed,
                         "name": item.name}
                    answer = raw.post("/jobs", json=body)
                    while_full[answer.status_code] += 1
                    if answer.status_code == 201:
                        accepted[answer.json()["id"]] = item
                    else:
                        assert answer.status_code in (503, 507), answer.text  # never a 500
                        assert answer.headers.get("Retry-After"), answer.headers
                    assert raw.get("/health").status_code == 200
                time.sleep(max(0.0, full_for - (time.monotonic() - filled_at)))
            assert server.process is not None and server.process.poll() is None, "the server died of a full disk"
            filler.unlink()
            for item in mixed_load(rng, "after", 6):
                with contextlib.suppress(APIError, TransportError):
                    accepted[submit(client, item)] = item
        with server.client() as reader:
            final = wait_all(reader, sorted(accepted), timeout=300)
    finally:
        server.stop()

    rows = job_rows(database_url, sorted(accepted))
    database = Database(database_url)
    try:
        with database.read() as session:
            stored = session.execute(select(Job.name, Job.status, Job.attempts)).all()
    finally:
        database.dispose()
    assert while_full[507] + while_full[503] >= 1, f"the full disk refused nothing: {while_full}"
    names = Counter(name for name, _, _ in stored)
    assert not [n for n, c in names.items() if c > 1], names  # no duplicate
    assert {status for _, status, _ in stored} <= {"DONE", "FAILED", "CANCELLED"}, stored
    assert set(rows) == set(accepted)  # none lost
    for job_id, item in accepted.items():
        job, row = final[job_id], rows[job_id]
        assert row["status"] == job["status"], (job, row)
        if job["status"] == "DONE":
            item.check([job["result"]] if job["kind"] == "single" else job["results"])
            assert row["results"] == item.num_results and row["outcomes"].count("DONE") == 1, (item.name, row)
        else:
            assert job["status"] == "FAILED" and job["error"]["detail"] and row["results"] == 0, (item.name, job)
    statuses = Counter(job["status"] for job in final.values())
    reruns = sum(attempts - 1 for _, _, attempts in stored)  # attempts whose result the full disk refused
    print(f"chaos disk full: {len(accepted)} accepted; while full {dict(while_full)}; {dict(statuses)}; "
          f"{reruns} attempts run again; lost 0, duplicated 0")
