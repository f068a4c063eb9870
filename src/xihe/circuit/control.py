"""Classical control flow in the IR: an ``if``/``else`` block, as OpenQASM 3's ``if (c[0]) { ... } else { ... }``
and Qiskit's ``IfElseOp``.

An :class:`IfElse` is one :class:`~xihe.circuit.gate.Operation` (gate name ``if_else``, not unitary) whose bodies
are operations on the *circuit's own* flat qubit and clbit indices, so nothing is renumbered at the block edge.
Its ``qubits`` are every qubit its bodies act on and its ``clbits`` every bit it reads (the condition) or writes
(measurements inside), in increasing order: to the DAG, the scheduler and any pass that does not look inside,
it is one opaque instruction on those wires, which keeps the block's classical and quantum order intact.

The condition is on a single bit (``test_bits`` of length one, ``value`` 0 or 1) or on a whole classical register
(``test_bits`` are its bits, least significant first, and ``value`` the integer it must equal; ``register`` keeps
its name for writing). It is evaluated once, when the block starts: a measurement inside the true body that
overwrites a condition bit does not switch to the false body.

``replace(qubits=...)`` renumbers the bodies position by position (the layout and routing passes and the
planner's compaction remap operations that way), so a block survives every qubit relabelling as one value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from xihe.circuit.gate import Gate, Operation
from xihe.errors import CircuitError

IF_ELSE = "if_else"


def _union(ops: Iterable[Operation], attribute: str) -> set[int]:
    out: set[int] = set()
    for op in ops:
        out.update(getattr(op, attribute))
    return out


class IfElse(Operation):
    """``if (condition) { true_body } else { false_body }``: see the module docstring.

    >>> block = IfElse((0,), 1, [Operation(Gate("x"), (1,))])
    >>> block.qubits, block.clbits
    ((1,), (0,))
    """

    __slots__ = ("false_body", "register", "test_bits", "true_body", "value")

    test_bits: tuple[int, ...]
    value: int
    true_body: tuple[Operation, ...]
    false_body: tuple[Operation, ...]
    register: str | None

    def __init__(self, test_bits: Sequence[int], value: int, true_body: Iterable[Operation],
                 false_body: Iterable[Operation] = (), register: str | None = None) -> None:
        bits = tuple(int(b) for b in test_bits)
        true_ops, false_ops = tuple(true_body), tuple(false_body)
        if not bits:
            raise CircuitError("an if block needs at least one condition bit")
        if len(set(bits)) != len(bits):
            raise CircuitError(f"the condition repeats a bit: {bits}")
        if not 0 <= int(value) < (1 << len(bits)):
            raise CircuitError(f"condition value {value} does not fit {len(bits)} bit(s)")
        for op in (*true_ops, *false_ops):
            if op.condition is not None:
                raise CircuitError("an operation inside an if block cannot carry its own OpenQASM 2 condition; "
                                   "nest another if block instead")
        qubits = tuple(sorted(_union((*true_ops, *false_ops), "qubits")))
        clbits = tuple(sorted(set(bits) | _union((*true_ops, *false_ops), "clbits")))
        object.__setattr__(self, "gate", Gate._trusted(IF_ELSE, (), len(qubits)))
        object.__setattr__(self, "qubits", qubits)
        object.__setattr__(self, "clbits", clbits)
        object.__setattr__(self, "condition", None)
        object.__setattr__(self, "test_bits", bits)
        object.__setattr__(self, "value", int(value))
        object.__setattr__(self, "true_body", true_ops)
        object.__setattr__(self, "false_body", false_ops)
        object.__setattr__(self, "register", register)

    def __reduce__(self) -> tuple[Any, ...]:
        return (IfElse, (self.test_bits, self.value, self.true_body, self.false_body, self.register))

    @property
    def bodies(self) -> tuple[tuple[Operation, ...], tuple[Operation, ...]]:
        return self.true_body, self.false_body

    def map_bodies(self, fn: Callable[[tuple[Operation, ...]], Iterable[Operation]]) -> IfElse:
        """The same block with ``fn`` applied to each body (a pass that rewrites the operations inside)."""
        return IfElse(self.test_bits, self.value, fn(self.true_body), fn(self.false_body), self.register)

    def replace(self, **changes: Any) -> Operation:
        """A copy with qubits (or clbits) renumbered position by position, inside the bodies too."""
        unknown = set(changes) - {"qubits", "clbits"}
        if unknown:
            raise CircuitError(f"an if block can only be renumbered, not given new {', '.join(sorted(unknown))}")
        qmap = dict(zip(self.qubits, changes.get("qubits", self.qubits), strict=True))
        cmap = dict(zip(self.clbits, changes.get("clbits", self.clbits), strict=True))
        return self._renumber(qmap, cmap)

    def _renumber(self, qmap: dict[int, int], cmap: dict[int, int]) -> IfElse:
        def body(ops: tuple[Operation, ...]) -> list[Operation]:
            out: list[Operation] = []
            for op in ops:
                if isinstance(op, IfElse):
                    out.append(op._renumber(qmap, cmap))
                else:
                    out.append(Operation(op.gate, tuple(qmap[q] for q in op.qubits),
                                         tuple(cmap[c] for c in op.clbits)))
            return out

        return IfElse(tuple(cmap[b] for b in self.test_bits), self.value, body(self.true_body),
                      body(self.false_body), self.register)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, IfElse) and other.test_bits == self.test_bits and other.value == self.value
                and other.true_body == self.true_body and other.false_body == self.false_body)

    def __hash__(self) -> int:
        return hash((IF_ELSE, self.test_bits, self.value, self.true_body, self.false_body))

    def __repr__(self) -> str:
        text = f"IfElse({self.test_bits!r}, {self.value}, {list(self.true_body)!r}"
        if self.false_body:
            text += f", {list(self.false_body)!r}"
        return text + ")"


def walk(ops: Iterable[Operation]) -> Iterator[Operation]:
    """Every operation, the blocks' bodies included (a block before its contents)."""
    for op in ops:
        yield op
        if isinstance(op, IfElse):
            yield from walk(op.true_body)
            yield from walk(op.false_body)


def has_control_flow(ops: Iterable[Operation]) -> bool:
    return any(isinstance(op, IfElse) for op in ops)
