"""How many qubits of a device one circuit can use together: its largest connected group of working qubits.

A compiled circuit's qubits must all reach each other over working couplers, so a chip whose working qubits fall
apart into groups (``line10``: a chain of 9 and one qubit with no working coupler) runs circuits no wider than
its largest group, however many qubits work. An all-to-all simulator uses all of its working qubits.

>>> from xihe.compiler import Target
>>> max_connected_qubits(Target.from_edges(4, [(0, 1), (1, 2)]))
3
"""

from __future__ import annotations

from xihe.compiler import Target


def max_connected_qubits(target: Target) -> int:
    """The size of ``target``'s largest connected group of working qubits (all of them when unconstrained)."""
    if target.unconstrained:
        return len(target.working_qubits)
    groups = target.components
    return len(groups[0]) if groups else 0
