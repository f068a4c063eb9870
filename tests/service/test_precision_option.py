"""The ``precision`` job option from the clients through submit, the stored payload, the plan and the worker; the
plan's refusal of a too-entangled wide circuit says why the MPS engine cannot take it; noisy MPS runs fan out in
the engine's own chunks (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from qiskit import QuantumCircuit

from tests.client.live import new_user_token, shared_server
from tests.service.helpers import Server
from xihe import devices
from xihe.circuit import Circuit
from xihe.client import Client
from xihe.client.payloads import submit_body
from xihe.devices.plan import PlanOptions
from xihe.errors import ResourceError
from xihe.qiskit import XiheProvider
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog
from xihe.service.cluster.executors import LocalExecutor
from xihe.service.cluster.fanout import FanOut
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import prepare_job

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


def test_job_schema_takes_single_or_double_only() -> None:
    assert JobCreate(qasm=BELL, backend="sim").precision == "double"
    assert JobCreate(qasm=BELL, backend="sim", precision="single").precision == "single"
    with pytest.raises(ValidationError):
        JobCreate(qasm=BELL, backend="sim", precision="half")


def test_client_body_sends_precision_only_when_single() -> None:
    common = {"shots": 10, "compile": True, "seed": None, "name": None, "tags": (), "optimization_level": 2,
              "parameters": None, "priority": 0, "memory": False}
    assert "precision" not in submit_body(BELL, "sim", **common)  # type: ignore[arg-type]
    assert submit_body(BELL, "sim", precision="single", **common)["precision"] == "single"  # type: ignore[arg-type]


def test_plan_prices_single_precision_at_half_and_keeps_double_elsewhere() -> None:
    wide = Circuit(20, 20)
    for q in range(20):
        wide.h(q).t(q)
    for q in range(10):
        wide.cx(q, 19 - q)
    wide.measure(list(range(20)), list(range(20)))
    sim = devices.get("sim")
    double = sim.plan([wide], 10, PlanOptions(compile=False)).circuits[0]
    single = sim.plan([wide], 10, PlanOptions(compile=False, precision="single")).circuits[0]
    assert (double.engine, double.precision) == ("statevector", "double")
    assert (single.engine, single.precision) == ("statevector", "single")
    assert double.memory_bytes - single.memory_bytes == 8 << 20
    bell = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    twin = devices.get("line10").plan([bell], 10, PlanOptions(precision="single")).circuits[0]
    assert (twin.engine, twin.precision) == ("density_matrix", "double")  # the density matrix runs in double


def test_submitted_single_precision_job_runs_in_single_precision(tmp_path: Path) -> None:
    request = JobCreate(qasm=BELL, backend="sim", shots=300, precision="single", seed=4)
    prepared = prepare_job(Settings(data_dir=tmp_path, memory_budget_bytes=2**30), DeviceCatalog(), request)
    assert prepared.plan.circuits[0].precision == "single"
    payload = {"circuits": prepared.texts, "seed": 4, "precision": request.precision}
    item = executor.work_items(payload, 300)[0]
    assert item.precision == "single"
    record = executor.run_item(devices.get("sim"), item)
    assert record["metadata"]["precision"] == "single"
    assert set(record["counts"]) <= {"00", "11"}
    old = executor.work_items({"circuits": prepared.texts, "seed": 4}, 300)[0]  # payloads stored before the option
    assert old.precision == "double"


def test_too_entangled_wide_circuit_is_refused_with_the_bond_dimension_reason() -> None:
    qc = Circuit(30, 30)
    for q in range(30):
        qc.h(q).t(q)
    for q in range(15):
        qc.cx(q, 29 - q)
    qc.measure(list(range(30)), list(range(30)))
    plan = devices.get("grid36").plan([qc], 10, PlanOptions(defer_compile=True, memory_limit=2**30))
    with pytest.raises(ResourceError, match=r"bond dimension of up to 32768 .* cap of 256"):
        plan.check_memory()


def test_noisy_mps_twin_jobs_are_cut_into_shot_chunks_like_trajectories() -> None:
    n = 13  # wider than the density matrix takes; with a 1 MiB limit the trajectories' states do not fit
    qc = Circuit(n, n).h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.t(3).measure(list(range(n)), list(range(n)))
    options = PlanOptions(defer_compile=True, memory_limit=2**20)
    plan = devices.get("grid36").plan([qc], 600, options)
    assert plan.circuits[0].engine == "mps" and plan.circuits[0].noise is not None
    assert FanOut(LocalExecutor(), min_shots=256).splits(plan, plan.circuits[0])
    assert not FanOut(LocalExecutor(), min_shots=1024).splits(plan, plan.circuits[0])  # too few shots to cut


def test_qiskit_adapter_and_client_pass_precision(server: Server) -> None:
    with Client(server.url, new_user_token(server, "precision-user")) as client:
        job = client.run(BELL, backend="sim", shots=200, seed=5, precision="single")
        assert job.result().metadata["precision"] == "single"
        backend = XiheProvider(client).get_backend("sim")
        qc = QuantumCircuit(2, 2)
        qc.h(0)
        qc.cx(0, 1)
        qc.measure([0, 1], [0, 1])
        qjob = backend.run(qc, shots=200, seed_simulator=5, precision="single")
        counts = qjob.result().get_counts()
        assert sum(counts.values()) == 200 and set(counts) <= {"00", "11"}
        assert qjob.xihe_jobs[0].result().metadata["precision"] == "single"
