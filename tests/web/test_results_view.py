"""The results a user can read: top-k bars by count, log scale, marginals, the ideal overlay on twins, CSV."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc

import pytest
from fastapi.testclient import TestClient
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from sqlalchemy import select

from tests.web.conftest import Site
from tests.web.test_pages import submit
from xihe.service.models import JobResult
from xihe.service.schemas import ResultPublic
from xihe.web.charts import histogram_svg
from xihe.web.results import ResultOptions, result_view

# GHZ-3 with a tilt: the ideal distribution is not uniform, so a wrong ideal shows.
TILTED = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
ry(1.1) q[0];
cx q[0],q[1];
cx q[1],q[2];
x q[2];
measure q -> c;
"""


def _qiskit_ideal() -> dict[str, float]:
    """Aer-free oracle: Qiskit's statevector of the same program, keyed c[0] leftmost like Xihe."""
    circuit = QuantumCircuit.from_qasm_str(TILTED).remove_final_measurements(inplace=False)
    assert circuit is not None
    probabilities = Statevector(circuit).probabilities_dict()
    return {key[::-1]: p for key, p in probabilities.items() if p > 1e-12}


@pytest.fixture(scope="module")
def twin_job(site: Site, alice: TestClient) -> str:
    job_id = submit(alice, qasm=TILTED, backend="line10", shots="4000")
    site.run_jobs()
    return job_id


def _ideal_ticks(page: str) -> dict[str, float]:
    return {k: float(p) for k, p in re.findall(r'<g class="ideal" data-key="(\d+)" data-probability="([\d.]+)"', page)}


def test_a_twin_job_overlays_the_exact_ideal_distribution(alice: TestClient, twin_job: str) -> None:
    page = alice.get(f"/jobs/{twin_job}").text
    ideal = _ideal_ticks(page)
    expected = _qiskit_ideal()
    assert set(expected) <= set(ideal) | set()  # every likely outcome measured on the noisy twin gets its tick
    for key, p in ideal.items():
        assert p == pytest.approx(expected.get(key, 0.0), abs=1e-6)
    distance = float(re.search(r"total variation from ideal: <strong>([\d.]+)", page).group(1))  # type: ignore[union-attr]
    assert 0 < distance < 0.3  # noisy, but the same circuit
    hidden = alice.get(f"/jobs/{twin_job}?ideal=0").text
    assert _ideal_ticks(hidden) == {} and 'id="view-ideal"' in hidden


def test_an_ideal_simulator_job_has_no_overlay(site: Site, alice: TestClient) -> None:
    job_id = submit(alice, qasm=TILTED, backend="sim", shots="500")
    site.run_jobs()
    page = alice.get(f"/jobs/{job_id}").text
    assert _ideal_ticks(page) == {} and 'id="view-ideal"' not in page


def test_marginal_over_chosen_bits_sums_the_counts(alice: TestClient, twin_job: str) -> None:
    full = alice.get(f"/jobs/{twin_job}/results/0.csv").text
    rows = list(csv.DictReader(io.StringIO(full)))
    expected: dict[str, int] = {}
    for row in rows:
        key = row["outcome"][2] + row["outcome"][0]
        expected[key] = expected.get(key, 0) + int(row["count"])
    page = alice.get(f"/jobs/{twin_job}?bits=2,0").text
    bars = {k: int(c) for k, c in re.findall(r'class="bar" data-key="(\d+)" data-count="(\d+)"', page)}
    assert bars == expected and "marginal over c[2], c[0]" in page
    ideal = _ideal_ticks(page)
    oracle: dict[str, float] = {}
    for key, p in _qiskit_ideal().items():
        oracle[key[2] + key[0]] = oracle.get(key[2] + key[0], 0.0) + p
    assert ideal == pytest.approx({k: oracle.get(k, 0.0) for k in ideal}, abs=1e-6)


def test_a_chosen_bit_past_the_result_is_named_as_left_out(alice: TestClient, twin_job: str) -> None:
    """``bits=2,9`` on a 3-bit result: the marginal is over c[2] alone, and the page says so; it was headed
    "marginal over c[2], c[9]" above one-bit outcomes, as if c[9] were in them."""
    page = alice.get(f"/jobs/{twin_job}?bits=2,9").text
    rows = list(csv.DictReader(io.StringIO(alice.get(f"/jobs/{twin_job}/results/0.csv").text)))
    expected: dict[str, int] = {}
    for row in rows:
        expected[row["outcome"][2]] = expected.get(row["outcome"][2], 0) + int(row["count"])
    bars = {k: int(c) for k, c in re.findall(r'class="bar" data-key="(\d+)" data-count="(\d+)"', page)}
    assert bars == expected
    assert "marginal over c[2]</h2>" in page and "<th>Outcome (c[2])</th>" in page
    assert "c[9] is not in this result (c[0] to c[2]), so left out of the marginal." in page


