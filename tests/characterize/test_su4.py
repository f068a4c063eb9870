"""KAK decomposition and three-CNOT synthesis of two-qubit unitaries, checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from xihe.characterize.su4 import (
    haar_unitary,
    interaction,
    interaction_operations,
    kak_decompose,
    operations_matrix,
    su4_operations,
    u3_angles,
)
from xihe.circuit.standard_gates import X, Y, Z, controlled, u3_matrix

from .helpers import equal_up_to_phase


def test_kak_reconstructs_haar_random_unitaries_exactly() -> None:
    rng = np.random.default_rng(7)
    for _ in range(100):
        u = haar_unitary(4, rng)
        assert np.allclose(kak_decompose(u).matrix(), u, atol=1e-9)


@pytest.mark.parametrize("u", [np.eye(4), controlled(X), np.eye(4)[[0, 2, 1, 3]], np.kron(X, Y),
                               controlled(Z)])
def test_kak_handles_degenerate_spectra(u: np.ndarray) -> None:
    assert np.allclose(kak_decompose(u.astype(complex)).matrix(), u, atol=1e-9)


def test_three_cnot_circuit_equals_the_interaction() -> None:
    rng = np.random.default_rng(3)
    for a, b, c in rng.uniform(-2, 2, (30, 3)):
        ops = interaction_operations(a, b, c, 0, 1)
        assert sum(1 for op in ops if op[0] == "cx") == 3
        assert equal_up_to_phase(operations_matrix(ops, {0: 0, 1: 1}), interaction(a, b, c))


def test_su4_operations_use_three_cnots_on_the_given_qubits() -> None:
    rng = np.random.default_rng(11)
    u = haar_unitary(4, rng)
    ops = su4_operations(u, 5, 2)
    assert {q for _, _, qs in ops for q in qs} == {2, 5}
    assert sum(1 for op in ops if op[0] == "cx") == 3
    assert equal_up_to_phase(operations_matrix(ops, {5: 0, 2: 1}), u)


def test_haar_unitaries_are_unitary_and_seeded() -> None:
    a = haar_unitary(4, np.random.default_rng(1))
    b = haar_unitary(4, np.random.default_rng(1))
    assert np.allclose(a.conj().T @ a, np.eye(4))
    assert np.array_equal(a, b)


def test_u3_angles_round_trip_including_poles() -> None:
    rng = np.random.default_rng(2)
    cases = [haar_unitary(2, rng) for _ in range(20)] + [np.eye(2), X, Y, Z, 1j * X]
    for m in cases:
        assert equal_up_to_phase(u3_matrix(*u3_angles(m)), m)
