"""Large per-shot results are stored and served in bounded pieces (issue 18, item 4), on SQLite and PostgreSQL.

A live ``xihe serve`` runs a 20-qubit GHZ circuit with 10^6 shots and per-shot memory (about 21 MB of keys, two
counts entries). The job's record comes without the keys and links to their pages; reading it raises the API
process's peak resident memory by far less than the keys' size (the peak is reset through ``/proc/PID/clear_refs``
before the read and read back from ``VmHWM`` after it). The pages, fetched over HTTP and through the SDK,
concatenate to exactly the keys the engine produces for the job's seed. The worker stores each item's keys while
the job runs, and a cancel removes them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from qiskit import QuantumCircuit
from sqlalchemy import func, select

from tests.service.helpers import Server, slow_basis_state_qasm
from tests.service.helpers import served as live_server
from xihe.client import AsyncClient, Client
from xihe.qiskit import XiheProvider
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog
from xihe.service.db import Database
from xihe.service.models import JobMemoryPage

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
QUBITS = 20
SHOTS = 1_000_000
SEED = 18
GHZ = (H + f"qreg q[{QUBITS}];\ncreg c[{QUBITS}];\nh q[0];\n"
       + "".join(f"cx q[{i}],q[{i + 1}];\n" for i in range(QUBITS - 1)) + "measure q -> c;\n")
PAGE = 16384


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    data_dir = tmp_path_factory.mktemp(f"xihe-pages-{request.param}")
    with live_server(request.param, data_dir, WORKERS="1", HEARTBEAT_SECONDS="0.2", LEASE_SECONDS="5") as server:
        yield server, server.env.get("XIHE_DATABASE_URL") or f"sqlite:///{data_dir / 'xihe.db'}"


@pytest.fixture(scope="module")
def large_job(served: tuple[Server, str]) -> dict:
    server, _url = served
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "qasm": GHZ, "shots": SHOTS, "memory": True,
                                         "seed": SEED, "compile": False}).json()
        deadline = time.monotonic() + 300
        while client.get(f"/jobs/{job['id']}", params={"wait": 10}).json()["status"] not in ("DONE", "FAILED"):
            assert time.monotonic() < deadline, "the large job did not finish"
    return job


def engine_memory() -> list[str]:
    """The keys the engine produces for this job's one item (the job seed is the item's seed)."""
    items = executor.work_items({"circuits": [GHZ], "seed": SEED, "memory": True, "compile": False}, SHOTS)
    return executor.run_item(DeviceCatalog().get("sim"), items[0])["memory"]


def _kib(pid: int, field: str) -> int:
    match = re.search(rf"{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert match
    return int(match.group(1))


def peak_rise_during(server: Server, send: Callable[[], httpx.Response]) -> tuple[httpx.Response, int]:
    """``send()``'s answer and how far the API process's resident memory peaked above its level before (bytes)."""
    assert server.process is not None
    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS now
    before = _kib(pid, "VmHWM")
    response = send()
    return response, (_kib(pid, "VmHWM") - before) * 1024


def test_the_job_record_links_to_pages_and_its_read_stays_small(served: tuple[Server, str], large_job: dict
                                                               ) -> None:
    server, _url = served
    with server.client() as client:
        client.get(f"/jobs/{large_job['id']}")  # warm the route once
        response, rise = peak_rise_during(server, lambda: client.get(f"/jobs/{large_job['id']}"))
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["memory"] is None and result["memory_shots"] == SHOTS
    assert result["memory_url"] == f"/api/v1/jobs/{large_job['id']}/items/0/memory"
    assert sum(result["counts"].values()) == SHOTS and set(result["counts"]) == {"0" * QUBITS, "1" * QUBITS}
    keys_bytes = SHOTS * (QUBITS + 1)  # the keys as stored text: 21 MB
    assert len(response.content) < 64 * 1024
    assert rise < keys_bytes // 8, f"reading the job raised the API's peak by {rise / 2**20:.1f} MiB"


def test_pages_concatenate_to_the_engines_memory(served: tuple[Server, str], large_job: dict) -> None:
    server, _url = served
    expected = engine_memory()
    got: list[str] = []
    rises = []
    with server.client() as client:
        url = f"/jobs/{large_job['id']}/items/0/memory"
        assert client.get(url, params={"limit": PAGE + 1}).status_code == 422  # a page is bounded
        client.get(url, params={"offset": 0, "limit": PAGE})  # warm the route once
        while True:
            params = {"offset": len(got), "limit": PAGE}
            page, rise = peak_rise_during(server, lambda: client.get(url, params=params))  # noqa: B023
            body = page.json()
            assert page.status_code == 200 and body["total"] == SHOTS
            rises.append(rise)
            if not body["memory"]:
                break
            got += body["memory"]
        # An unaligned slice across two stored pages.
        across = client.get(url, params={"offset": PAGE - 3, "limit": 7}).json()["memory"]
        assert client.get(f"/jobs/{large_job['id']}/items/1/memory").status_code == 404
    assert got == expected
    assert across == expected[PAGE - 3:PAGE + 4]
    assert set(got) == {"0" * QUBITS, "1" * QUBITS}
    assert max(rises) < SHOTS * (QUBITS + 1) // 4, [r / 2**20 for r in rises]


async def async_memory(server: Server, job_id: str) -> list[str] | None:
    async with AsyncClient(server.url, str(server.token)) as client:
        result = await (await client.job(job_id)).result()
        assert not isinstance(result, list)
        return result.memory


def test_the_sdk_and_the_qiskit_adapter_give_the_whole_memory(served: tuple[Server, str], large_job: dict) -> None:
    server, _url = served
    expected = engine_memory()
    assert asyncio.run(async_memory(server, large_job["id"])) == expected
    with Client(server.url, str(server.token)) as client:
        result = client.job(large_job["id"]).result()
        assert not isinstance(result, list)
        assert result.memory == expected
        # A batch past the inline size, through Qiskit: each experiment's memory is its shots' keys.
        circuit = QuantumCircuit(3, 3)
        circuit.h(0)
        circuit.cx(0, 1)
        circuit.x(2)
        circuit.measure([0, 1, 2], [0, 1, 2])
        shots = 40_000
        job = XiheProvider(client).get_backend("sim").run([circuit, circuit], shots=shots, memory=True,
                                                          seed_simulator=5)
        qiskit_result = job.result()
    for index in range(2):
        memory = qiskit_result.get_memory(index)
        assert len(memory) == shots and set(memory) <= {"100", "111"}
        assert Counter(memory) == qiskit_result.get_counts(index)


def test_the_worker_stores_each_items_keys_as_it_goes_and_a_cancel_removes_them(served: tuple[Server, str]
                                                                                ) -> None:
    server, url = served
    quick = H + "qreg q[4];\ncreg c[4];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
    slow = slow_basis_state_qasm(1, 18, 400)
    database = Database(url)
    try:
        with server.client() as client:
            # A page row's worth of shots each: the worker stores each item's keys before it runs the next.
            job = client.post("/jobs", json={"backend": "sim", "circuits": [quick, slow], "shots": PAGE,
                                             "memory": True, "compile": False}).json()
            deadline = time.monotonic() + 120
            stored = 0
            while stored == 0:  # the first item's keys are in the database while the second item runs
                assert time.monotonic() < deadline, client.get(f"/jobs/{job['id']}").json()
                with database.read() as session:
                    stored = int(session.scalar(select(func.coalesce(func.sum(JobMemoryPage.shots), 0))
                                                .where(JobMemoryPage.job_id == job["id"])) or 0)
                status = client.get(f"/jobs/{job['id']}").json()["status"]
                assert status in ("QUEUED", "RUNNING"), status
                time.sleep(0.05)
            assert stored == PAGE
            client.post(f"/jobs/{job['id']}/cancel")
            final = client.get(f"/jobs/{job['id']}", params={"wait": 60}).json()
        assert final["status"] == "CANCELLED"
        with database.read() as session:
            assert session.scalar(select(func.count()).select_from(JobMemoryPage)
                                  .where(JobMemoryPage.job_id == job["id"])) == 0
    finally:
        database.dispose()


def test_a_small_batch_keeps_its_memory_inline(served: tuple[Server, str]) -> None:
    server, _url = served
    circuits = [H + f"qreg q[2];\ncreg c[2];\nx q[{i % 2}];\nmeasure q -> c;\n" for i in range(3)]
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "circuits": circuits, "shots": 100, "memory": True}).json()
        done = client.get(f"/jobs/{job['id']}", params={"wait": 60}).json()
        page = client.get(f"/jobs/{job['id']}/items/1/memory", params={"offset": 98}).json()
    assert done["status"] == "DONE"
    for index, result in enumerate(done["results"]):
        key = "10" if index % 2 == 0 else "01"  # c[0] leftmost
        assert result["memory"] == [key] * 100 and result["memory_shots"] == 100
        assert result["memory_url"].endswith(f"/items/{index}/memory")
    assert page["memory"] == ["01", "01"] and page["total"] == 100
