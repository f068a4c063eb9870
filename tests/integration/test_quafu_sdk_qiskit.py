"""quafu-sdk 0.2.7's Qiskit adapter (``quafu.qiskit``), unmodified, against a live Xihe server.

``QuafuProvider`` lists Xihe's targets, builds a Qiskit ``Target`` from ``/backends/{t}/metadata``, runs transpiled
circuits and converts the counts to Qiskit's keys. Oracles: Qiskit's own ``Statevector`` probabilities of the same
circuits (computed in the client's venv), and the device's coupling map from the native API.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.client.live import new_user_token, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import Server

SCENARIO = r'''
import json, math, sys
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import Statevector
from quafu import Client
from quafu.qiskit import QuafuProvider, sweep

url, token = sys.argv[1], sys.argv[2]
provider = QuafuProvider(api_key=token, base_url=url)
out = {"backends": [b.name for b in provider.backends()]}
line10 = provider.get_backend("line10")
out["target"] = {"n": line10.target.num_qubits, "ops": sorted(line10.target.operation_names),
                 "edges": sorted(list(e) for e in line10.target.build_coupling_map().get_edges())}
# Two registers, permuted measurements: Qiskit's keys have a space between registers, c0 rightmost.
qc = QuantumCircuit(3)
from qiskit.circuit import ClassicalRegister
a, b = ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
qc.add_register(a); qc.add_register(b)
qc.x(0); qc.h(1); qc.cx(1, 2)
qc.measure(0, a[1]); qc.measure(1, a[0]); qc.measure(2, b[0])
ideal = qc.remove_final_measurements(inplace=False)
probs = Statevector(ideal).probabilities_dict()  # qubit keys, q0 rightmost
out["exact"] = {f"{k[0]} {k[2]}{k[1]}": p for k, p in probs.items() if p > 1e-12}  # b a1 a0 = q2, q0, q1
sim = provider.get_backend("sim")
job = sim.run(transpile(qc, sim), shots=2000)
out["sim_counts"] = job.result().get_counts()
out["sim_status"] = str(job.status())
# The logical circuit, compiled by Xihe; and the same circuit after Qiskit's transpile, which declares all 10
# of line10's qubits (only the 3 it acts on must be connected).
twin = line10.run(qc, shots=2000)
out["twin_counts"] = twin.result().get_counts()
out["transpiled_width"] = transpile(qc, line10).num_qubits
out["transpiled_twin_counts"] = line10.run(transpile(qc, line10), shots=2000).result().get_counts()
# Jiuding: the Target is the chip's (noise "none" on a real chip's graph), and the run is exact.
jiuding = provider.get_backend("line10-sim-jiuding")
out["jiuding_edges"] = sorted(list(e) for e in jiuding.target.build_coupling_map().get_edges())
out["jiuding_counts"] = jiuding.run(transpile(qc, jiuding, seed_transpiler=3), shots=2000).result().get_counts()
theta = Parameter("theta")
pq = QuantumCircuit(1, 1); pq.rx(theta, 0); pq.measure(0, 0)
sw = sweep(pq, [[0.0], [math.pi]], "sim", shots=300, client=Client(api_key=token, base_url=url))
table = sw.table(timeout=300)
out["sweep"] = {"theta": table.column("theta"), "counts": table.counts}
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "sdk-qiskit-user")


@pytest.fixture(scope="module")
def report(server: Server, token: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = client_python("quafu-sdk", "0.2.7", 11, extra="qiskit")
    return run_client(python, SCENARIO, tmp_path_factory.mktemp("sdk-qiskit-home"), server.url, token)


def test_provider_lists_xihe_targets(report: dict[str, Any]) -> None:
    assert {"sim", "line10", "line10-sim", "dongling"} <= set(report["backends"])


def test_target_is_the_devices_topology_and_native_gates(report: dict[str, Any], server: Server, token: str) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as native:
        device = native.get("/backends/line10").json()
    assert report["target"]["n"] == device["num_qubits"]
    assert report["target"]["edges"] == sorted(device["coupling_map"])
    assert {"cx", "rx", "rz", "measure"} <= set(report["target"]["ops"])


def test_counts_come_back_in_qiskits_keys_with_exact_probabilities(report: dict[str, Any]) -> None:
    exact, counts = report["exact"], report["sim_counts"]
    assert set(counts) == set(exact) == {"0 10", "1 11"}
    assert sum(counts.values()) == 2000
    for key, p in exact.items():
        assert abs(counts[key] / 2000 - p) < 6 * (p * (1 - p) / 2000) ** 0.5
    assert report["sim_status"] == "JobStatus.DONE"


def test_circuit_on_the_twin_gives_the_ideal_outcomes_mostly(report: dict[str, Any]) -> None:
    counts = report["twin_counts"]
    assert sum(n for k, n in counts.items() if k in report["exact"]) > 0.8 * 2000


def test_qiskit_transpiled_circuit_declaring_the_whole_chip_runs_on_the_twin(report: dict[str, Any]) -> None:
    assert report["transpiled_width"] == 10
    counts = report["transpiled_twin_counts"]
    assert sum(n for k, n in counts.items() if k in report["exact"]) > 0.8 * 2000


def test_qiskit_sweep_binds_locally_and_tables_by_point(report: dict[str, Any]) -> None:
    assert report["sweep"]["theta"] == [0.0, 3.141592653589793]
    assert report["sweep"]["counts"] == [{"0": 300}, {"1": 300}]


def test_jiuding_backend_is_the_chips_graph_and_runs_exactly(report: dict[str, Any]) -> None:
    assert report["jiuding_edges"] == report["target"]["edges"]
    exact, counts = report["exact"], report["jiuding_counts"]
    assert set(counts) == set(exact) and sum(counts.values()) == 2000
    for key, p in exact.items():
        assert abs(counts[key] / 2000 - p) < 6 * (p * (1 - p) / 2000) ** 0.5
