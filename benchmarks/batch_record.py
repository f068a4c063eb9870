"""The size of a large batch's job record and what reading it costs the API, before and after the record budget
(issue 18).

Run: ``.venv/bin/python benchmarks/batch_record.py [--items 12] [--outcomes 16384]`` (put a checkout's ``src``
first on ``PYTHONPATH`` to measure it). A real app on a fresh SQLite database in this process stores a DONE batch
of ``--items`` items with ``--outcomes`` distinct 20-bit outcomes each through the queue's own ``finish_attempt``,
then ``GET /api/v1/jobs/{id}`` is answered: its bytes, its wall time, and the peak of Python allocations during it
(``tracemalloc``, the app runs in this process); then, where the SDK reads the same job (``Job.result()``), every
answer's size and the number of requests.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xihe.app import create_app  # noqa: E402
from xihe.client import Client  # noqa: E402
from xihe.service.clock import utcnow  # noqa: E402
from xihe.service.db import Database  # noqa: E402
from xihe.service.migrate import upgrade  # noqa: E402
from xihe.service.repositories import jobs, queue, users  # noqa: E402
from xihe.service.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=12)
    parser.add_argument("--outcomes", type=int, default=16384)
    args = parser.parse_args()
    rng = random.Random(18)
    folder = Path(tempfile.mkdtemp(prefix="xihe-batch-record-"))
    settings = Settings(data_dir=folder, parse_workers=0)
    database = Database(settings.resolved_database_url())
    upgrade(database)
    with database.write() as session:
        user = users.create_user(session, "reader", role="user", password="reader-password-1")
        token = users.create_token(session, user).secret
        job = jobs.insert_job(session, user_id=user.id, backend="sim", kind="batch", name=None, tags=[], shots=10**6,
                              priority=0, effective_priority=0, num_circuits=args.items, num_qubits=20,
                              memory_estimate=0, payload={"circuits": ["OPENQASM 2.0;"] * args.items, "seed": 1},
                              max_attempts=3, wall_seconds=60.0, created_at=utcnow())
        job_id = job.id
    with database.write() as session:
        claimed = queue.claim_next_job(session, worker_id="w1", host="h", backends=None, exclusive=(),
                                       memory_budget=2**40, lease_seconds=600, now=utcnow())
        assert claimed is not None and claimed.id == job_id
    records = []
    for _ in range(args.items):
        counts = {format(k, "020b"): rng.randint(1, 120) for k in rng.sample(range(2**20), args.outcomes)}
        shots = sum(counts.values())
        records.append({"counts": counts, "probabilities": {k: v / shots for k, v in counts.items()},
                        "shots": shots})
    with database.write() as session:
        assert queue.finish_attempt(session, job_id, queue.Ending.done(records, 1.0), now=utcnow(), holder="w1")
    del records
    with TestClient(create_app(settings, database=database), base_url="https://testserver") as client:
        headers = {"Authorization": f"Bearer {token}"}
        client.get(f"/api/v1/jobs/{job_id}", headers=headers)  # warm the route once
        tracemalloc.start()
        started = time.perf_counter()
        answer = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert answer.status_code == 200, answer.text[:300]
        print(f"GET /jobs/{{id}}: {len(answer.content) / 1e6:.2f} MB in {elapsed:.2f} s, peak Python allocation "
              f"{peak / 2**20:.1f} MiB ({args.items} items x {args.outcomes:,} outcomes)")
        sizes: list[int] = []

        class Counting(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = client._transport.handle_request(request)
                response.read()
                sizes.append(len(response.content))
                return response

        with Client("https://testserver", token, transport=Counting()) as sdk:
            started = time.perf_counter()
            results = sdk.job(job_id).result()
            elapsed = time.perf_counter() - started
        assert isinstance(results, list) and all(len(r.counts) == args.outcomes for r in results)
        print(f"SDK Job.result(): {len(sizes)} requests, largest answer {max(sizes) / 1e6:.2f} MB, "
              f"{sum(sizes) / 1e6:.2f} MB in all, {elapsed:.2f} s")
    database.dispose()


if __name__ == "__main__":
    main()
