"""Translation to the device's native gates: 2q rules (cx <-> cz, reversed cx, swap) and 1q Euler synthesis."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from xihe.circuit import Gate, Operation, unitary
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.control import map_blocks
from xihe.compiler.synthesis import euler_ops
from xihe.compiler.target import Target
from xihe.errors import CompileError

H = Gate("h")
CX = Gate("cx")
CZ = Gate("cz")


def one_qubit_basis(target: Target) -> frozenset[str]:
    """The 1q gates Euler synthesis may emit (``rz`` plus ``rx``/``ry``/``u3``...)."""
    return target.one_qubit_gates or frozenset({"u3"})


def synthesize_1q(op: Operation, basis: frozenset[str]) -> list[Operation]:
    """``op`` (a one-qubit unitary) as Euler rotations in ``basis``, keeping its condition."""
    return [Operation(gate, op.qubits, (), op.condition) for gate in _euler_gates(op.gate, basis)]


@lru_cache(maxsize=65536)
def _euler_gates(gate: Gate, basis: frozenset[str]) -> tuple[Gate, ...]:
    """Cached: translation meets the same few gates (the Hadamards of every cx -> cz) thousands of times."""
    return tuple(Gate._trusted(name, params, 1) for name, params in euler_ops(unitary(gate), basis))


class BasisTranslation:
    """Rewrite every unitary into native gates on supported qubit tuples (raises :class:`CompileError` if it can't).

    One-qubit gates already native stay as they are; others are synthesised one by one (fusion comes later, in the
    optimisation stage). Hadamards that the 2q rules add are written as native Euler rotations.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self.basis_1q = one_qubit_basis(target)

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        if self.target.unconstrained:
            return dag
        return dag.copy_with(self.translate(dag.ops))

    def translate(self, ops: Sequence[Operation]) -> list[Operation]:
        out: list[Operation] = []
        for op in ops:
            if not op.gate.is_unitary:
                out.append(map_blocks(op, self.translate))  # an if block's bodies are translated too
            elif len(op.qubits) == 1:
                out.extend(self._one(op))
            else:
                for piece in self.two_qubit(op):
                    out.extend(self._one(piece) if len(piece.qubits) == 1 else [piece])
        return out

    def _one(self, op: Operation) -> list[Operation]:
        if op.gate.definition is None and self.target.supports(op.gate.name, op.qubits):
            return [op]
        return synthesize_1q(op, self.basis_1q)

    def two_qubit(self, op: Operation) -> list[Operation]:
        """Native pieces for one 2q operation (1q pieces may still be non-native)."""
        t = self.target
        name = op.gate.name
        a, b = op.qubits
        cond = op.condition
        if op.gate.definition is None and t.supports(name, (a, b)):
            return [op]

        def h(q: int) -> Operation:
            return Operation(H, (q,), (), cond)

        if name == "swap":
            return [*self.two_qubit(Operation(CX, (a, b), (), cond)), *self.two_qubit(Operation(CX, (b, a), (), cond)),
                    *self.two_qubit(Operation(CX, (a, b), (), cond))]
        if name == "cx":
            if t.supports("cz", (a, b)) or t.supports("cz", (b, a)):
                pair = (a, b) if t.supports("cz", (a, b)) else (b, a)
                return [h(b), Operation(CZ, pair, (), cond), h(b)]
            if t.supports("cx", (b, a)):
                return [h(a), h(b), Operation(CX, (b, a), (), cond), h(a), h(b)]
        elif name == "cz":
            if t.supports("cz", (b, a)):
                return [Operation(CZ, (b, a), (), cond)]
            if t.supports("cx", (a, b)):
                return [h(b), Operation(CX, (a, b), (), cond), h(b)]
            if t.supports("cx", (b, a)):
                return [h(a), Operation(CX, (b, a), (), cond), h(a)]
        else:
            raise CompileError(f"gate '{name}' on qubits {op.qubits} has no translation rule; unroll it first")
        raise CompileError(f"gate '{name}' on qubits ({a}, {b}): the device couples no native 2q gate there")
