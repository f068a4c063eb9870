"""Table-wide properties: every gate is unitary, matches its decomposition, and its inverse undoes it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xihe.circuit import Gate, Operation, gate_specs, inverse_operations, unitary
from xihe.circuit.protocols import decompose
from xihe.circuit.standard_gates import embed

SPECS = gate_specs()
ANGLES = st.floats(min_value=-2 * np.pi, max_value=2 * np.pi, allow_nan=False)


def _gate(name: str, params: list[float], arity: int) -> Gate:
    spec = SPECS[name]
    return Gate(name, params[: spec.num_params], num_qubits=arity if spec.num_qubits is None else None)


def _arities(name: str) -> list[int]:
    n = SPECS[name].num_qubits
    return [n] if n is not None else [1, 2, 3, 4, 5]


def _ops_matrix(ops: list[Operation], n: int) -> np.ndarray:
    total = np.eye(1 << n, dtype=complex)
    for op in ops:
        total = embed(unitary(op.gate), op.qubits, n) @ total
    return total


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    idx = np.unravel_index(np.argmax(np.abs(a)), a.shape)
    phase = b[idx] / a[idx]
    return bool(abs(abs(phase) - 1) < 1e-9 and np.allclose(a * phase, b, atol=1e-9))


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=15, deadline=None)
@given(params=st.lists(ANGLES, min_size=4, max_size=4))
def test_gate_is_unitary_matches_decomposition_and_inverts(name: str, params: list[float]) -> None:
    for n in _arities(name):
        gate = _gate(name, params, n)
        m = unitary(gate)
        assert m.shape == (1 << n, 1 << n)
        assert np.allclose(m @ m.conj().T, np.eye(1 << n), atol=1e-10)
        op = Operation(gate, tuple(range(n)))
        parts = decompose(op)
        if parts is not None:
            assert _equal_up_to_phase(m, _ops_matrix(parts, n)), f"{name} on {n} qubit(s)"
        inv = _ops_matrix(inverse_operations(op), n)
        assert np.allclose(inv @ m, np.eye(1 << n), atol=1e-9), f"{name} inverse on {n} qubit(s)"
