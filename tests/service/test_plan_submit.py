"""Submit-time validation and budgeting read the job's ExecutionPlan: a twin job is priced on the qubits it touches.

Qiskit's ``transpile(qc, backend)`` for a twin declares every qubit of the chip (130 for ``dongling``, 36 for
``grid36``) but touches a few; the submit-time budget once priced it by the declared width and refused it
("needs about 8.1e31 GiB").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit, qasm2, transpile

import xihe.qasm as qasm_module
from tests.client.live import new_user_token, shared_server
from tests.cluster.helpers import wide_qasm
from tests.service.helpers import Server
from xihe import devices
from xihe.client import Client
from xihe.qiskit import XiheProvider
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog
from xihe.service.cluster.executors import LocalExecutor
from xihe.service.cluster.fanout import FanOut
from xihe.service.problems import Problem
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import prepare_job


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def provider(server: Server) -> Iterator[XiheProvider]:
    with Client(server.url, new_user_token(server, "plan-user")) as client:
        yield XiheProvider(client)


def non_clifford_ghz() -> QuantumCircuit:
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.t(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.tdg(2)
    circuit.measure(range(3), range(3))
    return circuit


def test_qiskit_transpiled_dongling_circuit_is_accepted_and_runs_on_the_twin(provider: XiheProvider) -> None:
    backend = provider.get_backend("dongling")
    isa = transpile(non_clifford_ghz(), backend, optimization_level=1, seed_transpiler=7)
    assert isa.num_qubits == 130
    result = backend.run(isa, shots=400, seed_simulator=3).result()
    counts = result.get_counts()
    assert sum(counts.values()) == 400
    assert counts.get("000", 0) + counts.get("111", 0) > 0.6 * 400


def test_qiskit_transpiled_grid36_circuit_passes_submit_and_runs_on_the_twin(tmp_path: Path) -> None:
    # The shared live server keeps grid36 unserved (tests hold jobs QUEUED there): submit path and worker
    # executor in process, with Qiskit's transpile for the chip's own coupling map and native gates.
    device = devices.get("grid36")
    isa = transpile(non_clifford_ghz(), basis_gates=device.native_gates,
                    coupling_map=[list(pair) for pair in device.coupling_map], optimization_level=1,
                    seed_transpiler=7)
    assert isa.num_qubits == 36
    request = JobCreate(qasm=qasm2.dumps(isa), backend="grid36", shots=400, compile=False)
    prepared = prepare_job(Settings(data_dir=tmp_path, memory_budget_bytes=2**30), DeviceCatalog(), request)
    assert len(prepared.plan.circuits[0].physical_qubits) == 3
    item = executor.work_items({"circuits": prepared.texts, "compile": False, "seed": 3}, 400)[0]
    record = executor.run_item(device, item)
    assert record["metadata"]["engine"] == "density_matrix"
    assert record["counts"].get("000", 0) + record["counts"].get("111", 0) > 0.6 * 400


def t_layer_qasm(touched: int, declared: int, entangled: bool = False) -> str:
    """H and T on the first ``touched`` of ``declared`` qubits; ``entangled`` adds CXs pairing each with its mirror,
    so no engine but a full state (or trajectories) can take it (a product state is a small MPS)."""
    gates = "".join(f"h q[{i}];\nt q[{i}];\n" for i in range(touched))
    if entangled:
        gates += "".join(f"cx q[{i}],q[{touched - 1 - i}];\n" for i in range(touched // 2))
    measures = "".join(f"measure q[{i}] -> c[{i}];\n" for i in range(touched))
    return f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{declared}];\ncreg c[{touched}];\n{gates}{measures}'


def test_refusal_of_a_too_large_twin_job_names_engine_and_touched_qubits(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, memory_budget_bytes=2**30)
    request = JobCreate(qasm=t_layer_qasm(30, 36, entangled=True), backend="grid36", shots=100)
    with pytest.raises(Problem) as refused:
        prepare_job(settings, DeviceCatalog(), request)
    assert refused.value.status == 422
    detail = str(refused.value.detail)
    assert "trajectories engine" in detail and "30 touched qubits" in detail and "grid36" in detail


def test_prepared_job_carries_its_plan_priced_on_touched_qubits(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, memory_budget_bytes=2**30)
    text = t_layer_qasm(3, 36)
    prepared = prepare_job(settings, DeviceCatalog(), JobCreate(qasm=text, backend="grid36", shots=100))
    planned = prepared.plan.circuits[0]
    assert planned.physical_qubits == (0, 1, 2)
    assert planned.engine == "density_matrix"
    assert prepared.memory < 2**30


def test_a_job_circuit_is_parsed_once_at_submit_and_once_in_the_worker(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Every read of OpenQASM goes through xihe.qasm._parse; the job text crosses one process boundary (the
    # database), so the whole path is one parse at submit and one in the worker, however the shots are run.
    calls: list[str] = []
    original = qasm_module._parse

    def counting_parse(*args: Any, **kwargs: Any) -> Any:
        calls.append("parse")
        return original(*args, **kwargs)

    monkeypatch.setattr(qasm_module, "_parse", counting_parse)
    request = JobCreate(qasm=wide_qasm(), backend="grid36", shots=600, seed=99)
    prepared = prepare_job(Settings(data_dir=tmp_path, memory_budget_bytes=2**30), DeviceCatalog(), request)
    assert len(calls) == 1
    items = executor.work_items({"circuits": prepared.texts, "seed": 99}, 600)
    result = FanOut(LocalExecutor(), min_shots=256)(devices.get("grid36"), items, lambda: False)[0]
    assert result["metadata"]["fanout"]["tasks"] > 1  # the shot chunks ran from the one plan
    assert len(calls) == 2
