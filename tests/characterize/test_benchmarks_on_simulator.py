"""XEB, GHZ and quantum volume on xihe.simulate with noise models whose answer is known in closed form."""

from __future__ import annotations

import numpy as np

from xihe import NoiseModel
from xihe.characterize.ghz import GHZFidelity
from xihe.characterize.ideal import ideal_probabilities
from xihe.characterize.quantum_volume import QuantumVolume, heavy_outputs, model_circuit, quantum_volume
from xihe.characterize.runners import simulator_runner
from xihe.characterize.xeb import XEB
from xihe.circuit import Circuit
from xihe.engines.channels import depolarizing

from .helpers import circuit_matrix


def test_ideal_reference_matches_the_circuit_unitary() -> None:
    qc = model_circuit(3, np.random.default_rng(4))
    state = circuit_matrix(qc)[:, 0]
    assert np.allclose(ideal_probabilities(qc), np.abs(state) ** 2)
    # Qubit order: qubits[0] is the most significant bit, as in count keys.
    assert np.allclose(ideal_probabilities(Circuit(2).x(1)), [0, 1, 0, 0])
    assert np.allclose(ideal_probabilities(Circuit(2).x(1), [1, 0]), [0, 0, 1, 0])


def test_ghz_fidelity_under_readout_error_matches_the_closed_form() -> None:
    e = 0.03
    noise = NoiseModel()
    for q in range(3):
        noise.add_readout_error(e, e, q)
    result = GHZFidelity([0, 1, 2]).run(simulator_runner(noise), shots=4000, seed=5)
    for n in (2, 3):
        # Populations read right with (1-e)^n + e^n; parity contrast shrinks by (1-2e) per qubit.
        truth = ((1 - e) ** n + e**n) / 2 + (1 - 2 * e) ** n / 2
        assert result[f"fidelity[{n}]"].contains(truth)


def test_ghz_is_perfect_on_an_ideal_simulator() -> None:
    result = GHZFidelity([0, 1, 2, 3], sizes=[4]).run(simulator_runner(), shots=2000, seed=1)
    assert result["fidelity[4]"].value > 0.98


def test_xeb_recovers_depolarizing_error_per_cycle() -> None:
    p = 0.03
    noise = NoiseModel()
    noise.add_gate_error(depolarizing(p, 2), "cz")
    result = XEB([0, 1], depths=(1, 4, 8, 14, 20), circuits_per_depth=8, seed=2).run(
        simulator_runner(noise), shots=1000, seed=4)
    # depolarizing(p) is rho -> (1-p) rho + p I/4: the depolarizing fidelity per cycle is 1 - p.
    assert result["fidelity_per_cycle"].contains(1 - p)
    assert result["pauli_error_per_cycle"].contains(p * 15 / 16)


def test_quantum_volume_passes_on_the_ideal_simulator_and_fails_under_heavy_noise() -> None:
    ideal = [QuantumVolume(n, trials=100, seed=n).run(simulator_runner(), shots=200, seed=1) for n in (2, 3)]
    assert all(r.metadata["passed"] for r in ideal)
    assert quantum_volume(ideal) == 8
    noise = NoiseModel()
    noise.add_gate_error(depolarizing(0.3, 2), "cx")
    noisy = QuantumVolume(3, trials=60, seed=3).run(simulator_runner(noise), shots=200, seed=1)
    assert not noisy.metadata["passed"]
    assert quantum_volume([ideal[0], noisy]) == 4


def test_heavy_outputs_are_above_the_median() -> None:
    probs = np.array([0.4, 0.1, 0.3, 0.2])
    assert sorted(heavy_outputs(probs)) == [0, 2]
