import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import unitary_group

from xihe.circuit import Gate, unitary
from xihe.compiler.synthesis import euler_ops
from xihe.compiler.two_qubit import cx_count, cx_needed, two_qubit_matrix

angles = st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False)


def _product(ops: list[tuple[str, tuple[float, ...]]]) -> np.ndarray:
    m = np.eye(2, dtype=complex)
    for name, params in ops:
        m = unitary(Gate(name, params)) @ m
    return m


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    return abs(abs(np.trace(a.conj().T @ b)) - 2) < 1e-9


@pytest.mark.parametrize("basis", [{"rz", "ry"}, {"rz", "rx"}, {"u3"}, {"rz", "rx", "ry", "h"}])
@settings(max_examples=40, deadline=None)
@given(theta=angles, phi=angles, lam=angles)
def test_euler_synthesis_reproduces_any_one_qubit_unitary(basis: set[str], theta: float, phi: float,
                                                          lam: float) -> None:
    u = unitary(Gate("u3", (theta, phi, lam)))
    ops = euler_ops(u, frozenset(basis))
    assert {name for name, _ in ops} <= basis
    assert _equal_up_to_phase(_product(ops), u)


def test_identity_synthesises_to_nothing() -> None:
    assert euler_ops(np.eye(2, dtype=complex), frozenset({"rz", "ry"})) == []


def test_phase_gate_becomes_one_virtual_rz() -> None:
    ops = euler_ops(unitary(Gate("t")), frozenset({"rz", "rx"}))
    assert [name for name, _ in ops] == ["rz"]


def test_cx_needed_from_gamma_agrees_with_the_decomposition() -> None:
    """The cheap count (used to skip KAK for blocks already optimal) equals the synthesised count, swaps included."""
    rng = np.random.default_rng(5)
    cx, swap = two_qubit_matrix(Gate("cx"), (0, 1)), two_qubit_matrix(Gate("swap"), (0, 1))

    def local() -> np.ndarray:
        return np.kron(unitary_group.rvs(2, random_state=rng), unitary_group.rvs(2, random_state=rng))

    for _ in range(40):
        a, b, c = local(), local(), local()
        for u in (a, cx @ a, c @ cx @ b @ cx @ a, swap @ a, swap @ cx @ a, unitary_group.rvs(4, random_state=rng)):
            assert cx_needed(u) == cx_count(u)
    assert [cx_needed(two_qubit_matrix(Gate(g), (0, 1))) for g in ("cz", "swap", "iswap")] == [1, 3, 2]
    assert cx_needed(two_qubit_matrix(Gate("rzz", [0.3]), (0, 1))) == 2
