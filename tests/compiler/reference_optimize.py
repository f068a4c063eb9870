"""The Python optimisation passes that :mod:`xihe.compiler.passes.optimize_kernel` replaced, kept as the test oracle.

1q fusion into Euler angles, commutation-aware cancellation and merging, to a fixed point, over ``Operation``
objects (the code of ``xihe.compiler.passes.optimize`` before the kernels, issue 19).

Commutation rule (sound and cheap): an operation is *Z-type* on a qubit if it is diagonal there (``rz``, ``cz`` on
either qubit, the control of ``cx``), *X-type* if diagonal in the X basis there (``rx``, the target of ``cx``). Two
operations commute when on every qubit they share both are Z-type or both are X-type.
"""

from __future__ import annotations

import math

import numpy as np

from xihe.circuit import Gate, Operation, is_self_inverse, is_symmetric
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.optimize import action_types
from xihe.compiler.passes.translate import one_qubit_basis
from xihe.compiler.synthesis import euler_ops
from xihe.compiler.target import Target
from xihe.compiler.two_qubit import gate_matrix

SCAN_WINDOW = 400


def _fusable(op: Operation) -> bool:
    return op.gate.is_unitary and len(op.qubits) == 1 and op.condition is None


class Fuse1q:
    """Replace each run of unconditioned 1q gates on a qubit by its Euler synthesis (nothing if identity)."""

    def __init__(self, basis: frozenset[str]) -> None:
        self.basis = basis

    @classmethod
    def for_target(cls, target: Target) -> Fuse1q:
        return cls(one_qubit_basis(target))

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        out: list[Operation | None] = []
        pending: dict[int, list[Operation]] = {}
        slot: dict[int, int] = {}

        def flush(q: int) -> None:
            run = pending.pop(q, None)
            if not run:
                return
            index = slot.pop(q)
            if self._already_minimal(run):
                out[index] = run  # type: ignore[call-overload]
                return
            m = np.eye(2, dtype=complex)
            for op in run:
                m = gate_matrix(op.gate) @ m
            pieces = [Operation(Gate._trusted(n, p, 1), (q,)) for n, p in euler_ops(m, self.basis)]
            out[index] = pieces  # type: ignore[call-overload]

        for op in dag.ops:
            if _fusable(op):
                q = op.qubits[0]
                if q not in pending:
                    pending[q] = []
                    slot[q] = len(out)
                    out.append(None)
                pending[q].append(op)
                continue
            for q in op.qubits:
                flush(q)
            out.append(op)
        for q in list(pending):
            flush(q)
        flat: list[Operation] = []
        for item in out:
            if item is None:
                continue
            if isinstance(item, list):
                flat.extend(item)
            else:
                flat.append(item)
        return dag.copy_with(flat)

    def _already_minimal(self, run: list[Operation]) -> bool:
        """A run that Euler synthesis could not shorten: native gates, at most one pulse, no two ``rz`` in a row."""
        if len(run) == 1:
            gate = run[0].gate
            return gate.name in self.basis and gate.definition is None
        pulses = 0
        previous = ""
        for op in run:
            name = op.gate.name
            if name not in self.basis or op.gate.definition is not None or (name == "rz" and previous == "rz"):
                return False
            pulses += name != "rz"
            previous = name
        return pulses <= 1 and (len(run) == 1 or "rz" in self.basis)


def _same_2q(a: Operation, b: Operation) -> bool:
    if a.gate.name != b.gate.name or a.condition is not None or b.condition is not None:
        return False
    if a.qubits == b.qubits:
        return True
    return is_symmetric(a.gate.name) and a.qubits == (b.qubits[1], b.qubits[0])


