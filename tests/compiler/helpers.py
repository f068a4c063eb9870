"""Test helpers: a plain numpy statevector and the 'equal up to layouts' check for compiled circuits."""

from __future__ import annotations

import numpy as np

from xihe.circuit import Circuit, unitary
from xihe.engines import simulate

SKIPPED = frozenset({"measure", "barrier", "delay"})


def statevector(circuit: Circuit, qubits: list[int] | None = None) -> np.ndarray:
    """State after the unitary part of ``circuit`` from |0...0>, over ``qubits`` (all if None), as a tensor."""
    qubits = list(range(circuit.num_qubits)) if qubits is None else qubits
    axis = {q: i for i, q in enumerate(qubits)}
    n = len(qubits)
    state = np.zeros((2,) * n, dtype=complex)
    state[(0,) * n] = 1.0
    for op in circuit.operations:
        if op.gate.name in SKIPPED:
            continue
        assert op.gate.is_unitary and op.condition is None, f"not a unitary circuit: {op}"
        k = len(op.qubits)
        u = unitary(op.gate).reshape((2,) * (2 * k))
        axes = [axis[q] for q in op.qubits]
        state = np.tensordot(u, state, axes=(list(range(k, 2 * k)), axes))
        state = np.moveaxis(state, list(range(k)), axes)
    return state


def engine_statevector(circuit: Circuit, qubits: list[int] | None = None) -> np.ndarray:
    """As :func:`statevector`, by Xihe's statevector engine (compiled kernels: wide, long circuits in seconds)."""
    qubits = list(range(circuit.num_qubits)) if qubits is None else qubits
    axis = {q: i for i, q in enumerate(qubits)}
    compact = Circuit(len(qubits))
    for op in circuit.operations:
        if op.gate.name in SKIPPED:
            continue
        assert op.gate.is_unitary and op.condition is None, f"not a unitary circuit: {op}"
        compact.append(op.gate, [axis[q] for q in op.qubits])
    state = simulate(compact, shots=0, engine="statevector").statevector
    assert state is not None
    return np.asarray(state).reshape((2,) * len(qubits))  # big-endian: axis i is qubit i


def is_unitary_circuit(circuit: Circuit) -> bool:
    seen_measure: set[int] = set()
    for op in circuit.operations:
        if op.gate.name in ("reset",) or op.condition is not None:
            return False
        if op.gate.name == "measure":
            seen_measure.add(op.qubits[0])
        elif op.gate.is_unitary and seen_measure.intersection(op.qubits):
            return False
    return True


def layout_fidelity(source: Circuit, compiled: Circuit, initial_layout: list[int], final_layout: list[int],
                    engine: bool = False) -> float:
    """|<expected|actual>|^2 where expected puts virtual qubit v's output on physical ``final_layout[v]``.

    ``engine``: simulate with Xihe's statevector engine instead of the plain numpy one (for big circuits).
    """
    touched = {q for op in compiled.operations for q in op.qubits}
    physical = sorted(touched | set(initial_layout) | set(final_layout))
    simulator = engine_statevector if engine else statevector
    actual = simulator(compiled, physical)
    ideal = simulator(source)
    n_extra = len(physical) - source.num_qubits
    zero = np.zeros((2,) * n_extra, dtype=complex)
    zero[(0,) * n_extra] = 1.0
    expected = np.multiply.outer(ideal, zero) if n_extra else ideal
    # axis v of `expected` is virtual v; the extra axes are the spare physical qubits in increasing order.
    spare = [p for p in physical if p not in set(final_layout)]
    order = [physical.index(p) for p in final_layout] + [physical.index(p) for p in spare]
    expected = np.moveaxis(expected, list(range(len(order))), order)
    overlap = np.vdot(expected.ravel(), actual.ravel())
    return float(abs(overlap) ** 2)
