"""The estimator's and the sampler's answers are read from stored results in bounded pieces (issue 18), on SQLite
and PostgreSQL, with a live ``xihe serve``.

An estimation job on 20 qubits of ``h q;`` at precision 0.001 (10^6 shots) measures one circuit of about 644,000
distinct outcomes, stored in count pages: ``GET /estimate/{id}`` computes its values page by page, and raises the
API process's peak resident memory by far less than those counts' size (measured as ``test_result_pages`` does);
the values equal an independent computation from the counts read over HTTP, page by page. A sampling job of
10^6 shots with two registers is streamed a memory page at a time: the API's peak rises by less than the answer's
own size, and each shot's register values are those of the per-shot keys read over HTTP from the memory pages.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from tests.integration.test_result_pages import peak_rise_during
from tests.service.helpers import Server, served, wait_all

QUBITS = 20
PAGE = 16384
H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
UNIFORM = H + f"qreg q[{QUBITS}];\ncreg c[{QUBITS}];\nh q;\nmeasure q -> c;\n"
# SparsePauliOp labels (qubit 0 rightmost): all Z terms, so one qubit-wise commuting group measuring every qubit.
OBSERVABLES = [{"Z" * QUBITS: 1.0}, {"I" * (QUBITS - 1) + "Z": 0.5, "ZZ" + "I" * (QUBITS - 2): 2.0},
               {"I" * (QUBITS - 3) + "ZZZ": -1.5, "I" * QUBITS: 0.25}]
SAMPLE_SHOTS = 1_000_000
REGISTERS = [("a", 12), ("b", QUBITS - 12)]
TWO_REGISTERS = H + f"qreg q[{QUBITS}];\ncreg a[12];\ncreg b[{QUBITS - 12}];\nh q;\n" + "".join(
    f"measure q[{i}] -> a[{i}];\n" for i in range(12)) + "".join(
    f"measure q[{i}] -> b[{i - 12}];\n" for i in range(12, QUBITS))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served(request.param, tmp_path_factory.mktemp(f"xihe-primitive-pages-{request.param}"), WORKERS="1",
                HEARTBEAT_SECONDS="0.2", LEASE_SECONDS="5") as live:
        yield live


def _all_counts(server: Server, job_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with server.client() as client:
        while True:
            page = client.get(f"/jobs/{job_id}/items/0/counts", params={"offset": len(counts), "limit": PAGE}).json()
            if not page["counts"]:
                return counts
            counts.update(page["counts"])


def _expected(counts: dict[str, int], observable: dict[str, float]) -> tuple[float, float]:
    """Mean and standard error of ``observable`` over the shots: each shot's value is the sum of its terms'
    coefficients times (-1) to the parity of the measured bits under the term's Z letters (key bit i is qubit i)."""
    shots = sum(counts.values())
    total = squares = 0.0
    for key, n in counts.items():
        value = 0.0
        for label, coeff in observable.items():
            qubits = [q for q, ch in enumerate(reversed(label)) if ch == "Z"]
            value += coeff * (-1) ** sum(key[q] == "1" for q in qubits)
        total += n * value
        squares += n * value * value
    mean = total / shots
    return mean, math.sqrt(max(squares / shots - mean * mean, 0.0) / shots)


@pytest.fixture(scope="module")
def estimate_job(server: Server) -> dict:
    with server.client() as client:
        job = client.post("/estimate", json={"backend": "sim", "precision": 0.001, "seed": 18, "compile": False,
                                             "pubs": [{"circuit": UNIFORM, "observables": OBSERVABLES}]})
        assert job.status_code == 201, job.text
        done = wait_all(client, [job.json()["id"]], timeout=300)[job.json()["id"]]
    assert done["status"] == "DONE", done
    return done


def test_an_estimate_over_counts_in_pages_is_computed_page_by_page(server: Server, estimate_job: dict) -> None:
    record = estimate_job["results"][0] if estimate_job.get("results") else estimate_job["result"]
    assert record["counts_outcomes"] > 30 * PAGE  # ~644,000 outcomes: the measured circuit's counts are in pages
    with server.client() as client:
        url = f"/estimate/{estimate_job['id']}"
        client.get(f"/jobs/{estimate_job['id']}")  # warm the process up to the job's record
        response, rise = peak_rise_during(server, lambda: client.get(url))
    assert response.status_code == 200, response.text
    [pub] = response.json()["pubs"]
    counts = _all_counts(server, estimate_job["id"])
    assert len(counts) == record["counts_outcomes"] and sum(counts.values()) == 1_000_000 == pub["shots"]
    for j, observable in enumerate(OBSERVABLES):
        mean, std = _expected(counts, observable)
        assert pub["values"][0][j] == pytest.approx(mean, rel=1e-9, abs=1e-12)
        assert pub["stds"][0][j] == pytest.approx(std, rel=1e-9)
    whole_bytes = len(counts) * 2 * (QUBITS + 6)  # the counts and probabilities as JSON: about 34 MB
    assert rise < whole_bytes // 4, f"the estimate raised the API's peak by {rise / 2**20:.1f} MiB"


@pytest.fixture(scope="module")
def sample_job(server: Server) -> dict:
    with server.client() as client:
        job = client.post("/sample", json={"backend": "sim", "shots": SAMPLE_SHOTS, "seed": 18, "compile": False,
                                           "pubs": [{"circuit": TWO_REGISTERS}]})
        assert job.status_code == 201, job.text
        done = wait_all(client, [job.json()["id"]], timeout=300)[job.json()["id"]]
    assert done["status"] == "DONE", done
    return done


def test_a_large_sample_is_streamed_a_page_at_a_time(server: Server, sample_job: dict) -> None:
    with server.client() as client:
        url = f"/sample/{sample_job['id']}"
        client.get(f"/jobs/{sample_job['id']}")  # warm the process up to the job's record
        response, rise = peak_rise_during(server, lambda: client.get(url, timeout=300))
        assert response.status_code == 200, response.text[:500]
        keys: list[str] = []
        while page := client.get(f"/jobs/{sample_job['id']}/items/0/memory",
                                 params={"offset": len(keys), "limit": PAGE}).json()["memory"]:
            keys += page
    answer = response.json()
    assert answer["status"] == "DONE" and answer["bit_order"] == "register_bit0_lsb"
    [pub] = answer["pubs"]
    assert pub["shots"] == SAMPLE_SHOTS and not pub["shots_from_counts"]
    assert [(r["name"], r["num_bits"]) for r in pub["registers"]] == REGISTERS
    assert len(keys) == SAMPLE_SHOTS
    start = 0
    for register, (_name, width) in zip(pub["registers"], REGISTERS, strict=True):
        [samples] = register["samples"]  # one binding
        # Register bit i is the key's character start + i (c0_leftmost keys); the value's bit i is register bit i.
        assert samples == [hex(sum(1 << i for i in range(width) if key[start + i] == "1")) for key in keys]
        start += width
    assert rise < len(response.content) // 2, (
        f"the {len(response.content) / 2**20:.1f} MB answer raised the API's peak by {rise / 2**20:.1f} MiB")
