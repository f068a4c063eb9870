"""Statevector engine: states, sampling, dynamic circuits, determinism, resource refusal."""

from __future__ import annotations

import numpy as np
import pytest

from xihe.circuit import Circuit
from xihe.circuit.protocols import unitary
from xihe.circuit.standard_gates import embed
from xihe.engines import simulate
from xihe.errors import ResourceError


def _dense_reference(qc: Circuit) -> np.ndarray:
    state = np.zeros(1 << qc.num_qubits, dtype=complex)
    state[0] = 1
    for op in qc.operations:
        if op.gate.is_unitary:
            state = embed(unitary(op.gate), op.qubits, qc.num_qubits) @ state
    return state


def _random_circuit(n: int, depth: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n)
    one = ["h", "x", "s", "t", "sx", "y"]
    for _ in range(depth):
        kind = rng.integers(5)
        qs = [int(q) for q in rng.choice(n, 3, replace=False)]
        if kind == 0:
            qc.append(str(rng.choice(one)), qs[:1])
        elif kind == 1:
            qc.u3(*rng.uniform(0, 2 * np.pi, 3), qs[0])
        elif kind == 2:
            qc.append(str(rng.choice(["cx", "cz", "swap", "iswap"])), qs[:2])
        elif kind == 3:
            qc.cp(float(rng.uniform(0, 6)), qs[0], qs[1])
        else:
            qc.append(str(rng.choice(["ccx", "cswap"])), qs)
    return qc


@pytest.mark.parametrize("seed", range(6))
def test_fused_state_matches_dense_matrices(seed: int) -> None:
    qc = _random_circuit(6, 60, seed)
    state = simulate(qc, shots=0).statevector
    assert state is not None
    assert abs(abs(np.vdot(_dense_reference(qc), state)) - 1) < 1e-12


def test_bell_counts_use_c0_leftmost_keys() -> None:
    qc = Circuit(3, 3)
    qc.x(0).measure([0, 1, 2], [0, 1, 2])
    assert simulate(qc, shots=10, seed=1).counts == {"100": 10}


def test_statevector_index_has_qubit0_leftmost() -> None:
    qc = Circuit(2)
    qc.x(0)
    state = simulate(qc, shots=0).statevector
    assert state is not None and abs(state[0b10]) == pytest.approx(1.0)


def test_mid_circuit_measurement_and_condition() -> None:
    qc = Circuit(2, 2)
    qc.h(0).measure(0, 0)
    with qc.conditioned("c", 1):
        qc.x(1)
    qc.measure(1, 1)
    counts = simulate(qc, shots=2000, seed=3).counts
    assert set(counts) == {"00", "11"}
    assert 900 < counts["11"] < 1100


def test_reset_returns_qubit_to_zero() -> None:
    qc = Circuit(1, 2)
    qc.h(0).measure(0, 0).reset(0).measure(0, 1)
    counts = simulate(qc, shots=1000, seed=4).counts
    assert set(counts) <= {"00", "10"}


def test_same_seed_same_counts_and_memory() -> None:
    qc = _random_circuit(5, 40, 9)
    qc.measure_all()
    a = simulate(qc, shots=500, seed=11, memory=True, engine="statevector")
    b = simulate(qc, shots=500, seed=11, memory=True, engine="statevector")
    assert a.counts == b.counts and a.memory == b.memory
    assert a.metadata["seed"] == 11 and a.metadata["engine"] == "statevector" and "xihe_version" in a.metadata


def test_too_large_state_is_refused_before_allocating() -> None:
    qc = Circuit(40)
    qc.h(0).t(0)
    with pytest.raises(ResourceError, match="statevector"):
        simulate(qc, shots=10, engine="statevector")


def test_exact_probabilities_with_shots_zero() -> None:
    qc = Circuit(2, 1)
    qc.h(0).measure(0, 0)
    res = simulate(qc, shots=0)
    assert res.exact_probabilities == pytest.approx({"0": 0.5, "1": 0.5})
