"""What reading one program may cost: declared qubits, expanded operations and gate-definition nesting.

A program is measured as it is read, so a server refuses a bomb before it allocates it: a register wider than
``max_qubits`` is refused at its declaration, and every statement is charged the number of operations it expands
to (a broadcast over a register counts each qubit, a call of a user ``gate`` counts its whole body, recursively)
before its operations are built.

>>> from xihe import qasm
>>> bomb = 'OPENQASM 2.0; qreg q[2]; gate g0 a { h a; h a; } gate g1 a { g0 a; g0 a; } g1 q; '
>>> try:
...     qasm.loads(bomb, limits=ParseLimits(max_operations=7))
... except QasmLimitError as exc:
...     print(exc.limit, exc.allowed, exc.found)
max_operations 7 8
"""

from __future__ import annotations

from dataclasses import dataclass

from xihe.qasm.errors import QasmError

# The default bound of qasm.loads: far beyond any program a person writes, small enough that no gate definition
# can make the compiler or a simulator expand 2^40 operations. A service passes its own, smaller, settings.
DEFAULT_MAX_OPERATIONS = 50_000_000
DEFAULT_MAX_DEFINITION_DEPTH = 64


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on one program. ``None`` lifts a bound; ``max_qubits`` counts the qubits of all ``qreg``s."""

    max_qubits: int | None = None
    max_operations: int | None = DEFAULT_MAX_OPERATIONS
    max_definition_depth: int = DEFAULT_MAX_DEFINITION_DEPTH


UNBOUNDED = ParseLimits(max_qubits=None, max_operations=None, max_definition_depth=1 << 30)


class QasmLimitError(QasmError):
    """A program exceeds one of its :class:`ParseLimits`: ``limit`` names it, ``allowed`` and ``found`` say by
    how much (``found`` is the first figure past the limit the reader met, not the program's total)."""

    def __init__(self, message: str, line: int, column: int, filename: str | None, *, limit: str, allowed: int,
                 found: int) -> None:
        super().__init__(message, line, column, filename)
        self.limit = limit
        self.allowed = allowed
        self.found = found
