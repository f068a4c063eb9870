"""Issue 15, "Must show", first bullet, on the ideal backends the other Qiskit tests leave out: ``sim-clifford``
(the stabilizer simulator) and the twins' noiseless variants (``line10-ideal``, ``dongling-ideal``: the chip's
Target, no noise). ``transpile`` + ``backend.run``, Qiskit's ``BackendSamplerV2`` and ``BackendEstimatorV2``, and
Xihe's ``SamplerV2``/``EstimatorV2`` on seeded random Clifford circuits must match Aer: counts by chi-square against
Aer's exact probabilities (p > 1e-3), expectation values within 4 reported standard errors of Aer's exact ones.
(``sim`` is covered by ``test_qiskit_adapter.py`` and ``test_qiskit_primitives.py``; the noisy twins by
``test_qiskit_twins_vs_aer.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2
from qiskit.quantum_info import SparsePauliOp, random_clifford
from qiskit_aer import AerSimulator

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.integration.twin_model import chi_square_pvalue
from tests.service.helpers import Server
from xihe.client import Client
from xihe.qiskit import EstimatorV2, SamplerV2, XiheBackend, XiheProvider

BACKENDS = ("sim-clifford", "line10-ideal", "dongling-ideal")
SHOTS = 2000
P_MIN = 1e-3
OBSERVABLES = [SparsePauliOp.from_list([("ZZI", 1.0), ("IZZ", 0.5), ("ZIZ", -0.7)]),
               SparsePauliOp.from_list([("XXX", 1.0), ("YYI", 0.4), ("IXY", -0.6)])]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def provider(server: Server) -> Iterator[XiheProvider]:
    with Client(server.url, new_user_token(server, "qiskit-ideal-backends")) as client:
        yield XiheProvider(client)


def clifford_circuit(seed: int, measure: bool = True) -> QuantumCircuit:
    """A seeded random 3-qubit Clifford, as gates."""
    qc = random_clifford(3, seed=seed).to_circuit()
    qc.name = f"clifford-{seed}"
    if measure:
        qc.measure_all()
    return qc


def aer_probabilities(circuit: QuantumCircuit) -> dict[str, float]:
    """Aer's exact distribution of the measured bits (Qiskit key order)."""
    bare = circuit.remove_final_measurements(inplace=False)
    bare.save_probabilities_dict()
    simulator = AerSimulator(method="statevector")
    found = simulator.run(transpile(bare, simulator)).result().data()["probabilities"]
    width = circuit.num_qubits
    return {format(int(k, 16) if isinstance(k, str) else int(k), f"0{width}b"): float(v) for k, v in found.items()}


def aer_expectation(circuit: QuantumCircuit, observable: SparsePauliOp) -> float:
    bare = circuit.copy()
    bare.save_expectation_value(observable, range(circuit.num_qubits))
    simulator = AerSimulator(method="statevector")
    return float(np.real(simulator.run(transpile(bare, simulator)).result().data()["expectation_value"]))


def check_counts(label: str, counts: dict[str, int], circuit: QuantumCircuit) -> None:
    probabilities = aer_probabilities(circuit)
    assert sum(counts.values()) == SHOTS
    p = chi_square_pvalue(counts, probabilities)
    print(f"{label}: p = {p:.4g}")
    assert p > P_MIN


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, provider: XiheProvider) -> XiheBackend:
    return provider.get_backend(request.param)


def test_transpile_and_run_matches_aer(backend: XiheBackend) -> None:
    circuits = [clifford_circuit(seed) for seed in (3, 4)]
    result = backend.run([transpile(c, backend, optimization_level=1, seed_transpiler=1) for c in circuits],
                         shots=SHOTS, seed_simulator=5).result(timeout=WAIT_S)
    for i, circuit in enumerate(circuits):
        check_counts(f"{backend.name} run {circuit.name}", result.get_counts(i), circuit)


def test_backend_sampler_v2_and_xihe_sampler_v2_match_aer(backend: XiheBackend) -> None:
    circuit = clifford_circuit(6)
    isa = transpile(circuit, backend, optimization_level=1, seed_transpiler=2)
    theirs = BackendSamplerV2(backend=backend, options={"seed_simulator": 7}).run([isa], shots=SHOTS).result()
    check_counts(f"{backend.name} BackendSamplerV2", theirs[0].data.meas.get_counts(), circuit)
    ours = SamplerV2(mode=backend, options={"seed": 8}).run([isa], shots=SHOTS).result(timeout=WAIT_S)
    check_counts(f"{backend.name} SamplerV2", ours[0].data.meas.get_counts(), circuit)


def test_backend_estimator_v2_and_xihe_estimator_v2_match_aer(backend: XiheBackend) -> None:
    circuit = clifford_circuit(9, measure=False)
    isa = transpile(circuit, backend, optimization_level=1, seed_transpiler=3)
    exact = [aer_expectation(circuit, o) for o in OBSERVABLES]
    laid_out = [o.apply_layout(isa.layout) for o in OBSERVABLES]
    theirs = BackendEstimatorV2(backend=backend, options={"seed_simulator": 10, "default_precision": 0.03})
    ours = EstimatorV2(mode=backend, options={"seed_estimator": 11, "default_precision": 0.03})
    for label, estimator in (("BackendEstimatorV2", theirs), ("EstimatorV2", ours)):
        [pub] = estimator.run([(isa, laid_out)]).result()
        evs, stds = np.asarray(pub.data.evs, dtype=float), np.asarray(pub.data.stds, dtype=float)
        print(f"{backend.name} {label}: {np.round(evs, 4).tolist()} +- {np.round(stds, 4).tolist()}, "
              f"Aer {np.round(exact, 4).tolist()}")
        # A Clifford state's Pauli expectations are 0 or +-1: a zero-variance value has std 0 and must be exact.
        assert np.all(np.abs(evs - exact) <= 4 * stds + 1e-9)
