"""A batch's job record is bounded as a whole (issue 18): ``GET /jobs/{id}`` carries its items whole up to
:data:`~xihe.service.views.RECORD_BYTES` and each later item as a summary linking to its own record
(``GET /jobs/{id}/items/{i}``); the SDK reads such a job item by item and page by page, every answer bounded, and
returns the same whole results as before.

A real app on SQLite and PostgreSQL; the job's records are stored through the queue's own ``finish_attempt`` (the
worker's path), each item with about 16,384 distinct outcomes (the last one's counts in pages), so each item is
about 1.2 MB of JSON with its probabilities and the four together 4.7 MB, which the old record carried in one
answer.
"""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.service.test_queue import claim
from xihe.app import create_app
from xihe.client import Client
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.repositories import jobs, queue, users
from xihe.service.repositories.count_pages import PAGE_OUTCOMES
from xihe.service.settings import Settings
from xihe.service.views import RECORD_BYTES, RECORD_ITEMS

ITEMS = 4
RNG = random.Random(1818)


def item_counts(index: int) -> dict[str, int]:
    """A page of outcomes less one (the record holds them all), the last item's a page and a few more (paged)."""
    outcomes = PAGE_OUTCOMES + 5 if index == ITEMS - 1 else PAGE_OUTCOMES - 1
    return {format(i, "017b"): RNG.randint(1, 50) + index for i in range(outcomes)}


COUNTS = [item_counts(i) for i in range(ITEMS)]


def stored_batch(database: Database) -> tuple[str, str]:
    """A DONE batch of ITEMS items with many outcomes each, and its owner's token."""
    with database.write() as session:
        user = users.create_user(session, "batch-reader", role="user", password="batch-reader-password")
        token = users.create_token(session, user).secret
        job = jobs.insert_job(session, user_id=user.id, backend="sim", kind="batch", name=None, tags=[],
                              shots=sum(COUNTS[0].values()), priority=0, effective_priority=0, num_circuits=ITEMS,
                              num_qubits=17, memory_estimate=0,
                              payload={"circuits": ["OPENQASM 2.0;"] * ITEMS, "seed": 1},
                              max_attempts=3, wall_seconds=60.0, created_at=utcnow())
        job_id = job.id
    assert claim(database, "w1") is not None
    records = []
    for i, counts in enumerate(COUNTS):
        shots = sum(counts.values())
        records.append({"counts": counts, "probabilities": {k: v / shots for k, v in counts.items()}, "shots": shots,
                        "compiled_qasm": f"OPENQASM 2.0; // item {i}"})
    with database.write() as session:
        assert queue.finish_attempt(session, job_id, queue.Ending.done(records, 0.1), now=utcnow(), holder="w1")
    return job_id, token


@pytest.fixture
def app_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database=database), base_url="https://testserver") as client:
        yield client


