"""Uniform protocol functions over gates and operations: ``unitary``, ``decompose``, ``inverse``.

Order of fallbacks, as in Cirq: a gate's table row (or user definition) first, then its decomposition. Engines,
the compiler and the exporter use these rather than looking into the table themselves.
"""

from __future__ import annotations

import numpy as np

from xihe.circuit.gate import Gate, Operation, gate_spec
from xihe.circuit.parameter import ParameterExpression, ParamValue
from xihe.errors import CircuitError


def _floats(gate: Gate) -> list[float]:
    out = []
    for p in gate.params:
        if isinstance(p, ParameterExpression):
            raise CircuitError(f"gate '{gate.name}' has unbound parameter(s) {sorted(p.parameters)}")
        out.append(float(p))
    return out


def unitary(gate: Gate) -> np.ndarray:
    """The gate's matrix (big-endian: its first qubit is the most significant index bit)."""
    if not gate.is_unitary:
        raise CircuitError(f"'{gate.name}' is not a unitary gate")
    if gate.definition is not None:
        from xihe.circuit.standard_gates import embed

        n = gate.num_qubits
        total = np.eye(1 << n, dtype=complex)
        for op in gate.definition.expand(gate.params):
            total = embed(unitary(op.gate), op.qubits, n) @ total
        return total
    spec = gate_spec(gate.name)
    assert spec is not None
    params = _floats(gate)
    if spec.num_qubits is None:
        return spec.matrix(gate.num_qubits, *params)
    return spec.matrix(*params)


def decompose(op: Operation) -> list[Operation] | None:
    """One level of decomposition of ``op`` onto its own qubits, or ``None`` for ``u3``/``cx``/instructions.

    A user-defined gate expands to its body; a table gate to its decomposition (equal up to global phase).
    The condition, if any, is carried by every resulting operation.
    """
    gate = op.gate
    if gate.definition is not None:
        body = gate.definition.expand(gate.params)
        return [Operation(b.gate, tuple(op.qubits[q] for q in b.qubits), (), op.condition) for b in body]
    spec = gate_spec(gate.name)
    if spec is None or spec.decomposition is None:
        return None
    steps = spec.decomposition(gate.num_qubits, *gate.params) if spec.num_qubits is None else \
        spec.decomposition(*gate.params)
    out = []
    for name, params, local in steps:
        sub = Gate._trusted(name, tuple(params), len(local)) if gate_spec(name) is not None else Gate(name, params)
        out.append(Operation(sub, tuple(op.qubits[q] for q in local), (), op.condition))
    return out


def inverse_gate(gate: Gate) -> Gate | None:
    """The inverse as one gate, when the table gives one (else ``None``: invert the decomposition)."""
    spec = gate.spec
    if spec is None or spec.inverse is None:
        return None
    name, params = spec.inverse(*gate.params)
    return Gate._trusted(name, tuple(_tidy(p) for p in params), gate.num_qubits)


def _tidy(p: ParamValue) -> ParamValue:
    return 0.0 if isinstance(p, float) and p == 0 else p


def inverse_operations(op: Operation) -> list[Operation]:
    """Operations whose product is the inverse of ``op`` (on the same qubits)."""
    gate = op.gate
    if gate.name in ("barrier", "delay"):
        return [op]
    if not gate.is_unitary:
        raise CircuitError(f"'{gate.name}' cannot be inverted")
    inv = inverse_gate(gate)
    if inv is not None:
        return [op.replace(gate=inv)]
    parts = decompose(op)
    if parts is None:
        raise CircuitError(f"'{gate.name}' has no inverse")
    out: list[Operation] = []
    for part in reversed(parts):
        out.extend(inverse_operations(part))
    return out


def decompose_to(op: Operation, basis: frozenset[str]) -> list[Operation]:
    """Decompose recursively until every operation's name is in ``basis`` (or cannot be decomposed)."""
    if op.gate.name in basis or not op.gate.is_unitary:
        return [op]
    parts = decompose(op)
    if parts is None:
        return [op]
    out: list[Operation] = []
    for part in parts:
        out.extend(decompose_to(part, basis))
    return out