class CommutativeCancellation:
    """Cancel pairs of self-inverse 2q gates, and merge ``rz``/``rx`` rotations, across commuting operations."""

    def __init__(self, basis: frozenset[str]) -> None:
        self.basis = basis

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        ops: list[Operation | None] = list(dag.ops)
        types = [action_types(op) for op in dag.ops]
        # Each qubit's operations in order, and each operation's place on its qubits: walk wires, not the list.
        wire: dict[int, list[int]] = {}
        place: list[tuple[int, ...]] = []
        for i, source in enumerate(dag.ops):
            here = []
            for q in source.qubits:
                lane = wire.setdefault(q, [])
                here.append(len(lane))
                lane.append(i)
            place.append(tuple(here))
        for i in range(len(ops)):
            op = ops[i]
            if op is None or op.condition is not None or not op.gate.is_unitary:
                continue
            kind = types[i]
            two = len(op.qubits) == 2 and op.gate.definition is None and is_self_inverse(op.gate.name)
            merge_1q = len(op.qubits) == 1 and kind[0] is not None and self._rotation_name(kind[0]) in self.basis
            if not (two or merge_1q):
                continue
            my_type = dict(zip(op.qubits, kind, strict=True))
            cursor = {q: place[i][k] + 1 for k, q in enumerate(op.qubits)}
            for _ in range(SCAN_WINDOW):
                j = self._next(ops, wire, cursor)
                if j is None:
                    break
                other = ops[j]
                assert other is not None
                if two and len(other.qubits) == 2 and _same_2q(op, other):
                    ops[i] = ops[j] = None
                    break
                if merge_1q and len(other.qubits) == 1 and other.qubits == op.qubits and types[j][0] == kind[0]:
                    merged = self._merge(op, other, str(kind[0]))
                    ops[i] = None
                    ops[j] = merged
                    if merged is None:
                        types[j] = (None,)
                    break
                other_type = dict(zip(other.qubits, types[j], strict=True))
                shared = [q for q in other.qubits if q in my_type]
                if any(my_type[q] is None or other_type[q] != my_type[q] for q in shared):
                    break
                for q in shared:
                    cursor[q] += 1
        return dag.copy_with([op for op in ops if op is not None])

    @staticmethod
    def _next(ops: list[Operation | None], wire: dict[int, list[int]], cursor: dict[int, int]) -> int | None:
        """The earliest live operation after the cursors on any of their qubits (cursors skip removed ones)."""
        best: int | None = None
        for q in cursor:
            lane = wire[q]
            k = cursor[q]
            while k < len(lane) and ops[lane[k]] is None:
                k += 1
            cursor[q] = k
            if k < len(lane) and (best is None or lane[k] < best):
                best = lane[k]
        return best

    @staticmethod
    def _rotation_name(kind: str) -> str:
        return "rz" if kind == "Z" else "rx"

    def _merge(self, a: Operation, b: Operation, kind: str) -> Operation | None:
        """One ``rz`` (or ``rx``) equal to ``b @ a`` up to phase, or ``None`` when that is the identity."""
        m = gate_matrix(b.gate) @ gate_matrix(a.gate)
        if kind == "Z":
            angle = float(np.angle(m[1, 1] / m[0, 0]))
        else:
            plus, minus = m[0, 0] + m[0, 1], m[0, 0] - m[0, 1]
            angle = float(np.angle(minus / plus))
        angle = math.remainder(angle, 2 * math.pi)
        if abs(angle) < 1e-11:
            return None
        return Operation(Gate._trusted(self._rotation_name(kind), (angle,), 1), a.qubits)


class OptimizeLoop:
    """Run fusion and cancellation until neither the 2q count nor the operation count drops."""

    def __init__(self, basis: frozenset[str], max_rounds: int = 10) -> None:
        self.fuse = Fuse1q(basis)
        self.cancel = CommutativeCancellation(basis)
        self.max_rounds = max_rounds

    @classmethod
    def for_target(cls, target: Target, max_rounds: int = 10) -> OptimizeLoop:
        return cls(one_qubit_basis(target), max_rounds)

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        best = (dag.count_two_qubit(), len(dag.ops))
        dag = self.fuse.run(dag, properties)
        for _ in range(self.max_rounds):
            dag = self.fuse.run(self.cancel.run(dag, properties), properties)
            now = (dag.count_two_qubit(), len(dag.ops))
            if now >= best:
                break
            best = now
        return dag
