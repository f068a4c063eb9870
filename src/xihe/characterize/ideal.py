"""Exact output probabilities of small circuits, the reference that XEB and quantum volume score a backend against.

Deliberately independent of :mod:`xihe.engines`: the reference must not share code with the simulator that a
characterization run may be measuring. Dense ``tensordot`` updates, fine for the ≤ 12 qubits these experiments use.
"""

from __future__ import annotations

import numpy as np

from xihe.circuit import Circuit
from xihe.circuit.protocols import unitary
from xihe.errors import CircuitError

MAX_QUBITS = 16


def ideal_probabilities(circuit: Circuit, qubits: list[int] | None = None) -> np.ndarray:
    """Probabilities of measuring ``qubits`` (default: all), index bit order with ``qubits[0]`` most significant.

    Measurements, barriers and delays are ignored; the unitary part must not act on other qubits than ``qubits``.
    """
    qubits = list(range(circuit.num_qubits)) if qubits is None else list(qubits)
    n = len(qubits)
    if n > MAX_QUBITS:
        raise CircuitError(f"the reference simulator takes at most {MAX_QUBITS} qubits, not {n}")
    position = {q: i for i, q in enumerate(qubits)}
    state = np.zeros((2,) * n, dtype=complex)
    state[(0,) * n] = 1.0
    for op in circuit:
        if op.gate.name in ("measure", "barrier", "delay"):
            continue
        if op.condition is not None or op.gate.name == "reset":
            raise CircuitError("the reference simulator takes unitary circuits only")
        try:
            axes = [position[q] for q in op.qubits]
        except KeyError as exc:
            raise CircuitError(f"gate on qubit {exc.args[0]} outside the measured qubits {qubits}") from exc
        k = len(axes)
        m = unitary(op.gate).reshape((2,) * (2 * k))
        state = np.tensordot(m, state, axes=(list(range(k, 2 * k)), axes))
        state = np.moveaxis(state, list(range(k)), axes)
    probs = np.abs(state.reshape(-1)) ** 2
    return probs / probs.sum()
