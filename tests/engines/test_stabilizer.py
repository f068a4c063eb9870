"""Stabilizer engine (stim): wide GHZ states, random Clifford circuits against the statevector, Pauli noise."""

from __future__ import annotations

import numpy as np
import pytest
from _qasmbench import chi2_pvalue
from scipy.stats import binomtest

from xihe.circuit import Circuit, ClassicalRegister, QuantumRegister
from xihe.engines import NoiseModel, choose_engine, simulate
from xihe.engines.channels import depolarizing, pauli_channel, thermal_relaxation
from xihe.engines.clifford import is_clifford
from xihe.errors import ExecutionError

CLIFFORD_1Q = ["h", "s", "sdg", "x", "y", "z", "sx", "sxdg", "sy", "w"]
CLIFFORD_2Q = ["cx", "cz", "cy", "swap", "iswap"]


def ghz(n: int) -> Circuit:
    qc = Circuit(n, n)
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure(list(range(n)), list(range(n)))
    return qc


def random_clifford(n: int, depth: int, seed: int, measure: bool = True) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for _ in range(depth):
        if rng.random() < 0.55:
            q = int(rng.integers(n))
            r = rng.random()
            if r < 0.15:
                qc.rz(float(np.pi / 2 * rng.integers(1, 4)), q)
            elif r < 0.25:
                qc.u3(np.pi / 2, 0.0, np.pi, q)
            else:
                qc.append(str(rng.choice(CLIFFORD_1Q)), [q])
        else:
            a, b = (int(x) for x in rng.choice(n, 2, replace=False))
            qc.append(str(rng.choice(CLIFFORD_2Q)), [a, b])
    if measure:
        qc.measure(list(range(n)), list(range(n)))
    return qc


def test_500_qubit_ghz_gives_all_zeros_or_all_ones() -> None:
    qc = ghz(500)
    assert choose_engine(qc) == "stabilizer"
    result = simulate(qc, shots=2000, seed=5)
    assert result.metadata["engine"] == "stabilizer"
    assert set(result.counts) == {"0" * 500, "1" * 500}
    assert binomtest(result.counts["1" * 500], 2000).pvalue >= 1e-6


@pytest.mark.parametrize("seed", range(8))
def test_random_clifford_matches_statevector(seed: int) -> None:
    qc = random_clifford(8, 60, seed)
    assert is_clifford(qc)
    exact = simulate(qc, shots=0, engine="statevector").exact_probabilities
    counts = simulate(qc, shots=3000, seed=seed, engine="stabilizer").counts
    assert exact is not None
    assert set(counts) <= {k for k, v in exact.items() if v > 1e-12}
    assert chi2_pvalue(counts, exact) >= 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_pauli_noise_and_readout_match_density_matrix(seed: int) -> None:
    qc = random_clifford(5, 30, 100 + seed)
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.02, 1), [*CLIFFORD_1Q, "rz", "u3"])
    nm.add_gate_error(depolarizing(0.05, 2), CLIFFORD_2Q)
    nm.add_gate_error(pauli_channel(px=0.05, pz=0.02), "h", qubits=(0,))
    nm.add_readout_error(0.03, 0.03, 1)
    nm.add_readout_error(0.01, 0.06, 2)
    assert nm.is_pauli()
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    counts = simulate(qc, shots=4000, seed=seed, noise=nm, engine="stabilizer").counts
    assert exact is not None
    assert chi2_pvalue(counts, exact) >= 1e-6


def test_feedback_on_one_bit_register_matches_statevector() -> None:
    qc = Circuit(QuantumRegister("q", 3), ClassicalRegister("m", 1), ClassicalRegister("out", 2))
    qc.h(0).cx(0, 1).measure(0, 0)
    with qc.conditioned("m", 1):
        qc.x(1)
    with qc.conditioned("m", 0):
        qc.x(2)
    qc.measure([1, 2], [1, 2])
    stab = simulate(qc, shots=2000, seed=3, engine="stabilizer").counts
    assert set(stab) == {"001", "100"}
    assert binomtest(stab["100"], 2000).pvalue >= 1e-6


def test_clifford_detection_uses_parameters() -> None:
    qc = Circuit(1)
    qc.rz(np.pi / 2, 0)
    assert is_clifford(qc)
    qc.rz(0.3, 0)
    assert not is_clifford(qc)


def test_wide_non_clifford_circuit_is_refused_by_stabilizer() -> None:
    qc = ghz(40)
    qc.t(3)
    with pytest.raises(ExecutionError, match="not Clifford"):
        simulate(qc, shots=10, engine="stabilizer")


def test_non_pauli_noise_is_refused() -> None:
    nm = NoiseModel()
    nm.add_gate_error(thermal_relaxation(30e3, 20e3, 100.0), "h")
    assert not nm.is_pauli()
    with pytest.raises(ExecutionError, match="Pauli"):
        simulate(ghz(4), shots=10, noise=nm, engine="stabilizer")


def test_same_seed_same_counts() -> None:
    qc = random_clifford(30, 200, 7)
    a = simulate(qc, shots=500, seed=9, engine="stabilizer", memory=True)
    b = simulate(qc, shots=500, seed=9, engine="stabilizer", memory=True)
    assert a.counts == b.counts and a.memory == b.memory
