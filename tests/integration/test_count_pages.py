"""Counts of many distinct outcomes are stored and served in bounded pages (issue 18, item 4), on SQLite and
PostgreSQL.

A live ``xihe serve`` runs ``h q;`` on 20 qubits with 10^6 shots: about 644,000 distinct outcomes (the expected
number is 2^20 (1 - (1 - 2^-20)^10^6) = 644,600), 34 MB of counts and probabilities when the record carried them
whole. The job's record now carries the most frequent 16,384 outcomes, the number of outcomes and a link to the
pages; reading it raises the API process's peak resident memory by far less than the counts' size (measured as
``test_result_pages`` does, from ``VmHWM`` after a reset through ``/proc/PID/clear_refs``). The pages, read over
HTTP, concatenate to exactly the counts the engine produces for the job's seed; the SDK (sync and async) and the
Qiskit adapter return the whole counts, the adapter's checked against its own per-shot memory.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import re
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from qiskit import QuantumCircuit

from tests.integration.test_result_pages import peak_rise_during
from tests.service.helpers import Server, served
from xihe.client import AsyncClient, Client
from xihe.qiskit import XiheProvider
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog

QUBITS = 20
SHOTS = 1_000_000
SEED = 1818
UNIFORM = (f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{QUBITS}];\ncreg c[{QUBITS}];\nh q;\n'
           "measure q -> c;\n")
PAGE = 16384


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served(request.param, tmp_path_factory.mktemp(f"xihe-counts-{request.param}"), WORKERS="1",
                HEARTBEAT_SECONDS="0.2", LEASE_SECONDS="5") as live:
        yield live


@pytest.fixture(scope="module")
def wide_job(server: Server) -> dict:
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "qasm": UNIFORM, "shots": SHOTS, "seed": SEED,
                                         "compile": False}).json()
        deadline = time.monotonic() + 300
        while client.get(f"/jobs/{job['id']}", params={"wait": 10}).json()["status"] not in ("DONE", "FAILED"):
            assert time.monotonic() < deadline, "the wide job did not finish"
    return job


@pytest.fixture(scope="module")
def engine_counts() -> dict[str, int]:
    """The counts the engine produces for this job's one item (the job seed is the item's seed)."""
    items = executor.work_items({"circuits": [UNIFORM], "seed": SEED, "compile": False}, SHOTS)
    counts = executor.run_item(DeviceCatalog().get("sim"), items[0])["counts"]
    return {str(key): int(value) for key, value in counts.items()}


def test_the_engines_counts_are_what_a_uniform_distribution_gives(engine_counts: dict[str, int]) -> None:
    expected = 2**QUBITS * (1 - (1 - 2.0**-QUBITS) ** SHOTS)
    assert sum(engine_counts.values()) == SHOTS
    assert abs(len(engine_counts) - expected) < 6 * math.sqrt(expected)  # ~644,600 distinct outcomes


def test_the_job_record_carries_one_page_and_its_read_stays_small(server: Server, wide_job: dict,
                                                                 engine_counts: dict[str, int]) -> None:
    with server.client() as client:
        client.get(f"/jobs/{wide_job['id']}")  # warm the route once
        response, rise = peak_rise_during(server, lambda: client.get(f"/jobs/{wide_job['id']}"))
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["counts_outcomes"] == len(engine_counts)
    assert result["counts_url"] == f"/api/v1/jobs/{wide_job['id']}/items/0/counts"
    most = sorted(engine_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:PAGE]
    assert list(result["counts"].items()) == most
    assert set(result["probabilities"]) == set(result["counts"])
    whole_bytes = len(engine_counts) * 2 * (QUBITS + 6)  # the counts and probabilities as JSON: about 34 MB
    assert len(response.content) < whole_bytes // 16
    assert rise < whole_bytes // 4, f"reading the job raised the API's peak by {rise / 2**20:.1f} MiB"


def test_pages_concatenate_to_the_engines_counts(server: Server, wide_job: dict,
                                                 engine_counts: dict[str, int]) -> None:
    pairs: list[tuple[str, int]] = []
    rises = []
    with server.client() as client:
        url = f"/jobs/{wide_job['id']}/items/0/counts"
        assert client.get(url, params={"limit": PAGE + 1}).status_code == 422  # a page is bounded
        client.get(url, params={"offset": 0, "limit": PAGE})  # warm the route once
        for _ in range(len(engine_counts) // PAGE + 2):
            params = {"offset": len(pairs), "limit": PAGE}
            page, rise = peak_rise_during(server, lambda: client.get(url, params=params))  # noqa: B023
            body = page.json()
            assert page.status_code == 200 and body["total"] == len(engine_counts)
            assert len(body["counts"]) <= PAGE
            rises.append(rise)
            if not body["counts"]:
                break
            pairs += body["counts"].items()
        across = client.get(url, params={"offset": PAGE - 3, "limit": 7}).json()["counts"]
        assert client.get(f"/jobs/{wide_job['id']}/items/1/counts").status_code == 404
    assert len(pairs) == len(engine_counts) and dict(pairs) == engine_counts
    assert [count for _key, count in pairs] == sorted(engine_counts.values(), reverse=True)
    assert list(across.items()) == pairs[PAGE - 3:PAGE + 4]
    # A page is bounded like the record: under a quarter of the whole counts as JSON (8 MiB here; the first page on
    # PostgreSQL measured 4.3 MiB with the driver's buffers), where holding every outcome as Python objects would
    # take well over the whole 34 MB.
    assert max(rises) < len(engine_counts) * 2 * (QUBITS + 6) // 4, [r / 2**20 for r in rises]


async def async_counts(server: Server, job_id: str) -> dict[str, int]:
    async with AsyncClient(server.url, str(server.token)) as client:
        result = await (await client.job(job_id)).result()
        assert not isinstance(result, list)
        return result.counts


def test_the_sdk_and_the_qiskit_adapter_give_the_whole_counts(server: Server, wide_job: dict,
                                                              engine_counts: dict[str, int]) -> None:
    assert asyncio.run(async_counts(server, wide_job["id"])) == engine_counts
    with Client(server.url, str(server.token)) as client:
        result = client.job(wide_job["id"]).result()
        assert not isinstance(result, list)
        assert result.counts == engine_counts and result.shots == SHOTS
        # Through Qiskit, 16 qubits and 40,000 shots (about 30,000 outcomes): the counts agree with the same
        # job's per-shot memory, which is stored and read apart from them.
        circuit = QuantumCircuit(16, 16)
        circuit.h(range(16))
        circuit.measure(range(16), range(16))
        job = XiheProvider(client).get_backend("sim").run(circuit, shots=40_000, memory=True, seed_simulator=7)
        qiskit_result = job.result()
    counts = qiskit_result.get_counts(0)
    assert len(counts) > PAGE and sum(counts.values()) == 40_000
    assert Counter(qiskit_result.get_memory(0)) == counts


def test_the_legacy_quafu_protocol_gets_whole_counts_up_to_its_limit_and_a_413_past_it(
        server: Server, wide_job: dict) -> None:
    """pyquafu's ``scq_task_recall`` answers with the whole counts as one JSON string: assembled from the pages up
    to WHOLE_COUNTS_LIMIT (65,536) outcomes, refused with a 413 naming the limit and the pages past it."""
    qasm = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[16];\ncreg c[16];\nh q;\nmeasure q -> c;\n')
    headers = {"api_token": str(server.token)}
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "qasm": qasm, "shots": 40_000, "seed": 3,
                                         "compile": False}).json()
        done = client.get(f"/jobs/{job['id']}", params={"wait": 120}).json()
        assert done["status"] == "DONE" and done["result"]["counts_outcomes"] > PAGE
    with Client(server.url, str(server.token)) as sdk:
        whole = sdk.job(job["id"]).result()
        assert not isinstance(whole, list)
    recall = f"{server.url}/qbackend/scq_task_recall/"
    answer = httpx.post(recall, data={"task_id": job["id"]}, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.json()["res"]) == whole.counts  # all 16 bits measured: pyquafu's keys are ours
    refused = httpx.post(recall, data={"task_id": wide_job["id"]}, headers=headers, timeout=60)
    assert refused.status_code == 413
    assert "65,536" in refused.json()["message"] and f"/jobs/{wide_job['id']}/items/0/counts" in refused.text


def _web_session(server: Server) -> httpx.Client:
    """The demo user logged in to the web pages of the live server (its session cookie is Secure, which httpx
    keeps from plain HTTP even to 127.0.0.1, so it is sent by hand)."""
    client = httpx.Client(base_url=server.url, timeout=300)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text

    def cookies() -> dict[str, str]:
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)}

    answer = client.post("/login", data={"name": "demo", "password": str(server.password), "csrf_token": csrf.group(1),
                                         "next": "/backends"}, headers=cookies())
    assert answer.status_code == 303, answer.text
    client.headers.update(cookies())
    return client


def _marginal(counts: dict[str, int], bits: list[int]) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, n in counts.items():
        out["".join(key[b] for b in bits)] += n
    return out


def test_the_job_pages_marginals_and_csv_cover_every_page(server: Server, wide_job: dict,
                                                          engine_counts: dict[str, int]) -> None:
    """The web job page's marginal over chosen bits is taken over every count page, not the most frequent one,
    read page by page (the API's peak stays far below the counts' size); the CSV download carries every outcome."""
    bits = [0, 5, 19]
    web = _web_session(server)
    try:
        url = f"/jobs/{wide_job['id']}"
        web.get(url)  # warm the page once
        page, rise = peak_rise_during(server, lambda: web.get(url, params={"bits": ",".join(map(str, bits))}))
        assert page.status_code == 200, page.text[:500]
        wide = web.get(url, params={"bits": ",".join(map(str, range(15)))}).text
        marginal_csv = web.get(f"{url}/results/0.csv", params={"bits": "0,1"}).text
        whole, csv_rise = peak_rise_during(server, lambda: web.get(f"{url}/results/0.csv"))
    finally:
        web.close()
    shown = {key: int(count) for key, count in
             re.findall(r'<tr><td><code>([01]+)</code></td><td class="num">(\d+)</td>', page.text)}
    assert shown == _marginal(engine_counts, bits)
    assert {row["outcome"]: int(row["count"]) for row in csv.DictReader(io.StringIO(marginal_csv))} == \
        _marginal(engine_counts, [0, 1])
    rows = list(csv.DictReader(io.StringIO(whole.text)))
    assert [(row["outcome"], int(row["count"])) for row in rows] == \
        sorted(engine_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert "a marginal over more than 14 bits is taken over its 16,384 most frequent only" in wide
    whole_bytes = len(engine_counts) * 2 * (QUBITS + 6)  # the counts and probabilities as JSON: about 34 MB
    assert rise < whole_bytes // 4, f"the marginal raised the API's peak by {rise / 2**20:.1f} MiB"
    assert csv_rise < whole_bytes // 4, f"the CSV raised the API's peak by {csv_rise / 2**20:.1f} MiB"


def test_a_quafu_answer_of_whole_counts_is_bounded_for_the_whole_job(server: Server) -> None:
    """The Quafu protocols answer with every item's whole counts at once: the limit of 65,536 outcomes holds for
    the job, all items together (8 items of about 29,500 outcomes each, each under it, are about 236,000 in all):
    a 413 naming the limit and the pages, read no further than the item that passes it (the API's peak below the
    counts' size as JSON, where assembling them took several times that)."""
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[16];\ncreg c[16];\nh q;\nmeasure q -> c;\n'
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "circuits": [qasm] * 8, "shots": 40_000, "seed": 9,
                                         "compile": False}).json()
        done = client.get(f"/jobs/{job['id']}", params={"wait": 120}).json()
        assert done["status"] == "DONE" and all(r["counts_outcomes"] > PAGE for r in done["results"])
        total = sum(r["counts_outcomes"] for r in done["results"])
        assert total > 3 * 65_536
        sdk = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=120)
        with sdk:
            sdk.get(f"/api/v1/jobs/{job['id']}/results")  # warm the route once
            refused, rise = peak_rise_during(server, lambda: sdk.get(f"/api/v1/jobs/{job['id']}/results"))
    assert refused.status_code == 413, refused.text[:300]
    assert "65,536" in refused.text and f"/api/v1/jobs/{job['id']}/items/2/counts" in refused.text
    # The check holds one decoded record at a time (a first page, ~2 MB in Python): under a quarter of the whole
    # counts as JSON (reading 16 records a query, all 8 decoded together, raised it by 16-20 MiB).
    assert rise < total * 2 * (16 + 6) // 4, f"the refusal raised the API's peak by {rise / 2**20:.1f} MiB"
