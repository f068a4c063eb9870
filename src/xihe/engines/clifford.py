"""Recognising Clifford circuits: the gate table's ``clifford`` flag, else the gate's matrix (e.g. ``rz(pi/2)``).

A unitary is Clifford when it maps every Pauli generator ``X_i``, ``Z_i`` to a Pauli string up to a sign. The
check runs on the matrix (at most :data:`MAX_CHECK_QUBITS` qubits) and is cached per gate value.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.circuit.control import IfElse
from xihe.circuit.gate import Gate
from xihe.circuit.protocols import decompose, unitary
from xihe.engines.channels import pauli_matrix

MAX_CHECK_QUBITS = 3


def _is_pauli_up_to_phase(m: np.ndarray, n: int) -> bool:
    for label in itertools.product("IXYZ", repeat=n):
        p = pauli_matrix("".join(label))
        overlap = np.trace(p.conj().T @ m) / p.shape[0]
        if abs(abs(overlap) - 1.0) < 1e-9:
            return True
    return False


def is_clifford_matrix(u: np.ndarray) -> bool:
    """True when ``u`` conjugates each single-qubit Pauli generator to a Pauli string."""
    n = u.shape[0].bit_length() - 1
    for q in range(n):
        for gen in "XZ":
            label = "I" * q + gen + "I" * (n - q - 1)
            if not _is_pauli_up_to_phase(u @ pauli_matrix(label) @ u.conj().T, n):
                return False
    return True


@lru_cache(maxsize=4096)
def is_clifford_gate(gate: Gate) -> bool:
    """A gate is Clifford by its table flag, or (parametrised or user gates) by its matrix or decomposition."""
    if not gate.is_unitary:
        return True
    spec = gate.spec
    if spec is not None and spec.clifford:
        return True
    if gate.is_parametrized:
        return False
    if gate.num_qubits <= MAX_CHECK_QUBITS:
        return is_clifford_matrix(unitary(gate))
    return False


def is_pauli_feedback(block: IfElse) -> bool:
    """Whether an if block is what a stabilizer simulator can run: a condition on one bit, Pauli x/y/z inside."""
    return len(block.test_bits) == 1 and all(
        not isinstance(op, IfElse) and op.gate.name in ("x", "y", "z") for op in (*block.true_body,
                                                                                 *block.false_body))


def is_clifford(circuit: Circuit) -> bool:
    """True when every gate of ``circuit`` is Clifford (decomposing wide user gates where needed) and every if
    block is Pauli feedback (:func:`is_pauli_feedback`), so the stabilizer engine can run it."""
    from xihe.circuit.gate import Operation

    stack: list[Operation] = list(circuit.operations)
    while stack:
        op = stack.pop()
        if isinstance(op, IfElse):
            if not is_pauli_feedback(op):
                return False
            continue
        if is_clifford_gate(op.gate):
            continue
        if op.gate.num_qubits > MAX_CHECK_QUBITS and op.gate.definition is not None:
            parts = decompose(op)
            if parts is not None:
                stack.extend(parts)
                continue
        return False
    return True
