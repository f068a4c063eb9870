"""Global unitary folding for zero-noise extrapolation: ``U -> U (U^dagger U)^k`` scales the noise by ``2k + 1``.

The circuit folded is the one the device runs (compiled to native gates, on physical qubits), so the compiler
cannot cancel the folds: the folded circuit then runs verbatim. Inverses come from the gate table; a gate whose
inverse is not one gate of the table (its decomposition is inverted instead) may leave the native set, which the
verbatim check then reports. Delays fold like gates (a delay is its own inverse), so idle noise scales too.
Measurements must be terminal (nothing but a delay or barrier acts on a qubit after it is measured, as in a
compiled, scheduled circuit whose measurements are interleaved with other qubits' gates): they are kept once, at
the end, and the idle delays after them dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from xihe.circuit import Circuit, Operation, inverse_operations

_IDLE = frozenset({"barrier", "delay"})


def check_noise_factors(factors: Sequence[int]) -> list[int]:
    """The factors as a list: odd, at least 1, strictly increasing, two or more (an extrapolation needs two).

    >>> check_noise_factors([1, 3, 5])
    [1, 3, 5]
    """
    out = [int(f) for f in factors]
    if len(out) < 2:
        raise ValueError("zero-noise extrapolation needs at least two noise factors")
    if any(f < 1 or f % 2 == 0 for f in out):
        raise ValueError(f"noise factors must be odd integers >= 1 (global folding), got {out}")
    if any(b <= a for a, b in pairwise(out)):
        raise ValueError(f"noise factors must increase, got {out}")
    return out


def fold_global(circuit: Circuit, factor: int) -> Circuit:
    """``circuit`` with its unitary part ``U`` replaced by ``U (U^dagger U)^k``, ``factor = 2k + 1``.

    >>> from xihe.circuit import Circuit
    >>> folded = fold_global(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]), 3)
    >>> [op.gate.name for op in folded.operations]
    ['h', 'cx', 'barrier', 'cx', 'h', 'barrier', 'h', 'cx', 'measure', 'measure']
    """
    if factor < 1 or factor % 2 == 0:
        raise ValueError(f"a noise factor must be an odd integer >= 1 (global folding), got {factor}")
    body, tail = _split_terminal(circuit)
    unitary = [op for op in body if op.gate.name != "barrier"]
    inverse = [inv for op in reversed(unitary) for inv in inverse_operations(op)]
    active = sorted({q for op in unitary for q in op.qubits})  # a barrier on idle qubits would make them touched
    out = circuit.copy_empty()
    out.operations = list(body)
    for _ in range((factor - 1) // 2):
        out.barrier(active)
        out.operations.extend(inverse)
        out.barrier(active)
        out.operations.extend(unitary)
    out.operations.extend(tail)
    return out


def _split_terminal(circuit: Circuit) -> tuple[list[Operation], list[Operation]]:
    """(the operations before measurement, the measurements); refuses a circuit that acts on a measured qubit."""
    body: list[Operation] = []
    tail: list[Operation] = []
    measured: set[int] = set()
    for op in circuit.operations:
        if op.condition is not None:
            raise ValueError("gate folding cannot fold classically conditioned operations")
        if op.gate.name == "measure":
            measured.update(op.qubits)
            tail.append(op)
        elif measured & set(op.qubits):
            if op.gate.name not in _IDLE:
                raise ValueError("gate folding needs terminal measurements (a gate acts on a measured qubit)")
            if op.gate.name == "barrier" and not set(op.qubits) <= measured:
                body.append(op)
        else:
            body.append(op)
    return body, tail
