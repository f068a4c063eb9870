"""Single precision (complex64) on the statevector and trajectories engines, against double precision.

The documented tolerance (:data:`xihe.engines.statevector.SINGLE_PRECISION_TOLERANCE`): ``1 - fidelity`` and every
probability's error within 1e-5 of the double-precision result.
"""

from __future__ import annotations

import numpy as np
import pytest
from _qasmbench import chi2_pvalue

from xihe.circuit import Circuit
from xihe.engines import NoiseModel, get_engine, kernels, simulate
from xihe.engines.channels import amplitude_damping, depolarizing
from xihe.engines.statevector import SINGLE_PRECISION_TOLERANCE
from xihe.errors import ExecutionError
from xihe.testing import random_circuit


def _qv_like(n: int, layers: int, seed: int) -> Circuit:
    """Dense random layers (u3 on every qubit, cx on shuffled pairs): many fused 4-qubit blocks."""
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for _ in range(layers):
        for q in range(n):
            qc.u3(*[float(x) for x in rng.uniform(0, np.pi, 3)], q)
        perm = rng.permutation(n)
        for a, b in zip(perm[0::2], perm[1::2], strict=False):
            qc.cx(int(a), int(b))
    qc.measure(list(range(n)), list(range(n)))
    return qc


@pytest.mark.parametrize(("n", "layers", "seed"), [(6, 10, 1), (12, 20, 2), (16, 24, 3)])
def test_single_precision_state_within_tolerance_of_double(n: int, layers: int, seed: int) -> None:
    qc = _qv_like(n, layers, seed)
    double = simulate(qc, shots=0, engine="statevector")
    single = simulate(qc, shots=0, engine="statevector", engine_options={"precision": "single"})
    assert double.statevector is not None and single.statevector is not None
    assert single.statevector.dtype == np.complex64 and double.statevector.dtype == np.complex128
    assert single.metadata["precision"] == "single" and double.metadata["precision"] == "double"
    fidelity = abs(np.vdot(double.statevector, single.statevector.astype(np.complex128))) ** 2
    assert 1 - fidelity <= SINGLE_PRECISION_TOLERANCE
    assert double.exact_probabilities is not None and single.exact_probabilities is not None
    worst = max(abs(double.exact_probabilities[k] - single.exact_probabilities.get(k, 0.0))
                for k in double.exact_probabilities)
    assert worst <= SINGLE_PRECISION_TOLERANCE


def test_single_precision_kernels_match_double_on_every_path() -> None:
    """Dense (tiled, float32 buffers), sparse, diagonal, controlled and 1q kernels, serial and parallel sizes."""
    rng = np.random.default_rng(4)
    for n in (8, 16):
        psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
        psi /= np.linalg.norm(psi)
        single = psi.astype(np.complex64)
        dense = np.linalg.qr(rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16)))[0]
        perm = np.eye(16, dtype=np.complex128)[rng.permutation(16)]
        u1 = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))[0]
        diag = np.exp(1j * rng.uniform(0, 6, 4))
        for state in (psi, single):
            kernels.apply_dense(state, np.array([0, 3, n - 1, 5]), dense)
            kernels.apply_dense(state, np.array([1, 2, 4, 6]), perm)
            kernels.apply_diagonal(state, np.array([2, n - 2]), diag)
            kernels.apply_controlled_1q(state, 0b101, 1, u1)
            kernels.apply_1q(state, n - 1, u1)
        assert single.dtype == np.complex64
        assert np.abs(single - psi).max() < 1e-6
        probs = kernels.probabilities(single)
        assert probs.dtype == np.float64


def test_single_precision_halves_the_memory_estimate() -> None:
    qc = _qv_like(20, 1, 0)
    double = get_engine("statevector").estimate_memory(qc)
    single = get_engine("statevector", precision="single").estimate_memory(qc)
    assert single < double
    assert double - single == (8 << 20)  # 8 bytes fewer per amplitude
    assert get_engine("trajectories", precision="single").estimate_memory(qc) * 2 == \
        get_engine("trajectories").estimate_memory(qc)


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(ExecutionError, match="precision"):
        get_engine("statevector", precision="half")


def test_single_precision_trajectories_follow_the_density_matrix() -> None:
    qc = random_circuit(5, 8, seed=11, measure=True)
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.05, 1), "*")
    nm.add_gate_error(depolarizing(0.08, 2), ["cx", "cz", "swap", "cp", "ch"])
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=8000, seed=2, noise=nm, engine="trajectories",
                   engine_options={"precision": "single", "processes": 1})
    assert res.metadata["precision"] == "single"
    assert chi2_pvalue(res.counts, exact) > 1e-6


def test_single_precision_trajectories_with_non_unitary_channels() -> None:
    """Amplitude damping is not a mixture of unitaries: each shot runs on its own complex64 state."""
    qc = Circuit(3, 3)
    qc.h(0).cx(0, 1).x(2).measure([0, 1, 2], [0, 1, 2])
    nm = NoiseModel()
    nm.add_gate_error(amplitude_damping(0.2), ["h", "x"])
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=4000, seed=9, noise=nm, engine="trajectories",
                   engine_options={"precision": "single", "processes": 1})
    assert chi2_pvalue(res.counts, exact) > 1e-6


def test_simulate_front_door_takes_precision() -> None:
    qc = _qv_like(8, 4, 7)
    single = simulate(qc, shots=2000, seed=3, precision="single")
    assert single.metadata["engine"] == "statevector" and single.metadata["precision"] == "single"
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.01, 1), "*")
    noisy = simulate(qc, shots=100, seed=3, noise=nm, precision="single")  # auto: the density matrix, in double
    assert noisy.metadata["engine"] == "density_matrix" and noisy.metadata["precision"] == "double"
    with pytest.raises(ExecutionError, match="statevector and trajectories"):
        simulate(qc, shots=100, noise=nm, engine="density_matrix", precision="single")
    with pytest.raises(ExecutionError, match="precision"):
        simulate(qc, shots=100, precision="quad")
