"""Unroll: every gate of three or more qubits (and every user gate) into one- and two-qubit gates."""

from __future__ import annotations

from collections.abc import Sequence

from xihe.circuit import Operation, decompose
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.control import map_blocks
from xihe.errors import CompileError

# Two-qubit gates the later stages handle directly (routing swaps, translation rules).
KEPT_TWO_QUBIT = frozenset({"cx", "cz", "swap"})


class Unroll:
    """Decompose until each operation is a table one-qubit gate, ``cx``/``cz``/``swap`` or an instruction.

    Other two-qubit gates (``cp``, ``rzz``...) go to ``cx`` and one-qubit gates through their table decomposition;
    conditions ride along on every piece.
    """

    def __init__(self, keep: frozenset[str] = KEPT_TWO_QUBIT) -> None:
        self.keep = keep

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        return dag.copy_with(self.unroll(dag.ops))

    def unroll(self, ops: Sequence[Operation]) -> list[Operation]:
        out: list[Operation] = []
        for op in ops:
            self._unroll(op, out, depth=0)
        return out

    def _unroll(self, op: Operation, out: list[Operation], depth: int) -> None:
        gate = op.gate
        if not gate.is_unitary:
            out.append(map_blocks(op, self.unroll))  # an if block's bodies are unrolled too
            return
        if gate.definition is None and (gate.num_qubits == 1 or gate.name in self.keep):
            out.append(op)
            return
        parts = decompose(op)
        if parts is None or depth > 64:
            raise CompileError(f"gate '{gate.name}' on qubits {op.qubits} cannot be decomposed into 1q+2q gates")
        for part in parts:
            self._unroll(part, out, depth + 1)
