"""The parse process imports only what reading and pricing a program needs (issue 18).

A parse process (:mod:`xihe.service.parse_pool`) is spawned as the pool spawns it, warmed, and handed real
submissions on every kind of backend (ideal, Clifford-only, noisy twins wide enough for the trajectories engine,
a wide Clifford circuit; a sampling and an estimation request): afterwards numba, llvmlite, scipy and qiskit are
not among its modules and its resident memory is under a bound that the process importing the kernels exceeded
(``benchmarks/parse_process.py``: 234 MiB and 906 modules before, 86 MiB and 633 after; docs/benchmarks.md,
"Hostile input, fifth pass").
"""

from __future__ import annotations

import sys
from pathlib import Path

from xihe.service.catalog import DeviceCatalog
from xihe.service.estimate import prepare_estimate
from xihe.service.estimate_schemas import EstimateCreate
from xihe.service.parse_pool import ParsePool
from xihe.service.sample import prepare_sample
from xihe.service.sample_schemas import SampleCreate
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import check_job

HEAVY = ("numba", "llvmlite", "scipy", "qiskit")
# numba's import alone is ~85 MiB.
RSS_BOUND = 120 * 2**20


def ghz(qubits: int, t_gate: bool = False, measured: bool = True) -> str:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{qubits}];", f"creg c[{qubits}];", "h q[0];"]
    lines += [f"cx q[{i}],q[{i + 1}];" for i in range(qubits - 1)]
    lines += ["t q[0];"] if t_gate else []
    return "\n".join([*lines, *(["measure q -> c;"] if measured else []), ""])


def parse_and_report(settings: Settings, catalog: DeviceCatalog, requests: list[JobCreate], *,
                     inline_operations: int | None = None) -> tuple[list[str], int]:
    """A parse pool task: check each submission as the submit routes do (jobs, then a sampling and an estimation
    request on a twin), then say what the process holds."""
    for request in requests:
        check_job(settings, catalog, request, inline_operations=inline_operations)
    prepare_sample(settings, catalog, SampleCreate(backend="dongling", shots=100, pubs=[{"circuit": ghz(10, True)}]))
    prepare_estimate(settings, catalog, EstimateCreate(backend="dongling", pubs=[
        {"circuit": ghz(10, True, measured=False), "observables": [{"Z" * 10: 1.0}]}]))
    heavy = sorted(name for name in sys.modules if name.partition(".")[0] in HEAVY)
    status = Path("/proc/self/status").read_text()
    rss_kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return heavy, rss_kib * 1024


def test_the_parse_process_imports_no_kernels_and_stays_small(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, parse_workers=1, parse_inline_bytes=0, memory_budget_bytes=2**30)
    requests = [
        JobCreate(qasm=ghz(12, t_gate=True), backend="sim", shots=100),
        JobCreate(qasm=ghz(30), backend="sim-clifford", shots=100),
        JobCreate(qasm=ghz(8), backend="line10", shots=100),
        JobCreate(qasm=ghz(14, t_gate=True), backend="dongling", shots=1000),
        JobCreate(qasm=ghz(30), backend="grid36", shots=100),
        JobCreate(circuits=[ghz(4), ghz(16, t_gate=True)], backend="grid36-ideal", shots=100),
    ]
    pool = ParsePool(settings, DeviceCatalog())
    try:
        heavy, rss = pool.run([request.qasm or "" for request in requests], parse_and_report, requests)
    finally:
        pool.close()
    assert heavy == []
    assert rss < RSS_BOUND, f"{rss / 2**20:.0f} MiB"
