"""The Clifford-skeleton bond bound: never below the true Schmidt rank, exact on stabilizer states, and tight enough
that a GHZ state routed across ``dongling`` (SWAPs through the chain) runs on the MPS engine instead of being
refused as needing bond dimension 4096.

The oracle is the state vector's own Schmidt decomposition (an SVD at each cut), not the MPS engine.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.devices.plan import PlanOptions
from xihe.engines.bonds import bond_dimension_bound, estimate_bond_dimension
from xihe.engines.entanglement import clifford_skeleton_bound, gf2_rank, pauli_terms
from xihe.engines.statevector import StatevectorEngine

CLIFFORD_1Q = ("h", "s", "sdg", "x", "y", "z", "sx")


def schmidt_ranks(circuit: Circuit) -> list[int]:
    """The exact Schmidt rank at each cut (an amplitude index has qubit 0 as its leftmost bit: the first axis)."""
    result = StatevectorEngine().run(circuit, 0)
    state = np.asarray(result.statevector)
    n = circuit.num_qubits
    tensor = state.reshape((2,) * n)
    ranks = []
    for cut in range(n - 1):
        singular = np.linalg.svd(tensor.reshape(2 ** (cut + 1), -1), compute_uv=False)
        ranks.append(int(np.count_nonzero(singular > 1e-9 * singular[0])))
    return ranks


def random_circuit(n: int, depth: int, rng: np.random.Generator, magic: int) -> Circuit:
    """Random Clifford layers on ``n`` qubits with ``magic`` non-Clifford gates (t, rz, rzz, u3) placed at random."""
    circuit = Circuit(n, n)
    slots = set(rng.choice(depth * n, size=magic, replace=False).tolist()) if magic else set()
    for layer in range(depth):
        for q in range(n):
            slot = layer * n + q
            if slot in slots:
                kind = rng.integers(4)
                if kind == 0:
                    circuit.t(q)
                elif kind == 1:
                    circuit.rz(float(rng.uniform(0, 3)), q)
                elif kind == 2:
                    circuit.u3(*map(float, rng.uniform(0, 3, 3)), q)
                else:
                    circuit.rzz(float(rng.uniform(0, 3)), q, int((q + 1 + rng.integers(n - 1)) % n))
            else:
                getattr(circuit, CLIFFORD_1Q[rng.integers(len(CLIFFORD_1Q))])(q)
        a, b = rng.choice(n, size=2, replace=False)
        if rng.integers(2):
            circuit.cx(int(a), int(b))
        else:
            circuit.swap(int(a), int(b))
    return circuit.measure(list(range(n)), list(range(n)))


@pytest.mark.parametrize("seed", range(12))
def test_the_skeleton_bound_never_undercuts_the_true_schmidt_rank(seed: int) -> None:
    rng = np.random.default_rng(seed)
    circuit = random_circuit(int(rng.integers(3, 9)), int(rng.integers(2, 9)), rng, magic=int(rng.integers(0, 4)))
    bound = clifford_skeleton_bound(circuit)
    assert bound is not None
    true = schmidt_ranks(circuit)
    assert all(b >= t for b, t in zip(bound, true, strict=True)), (bound, true)
    assert all(b >= t for b, t in zip(bond_dimension_bound(circuit), true, strict=True))


@pytest.mark.parametrize("seed", range(8))
def test_on_a_stabilizer_state_the_bound_is_the_schmidt_rank(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    circuit = random_circuit(int(rng.integers(3, 9)), int(rng.integers(2, 10)), rng, magic=0)
    assert clifford_skeleton_bound(circuit) == schmidt_ranks(circuit)


def test_pauli_terms_and_gf2_rank() -> None:
    assert pauli_terms(Circuit(1).t(0).operations[0].gate) == 2
    assert pauli_terms(Circuit(1).u3(0.3, 0.2, 0.1, 0).operations[0].gate) == 4
    assert pauli_terms(Circuit(2).rzz(0.4, 0, 1).operations[0].gate) == 2
    assert gf2_rank(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)) == 2


def test_dynamic_circuits_get_no_skeleton_bound() -> None:
    circuit = Circuit(2, 2).h(0).measure(0, 0).cx(0, 1).measure(1, 1)
    assert clifford_skeleton_bound(circuit) is None


def ghz_with_t(n: int) -> Circuit:
    circuit = Circuit(n, n).h(0).t(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    return circuit.measure(list(range(n)), list(range(n)))


def chain_walls(key: str) -> int:
    """Places where neighbours on the GHZ chain read differently: 0 for both GHZ outcomes, 19.5 on average for a
    random 40-bit string (binomial, standard deviation 3.1)."""
    return sum(a != b for a, b in pairwise(key))


@pytest.mark.parametrize("backend", ["dongling-ideal", "dongling"])
def test_a_40_qubit_ghz_compiled_for_dongling_runs_as_an_mps(backend: str) -> None:
    """Issue 16's case: routing puts SWAPs through the chain, and the gate-product bound (4096) refused it."""
    device = devices.get(backend)
    plan = device.plan([ghz_with_t(40)], 40, PlanOptions(seeds=(5,)))
    [planned] = plan.circuits
    assert planned.engine == "mps"
    assert estimate_bond_dimension(planned.compact) <= 4
    [result] = device.execute(plan)
    assert result.metadata["engine"] == "mps"
    assert {"bond_dimension", "truncation_error"} <= set(result.metadata)
    if backend == "dongling-ideal":  # compiled for the chip, run without noise: the two GHZ outcomes only
        assert set(result.counts) <= {"0" * 40, "1" * 40} and len(result.counts) == 2
        return
    # On the twin each shot is a GHZ outcome up to its errors (95 CZs, idling, 40 readouts); an error on the
    # chain flips every qubit after it (the CX chain carries it on), so an outcome is a few runs of equal bits.
    walls = sorted(chain_walls(key) for key, n in result.counts.items() for _ in range(n))
    assert walls[len(walls) // 2] <= 12, result.counts  # random strings: median 19.5; measured: 8