def test_a_batch_record_is_bounded_and_the_sdk_reads_it_item_by_item(database: Database,
                                                                     app_client: TestClient) -> None:
    job_id, token = stored_batch(database)
    headers = {"Authorization": f"Bearer {token}"}
    app_client.get(f"/api/v1/jobs/{job_id}", headers=headers)  # warm the route once
    tracemalloc.start()
    try:
        answer = app_client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer.status_code == 200, answer.text
    # The rows are read one at a time for items this large (~3.5 MB of Python objects each): reading the four
    # together took ~17 MiB at the peak.
    assert peak < 12 * 2**20, f"answering the record allocated {peak / 2**20:.1f} MiB at its peak"
    first_pages = ITEMS * PAGE_OUTCOMES * 2 * (17 + 8)  # every item's first page with probabilities: ~3.3 MB
    assert len(answer.content) <= RECORD_BYTES + ITEMS * 1024 < first_pages
    results = answer.json()["results"]
    assert len(results) == ITEMS
    assert results[0]["counts"] == COUNTS[0] and results[0]["item_url"] is None
    summarized = [i for i, r in enumerate(results) if r["item_url"]]
    assert summarized and summarized[-1] == ITEMS - 1
    for index in summarized:
        summary = results[index]
        assert summary["counts"] == {} and summary["counts_outcomes"] == len(COUNTS[index])
        assert summary["item_url"] == f"/api/v1/jobs/{job_id}/items/{index}"
        assert summary["counts_url"] == f"/api/v1/jobs/{job_id}/items/{index}/counts"
        whole = app_client.get(summary["item_url"], headers=headers)
        assert whole.status_code == 200 and len(whole.content) <= RECORD_BYTES
        item = whole.json()
        assert len(item["counts"]) == min(len(COUNTS[index]), PAGE_OUTCOMES)
        assert (item["counts_outcomes"] or len(item["counts"])) == len(COUNTS[index])
        assert item["compiled_qasm"] == f"OPENQASM 2.0; // item {index}" and item["item_url"] is None
    assert app_client.get(f"/api/v1/jobs/{job_id}/items/{ITEMS}", headers=headers).status_code == 404

    # A whole count page is sent as stored: no page of 16,384 outcomes is decoded on the request thread.
    decoded: list[int] = []
    real_loads = json.loads

    def loads(text: str | bytes, *args: object, **kwargs: object) -> object:
        decoded.append(len(text))
        return real_loads(text, *args, **kwargs)  # type: ignore[arg-type]

    json.loads = loads  # type: ignore[assignment]
    try:
        pages = [app_client.get(f"/api/v1/jobs/{job_id}/items/{ITEMS - 1}/counts", headers=headers,
                                params={"offset": offset}) for offset in (0, PAGE_OUTCOMES)]
    finally:
        json.loads = real_loads
    assert all(page.status_code == 200 for page in pages)
    assert [page.json()["total"] for page in pages] == [len(COUNTS[-1])] * 2
    ordered = sorted(COUNTS[-1].items(), key=lambda kv: (-kv[1], kv[0]))
    assert [list(page.json()["counts"].items()) for page in pages] == [ordered[:PAGE_OUTCOMES],
                                                                     ordered[PAGE_OUTCOMES:]]
    assert max(decoded, default=0) < 100_000, f"a count page was decoded to answer it: {max(decoded)} bytes"

    # The SDK reads the same job item by item and page by page, each answer bounded, and returns the whole results.
    sizes: list[tuple[str, int]] = []

    class Counting(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = app_client._transport.handle_request(request)
            response.read()
            sizes.append((request.url.path, len(response.content)))
            return response

    with Client("https://testserver", token, transport=Counting()) as client:
        results = client.job(job_id).result()
    assert isinstance(results, list) and [r.counts for r in results] == COUNTS
    assert [r.metadata["compiled_qasm"] for r in results] == [f"OPENQASM 2.0; // item {i}" for i in range(ITEMS)]
    assert max(size for _path, size in sizes) <= RECORD_BYTES + ITEMS * 1024  # every answer bounded
    item_reads = [path for path, _size in sizes if path.rsplit("/", 2)[-2] == "items"]
    assert item_reads, "no summarized item was read from its own record"


MANY = 10_000


def stored_large_batch(database: Database) -> tuple[str, str]:
    """A DONE batch of MANY small items (item ``i`` counted ``{"0": i + 1}``), and its owner's token."""
    with database.write() as session:
        user = users.create_user(session, "many-reader", role="user", password="many-reader-password")
        token = users.create_token(session, user).secret
        job = jobs.insert_job(session, user_id=user.id, backend="sim", kind="batch", name=None, tags=[], shots=1,
                              priority=0, effective_priority=0, num_circuits=MANY, num_qubits=1, memory_estimate=0,
                              payload={"circuits": ["OPENQASM 2.0;"] * MANY, "seed": 1}, max_attempts=3,
                              wall_seconds=60.0, created_at=utcnow())
        job_id = job.id
    assert claim(database, "w1") is not None
    records = [{"counts": {"0": i + 1}, "probabilities": {"0": 1.0}, "shots": i + 1} for i in range(MANY)]
    with database.write() as session:
        assert queue.finish_attempt(session, job_id, queue.Ending.done(records, 0.1), now=utcnow(), holder="w1")
    return job_id, token


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_batch_record_pages_its_items_and_the_sdk_follows_the_pages(database: Database,
                                                                       app_client: TestClient) -> None:
    """A 10,000-item batch's record was one answer of ~4.5 MB of item summaries: it comes in pages of at most
    :data:`~xihe.service.views.RECORD_ITEMS` items, each linking to the next; the SDK reads every page."""
    job_id, token = stored_large_batch(database)
    headers = {"Authorization": f"Bearer {token}"}
    first = app_client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert first.status_code == 200, first.text
    assert len(first.content) < 512 * 1024, f"{len(first.content):,} bytes"
    record = first.json()
    assert len(record["results"]) == RECORD_ITEMS and record["results_offset"] == 0
    assert record["results_next"] == f"/api/v1/jobs/{job_id}?items_offset={RECORD_ITEMS}&items_limit={RECORD_ITEMS}"
    last = app_client.get(f"/api/v1/jobs/{job_id}", headers=headers,
                          params={"items_offset": MANY - 3, "items_limit": 5}).json()
    assert [r["counts"] for r in last["results"]] == [{"0": MANY - 2}, {"0": MANY - 1}, {"0": MANY}]
    assert last["results_offset"] == MANY - 3 and last["results_next"] is None

    paths: list[str] = []

    class Counting(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            paths.append(str(request.url.params.get("items_offset", "")))
            return app_client._transport.handle_request(request)

    with Client("https://testserver", token, transport=Counting()) as client:
        results = client.job(job_id).result()
    assert isinstance(results, list) and [r.counts for r in results] == [{"0": i + 1} for i in range(MANY)]
    assert [p for p in paths if p] == [str(offset) for offset in range(RECORD_ITEMS, MANY, RECORD_ITEMS)]
