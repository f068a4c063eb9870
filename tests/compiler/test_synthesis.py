import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xihe.circuit import Gate, unitary
from xihe.compiler.synthesis import euler_ops

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
