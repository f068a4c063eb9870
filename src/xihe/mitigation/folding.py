"""Global unitary folding for zero-noise extrapolation: ``U -> U (U^dagger U)^k`` scales the noise by ``2k + 1``.

The circuit folded is the one the device runs (compiled to native gates, on physical qubits), so the compiler
cannot cancel the folds: the folded circuit then runs verbatim. Inverses come from the gate table; a gate whose
inverse is not one gate of the table (its decomposition is inverted instead) may leave the native set, which the
verbatim check then reports. Delays fold like gates (a delay is its own inverse), so idle noise scales too.
Measurements must be terminal: they are kept once, at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from xihe.circuit import Circuit, inverse_operations

_TERMINAL = frozenset({"measure", "barrier"})


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
    ops = circuit.operations
    first = next((i for i, op in enumerate(ops) if op.gate.name == "measure"), len(ops))
    body, tail = ops[:first], ops[first:]
    if any(op.gate.name not in _TERMINAL for op in tail):
        raise ValueError("gate folding needs terminal measurements (no gate after the first measurement)")
    if any(op.condition is not None for op in body):
        raise ValueError("gate folding cannot fold classically conditioned operations")
    unitary = [op for op in body if op.gate.name != "barrier"]
    inverse = [inv for op in reversed(unitary) for inv in inverse_operations(op)]
    out = circuit.copy_empty()
    out.operations = list(body)
    for _ in range((factor - 1) // 2):
        out.barrier()
        out.operations.extend(inverse)
        out.barrier()
        out.operations.extend(unitary)
    out.operations.extend(tail)
    return out
