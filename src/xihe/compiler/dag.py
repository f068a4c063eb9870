"""A DAG view of a circuit: operations as nodes, an edge wherever two operations share a wire.

Wires are qubits, classical bits, and for a conditioned operation every bit of its condition register. The node
list is kept in a topological order (the circuit's order), so passes that only need "the next operation on this
wire" can walk the list, while routing uses :meth:`successors` and :meth:`in_degrees` to follow the front layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xihe.circuit import Circuit, IfElse, Operation
from xihe.circuit.register import ClassicalRegister, QuantumRegister


@dataclass
class DAGCircuit:
    """Operations (in topological order) over ``num_qubits`` qubits, plus the source's classical registers."""

    ops: list[Operation]
    num_qubits: int
    cregs: list[ClassicalRegister] = field(default_factory=list)
    name: str | None = None
    qreg_name: str = "q"

    @classmethod
    def from_circuit(cls, circuit: Circuit) -> DAGCircuit:
        name = circuit.qregs[0].name if len(circuit.qregs) == 1 else "q"
        return cls(list(circuit.operations), circuit.num_qubits, list(circuit.cregs), circuit.name, name)

    def to_circuit(self) -> Circuit:
        """A circuit with one quantum register of ``num_qubits`` and the source's classical registers."""
        out = Circuit(name=self.name)
        if self.num_qubits:
            out.add_register(QuantumRegister(self.qreg_name, self.num_qubits))
        for reg in self.cregs:
            out.add_register(reg)
        out.operations = list(self.ops)
        return out

    def copy_with(self, ops: list[Operation], num_qubits: int | None = None) -> DAGCircuit:
        return DAGCircuit(ops, self.num_qubits if num_qubits is None else num_qubits, list(self.cregs), self.name,
                          self.qreg_name)

    @property
    def num_clbits(self) -> int:
        return sum(r.size for r in self.cregs)

    def _creg_wires(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        offset = self.num_qubits
        for reg in self.cregs:
            out[reg.name] = list(range(offset, offset + reg.size))
            offset += reg.size
        return out

    def wires(self, op: Operation, creg_wires: dict[str, list[int]] | None = None) -> list[int]:
        """Wire ids of ``op``: its qubits, then ``num_qubits + clbit``, then its condition register's bits."""
        wires = list(op.qubits) + [self.num_qubits + c for c in op.clbits]
        if op.condition is not None:
            creg_wires = creg_wires if creg_wires is not None else self._creg_wires()
            wires += [w for w in creg_wires[op.condition[0]] if w not in wires]
        return wires

    def successors(self) -> list[list[int]]:
        """For each node, the nodes that come next on one of its wires (each listed once)."""
        creg_wires = self._creg_wires()
        last: dict[int, int] = {}
        succ: list[list[int]] = [[] for _ in self.ops]
        for i, op in enumerate(self.ops):
            for w in self.wires(op, creg_wires):
                j = last.get(w)
                if j is not None and (not succ[j] or succ[j][-1] != i):
                    succ[j].append(i)
                last[w] = i
        return succ

    def in_degrees(self, succ: list[list[int]]) -> list[int]:
        deg = [0] * len(self.ops)
        for nexts in succ:
            for j in nexts:
                deg[j] += 1
        return deg

    def active_qubits(self) -> list[int]:
        """Qubits that some non-barrier operation touches, in increasing order."""
        used: set[int] = set()
        for op in self.ops:
            if op.gate.name != "barrier":
                used.update(op.qubits)
        return sorted(used)

    def count_two_qubit(self) -> int:
        return sum(1 for op in self.ops if len(op.qubits) == 2 and op.gate.is_unitary)


def has_if_blocks(ops: list[Operation]) -> bool:
    """Whether any operation is an ``if``/``else`` block: ``isinstance`` over the operations' few distinct types, so
    the scan of a long gate list runs in C (passes ask this of every circuit they see)."""
    return any(issubclass(kind, IfElse) for kind in set(map(type, ops)))


# The facts analysis passes write, by name (a plain dict, as Qiskit's PropertySet).
PropertySet = dict[str, Any]