def test_csv_export_is_sorted_by_count_with_the_ideal_column(alice: TestClient, twin_job: str) -> None:
    response = alice.get(f"/jobs/{twin_job}/results/0.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="xihe-{twin_job}-0.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    counts = [int(row["count"]) for row in rows]
    assert counts == sorted(counts, reverse=True) and sum(counts) == 4000
    assert float(rows[0]["ideal_probability"]) == pytest.approx(max(_qiskit_ideal().values()), abs=1e-6)
    marginal = list(csv.DictReader(io.StringIO(alice.get(f"/jobs/{twin_job}/results/0.csv?bits=1").text)))
    assert {row["outcome"] for row in marginal} == {"0", "1"}
    assert alice.get(f"/jobs/{twin_job}/results/3.csv").status_code == 404


def test_top_k_and_log_scale(alice: TestClient, twin_job: str) -> None:
    page = alice.get(f"/jobs/{twin_job}?top=8&scale=log").text
    assert 'data-scale="log"' in page and "probability (log)" in page
    counts = [int(c) for c in re.findall(r'class="bar" data-key="\d+" data-count="(\d+)"', page)]
    assert counts == sorted(counts, reverse=True) and len(counts) <= 8


def test_log_scale_shows_rare_outcomes_that_linear_flattens() -> None:
    counts = {"000": 9990, "111": 9, "010": 1}
    linear = histogram_svg(counts)
    log = histogram_svg(counts, log=True)

    def heights(svg: str) -> list[float]:
        return [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', svg)]

    assert heights(linear)[2] < 1.0  # 1 in 10,000: under a pixel on a linear axis
    assert heights(log)[2] > 40.0  # a fifth of the log axis (1e-5 .. 1)
    assert ">0.0001</text>" in log or ">1e-04</text>" in log


def test_a_result_of_paged_counts_shows_its_most_frequent_page_as_fractions_of_every_shot() -> None:
    """A record of more than 16,384 outcomes carries only the most frequent page (issue 18): the table's
    fractions are of all the result's shots, not of the page's."""
    page = {"00": 30, "01": 20}  # the most frequent outcomes of 100 shots; the other 50 are in later pages
    result = ResultPublic(counts=page, probabilities={k: v / 100 for k, v in page.items()}, shots=100,
                          counts_outcomes=40, counts_url="/api/v1/jobs/j/items/0/counts")
    view = result_view(0, result, ResultOptions(), [""], with_ideal=False)
    assert view.counts == [("00", 30, 0.3), ("01", 20, 0.2)]


def _store_compiled(site: Site, job_id: str, compiled: str) -> None:
    """Put ``compiled`` in the job's stored record as its compiled circuit (as a worker would have stored it)."""
    with site.database.write() as session:
        row = session.scalars(select(JobResult).where(JobResult.job_id == job_id)).one()
        row.data = {**row.data, "compiled_qasm": compiled}


@pytest.mark.parametrize("compiled", [
    # A few KB that expand to 256,000 operations (broadcasts), and 400 KB of plain single-qubit gates.
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[64];\n' + "h q;\n" * 4000,
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[64];\n' + "".join(f"x q[{i % 64}];\n" for i in range(40_000)),
], ids=["broadcasts", "long-text"])
def test_a_large_stored_compiled_circuit_is_not_built_to_be_drawn(site: Site, alice: TestClient,
                                                                  compiled: str) -> None:
    """The job page reads stored compiled QASM on its request thread: past the drawing's bounds it says the circuit
    is too large to draw, having built none of it (the page's peak Python allocation stays far below what 256,000
    or 40,000 operations take: before, the whole circuit was read, then found too large)."""
    job_id = submit(alice)
    site.run_jobs()
    _store_compiled(site, job_id, compiled)
    alice.get(f"/jobs/{job_id}")  # warm the page's own caches once
    tracemalloc.start()
    try:
        page = alice.get(f"/jobs/{job_id}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.status_code == 200
    assert peak < 8 * 2**20, f"the page allocated {peak / 2**20:.1f} MiB at its peak"
    assert "too large to draw" in page.text
