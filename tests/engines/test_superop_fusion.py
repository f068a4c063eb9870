"""Density matrix engine: gates and their noise fused into superoperators (issue 16).

Each gate with its channel, and runs of gates and channels on the same qubits, become one superoperator block;
the fused blocks must give the same density matrix as applying every gate side and channel one by one (the old
path), and the engine must make one pass per block.
"""

from __future__ import annotations

import numpy as np
import pytest

from xihe.circuit import Circuit
from xihe.engines import NoiseModel, simulate
from xihe.engines.channels import amplitude_damping, depolarizing, thermal_relaxation
from xihe.engines.density_matrix import apply_to_rho
from xihe.engines.fusion import fuse_superoperators
from xihe.engines.program import lower


def _noisy_circuit(seed: int) -> tuple[Circuit, NoiseModel]:
    rng = np.random.default_rng(seed)
    n = 5
    qc = Circuit(n, n)
    for _ in range(40):
        if rng.random() < 0.6:
            qc.u3(*[float(x) for x in rng.uniform(0, np.pi, 3)], int(rng.integers(n)))
        else:
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            qc.cx(a, b) if rng.random() < 0.7 else qc.cz(a, b)
    qc.ccx(0, 1, 2)
    qc.measure(list(range(n)), list(range(n)))
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.01, 1).compose(thermal_relaxation(30e3, 20e3, 50)), ["u3"])
    nm.add_gate_error(depolarizing(0.03, 2), ["cx", "cz"])
    nm.add_gate_error(amplitude_damping(0.05), "u3", qubits=(1,))
    return qc, nm


def _sequential(prog_body: list, n: int) -> np.ndarray:  # type: ignore[type-arg]
    rho = np.zeros(1 << (2 * n), dtype=np.complex128)
    rho[0] = 1.0
    for ins in prog_body:
        apply_to_rho(rho, n, ins)
    return rho


@pytest.mark.parametrize("max_qubits", [1, 2, 3])
@pytest.mark.parametrize("seed", range(4))
def test_fused_superoperators_equal_gate_by_gate(seed: int, max_qubits: int) -> None:
    qc, nm = _noisy_circuit(seed)
    prog = lower(qc, nm)
    fused = fuse_superoperators(prog.body, max_qubits)
    assert len(fused) < len(prog.body)
    assert any(ins.kind == "superop" for ins in fused)
    assert all(len(ins.qubits) <= max_qubits for ins in fused if ins.kind == "superop")
    expected = _sequential(prog.body, qc.num_qubits)
    got = _sequential(fused, qc.num_qubits)
    assert np.abs(got - expected).max() < 1e-13


def test_gate_and_its_noise_are_one_pass() -> None:
    qc = Circuit(2, 2)
    qc.h(0).cx(0, 1).measure([0, 1], [0, 1])
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.01, 1), ["h"])
    nm.add_gate_error(depolarizing(0.02, 2), ["cx"])
    res = simulate(qc, shots=100, seed=3, noise=nm, engine="density_matrix")
    assert res.metadata["instructions"] == 4
    assert res.metadata["kernel_passes"] == 1
    # Exact: H then depolarizing(0.01) then CX then 2-qubit depolarizing(0.02), read from the closed form.
    p2 = 0.02
    same = (1 - p2) * 1.0 + p2 * 0.5  # populations of |00>,|11> stay 1/2 each under both channels
    assert res.exact_probabilities is not None
    assert abs(res.exact_probabilities["00"] - same / 2) < 1e-12
    assert abs(res.exact_probabilities["01"] - p2 / 4) < 1e-12
