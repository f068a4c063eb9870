"""A VQE-style loop through ``xihe.qiskit.EstimatorV2``: 50 iterations, 4 qubits, a Hamiltonian of 3 qubit-wise
commuting Pauli groups, one Xihe job per iteration (Qiskit's ``StatevectorEstimator``/``Statevector`` as exact).

On ``sim``: sampled values (precision 0.02) are within their reported std of exact (4 sigma, every iteration;
seeded), and the loop lowers the exact energy. On the ``line10`` twin, with ``resilience_level=2`` (readout
mitigation + ZNE): measure = the mean absolute error of the 50 energies against exact; the mitigated loop's must
be below half of the unmitigated error of the same 50 parameter points (one raw job, ``resilience_level=0``).
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.service.helpers import Server
from xihe.client import Client
from xihe.qiskit import EstimatorV2, XiheBackend, XiheProvider

ITERATIONS = 50
# Three qubit-wise commuting groups: the Z terms, XXXX, YYYY.
HAMILTONIAN = SparsePauliOp.from_list([("ZZII", 1.0), ("IZZI", 1.0), ("IIZZ", 1.0), ("XXXX", 0.5),
                                       ("YYYY", 0.3)])


def ansatz() -> QuantumCircuit:
    theta = ParameterVector("θ", 8)
    qc = QuantumCircuit(4)
    for layer in range(2):
        for q in range(4):
            qc.ry(theta[4 * layer + q], q)
        for q in range(3):
            qc.cx(q, q + 1)
    return qc


def exact_energies(points: np.ndarray) -> np.ndarray:
    [pub] = StatevectorEstimator().run([(ansatz(), HAMILTONIAN, points)]).result()
    return np.asarray(pub.data.evs)


def vqe_loop(estimator: EstimatorV2, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (1+1) evolution strategy: each iteration evaluates one candidate in one job, keeps it if lower.
    Returns the points evaluated, their energies and their stds."""
    rng = np.random.default_rng(seed)
    best = rng.uniform(-np.pi, np.pi, size=8)
    best_energy = np.inf
    points, energies, stds = [], [], []
    for iteration in range(ITERATIONS):
        candidate = best if iteration == 0 else best + rng.normal(scale=0.3, size=8)
        [pub] = estimator.run([(ansatz(), HAMILTONIAN, candidate)]).result(timeout=WAIT_S)
        energy, std = float(pub.data.evs), float(pub.data.stds)
        points.append(candidate)
        energies.append(energy)
        stds.append(std)
        if energy < best_energy:
            best, best_energy = candidate, energy
    return np.array(points), np.array(energies), np.array(stds)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return Client(server.url, token=new_user_token(server, "vqe-user"))


def backend(client: Client, name: str) -> XiheBackend:
    return XiheProvider(client).get_backend(name)


def test_vqe_on_sim_values_are_within_their_std_of_exact_one_job_per_iteration(client: Client) -> None:
    before = client.jobs(limit=500).total
    estimator = EstimatorV2(mode=backend(client, "sim"), options={"default_precision": 0.02, "seed_estimator": 3})
    points, energies, stds = vqe_loop(estimator, seed=5)
    exact = exact_energies(points)
    assert client.jobs(limit=500).total - before == ITERATIONS
    assert np.all(stds > 0) and np.all(np.abs(energies - exact) <= 4 * stds)
    assert exact[np.argmin(energies)] < exact[0] - 0.5  # the loop made progress on the true energy


def test_vqe_on_line10_mitigated_energies_are_closer_to_exact_than_raw(client: Client) -> None:
    line10 = backend(client, "line10")
    # ZNE over noise factors 1 and 3 (linear Richardson) keeps the 50 twin jobs within seconds each.
    mitigated = EstimatorV2(mode=line10, options={"resilience_level": 2, "default_precision": 0.03,
                                                  "seed_estimator": 9,
                                                  "resilience": {"zne": {"noise_factors": (1, 3)}}})
    points, energies, _ = vqe_loop(mitigated, seed=6)
    raw = EstimatorV2(mode=line10, options={"resilience_level": 0, "default_precision": 0.03, "seed_estimator": 9})
    [raw_pub] = raw.run([(ansatz(), HAMILTONIAN, points)]).result(timeout=WAIT_S)
    exact = exact_energies(points)
    mitigated_error = float(np.mean(np.abs(energies - exact)))
    raw_error = float(np.mean(np.abs(np.asarray(raw_pub.data.evs) - exact)))
    assert mitigated_error < 0.5 * raw_error, (mitigated_error, raw_error)
