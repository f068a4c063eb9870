"""Measurement handling around routing: keep terminal measurements at the end (before routing, and again after it:
the router emits a measurement as soon as its qubit is done and may then route swaps through that qubit), and drop
swaps that only move qubits which are then measured (the measurement reads the other qubit instead; the final layout
records where each state ended).
"""

from __future__ import annotations

from xihe.circuit import Operation
from xihe.compiler.dag import DAGCircuit, PropertySet


class DeferTerminalMeasurements:
    """Move each terminal measurement (nothing but barriers follows on its qubit, no later condition reads its
    register) to the end of the circuit, in their original order. Delaying such a measurement changes nothing, and
    routing then no longer sees a measured qubit in the middle of a two-qubit block.
    """

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        ops = dag.ops
        conditioned_after: set[str] = set()
        busy: set[int] = set()  # qubits with a non-barrier operation later on
        deferred: list[int] = []
        clbit_reg = {}
        offset = 0
        for reg in dag.cregs:
            for i in range(reg.size):
                clbit_reg[offset + i] = reg.name
            offset += reg.size
        written_later: set[int] = set()
        for i in range(len(ops) - 1, -1, -1):
            op = ops[i]
            if op.gate.name == "measure" and op.condition is None:
                q, c = op.qubits[0], op.clbits[0]
                if q not in busy and clbit_reg.get(c) not in conditioned_after and c not in written_later:
                    deferred.append(i)
                    written_later.add(c)
                    continue
            if op.condition is not None:
                conditioned_after.add(op.condition[0])
            if op.gate.name != "barrier":
                busy.update(op.qubits)
            written_later.update(op.clbits)
        if not deferred:
            return dag
        moved = set(deferred)
        out = [op for i, op in enumerate(ops) if i not in moved]
        out.extend(ops[i] for i in sorted(deferred))
        return dag.copy_with(out)


class DeferRoutedMeasurements:
    """After routing: move each measurement that only swaps (and barriers) follow on its qubit to the end, on the
    qubit those swaps carried the measured state to.

    The router treats a measured qubit as free and may route a swap through it (about 1 compile in 24 on ``line10``
    made a terminal measurement mid-circuit that way); a Quafu chip measures only at the end. Moving the measurement
    past the swaps measures the same state: each swap only relocates it. A measurement that any other operation
    follows on the state's qubit, or whose bit a later operation reads or writes, was mid-circuit in the source and
    stays where it is.
    """

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        ops = dag.ops
        creg_bits: dict[str, list[int]] = {}
        offset = 0
        for reg in dag.cregs:
            creg_bits[reg.name] = list(range(offset, offset + reg.size))
            offset += reg.size
        pending: dict[int, int] = {}  # qubit the measured state is on now -> index of its measurement
        where: dict[int, int] = {}  # index of a pending measurement -> that qubit
        by_bit: dict[int, int] = {}  # clbit -> index of the pending measurement writing it
        moved = False

        def pin(index: int) -> None:
            pending.pop(where.pop(index), None)
            by_bit.pop(ops[index].clbits[0], None)

        for i, op in enumerate(ops):
            name = op.gate.name
            if name == "swap" and op.condition is None:
                s, t = op.qubits
                ms, mt = pending.pop(s, None), pending.pop(t, None)
                for index, qubit in ((ms, t), (mt, s)):
                    if index is not None:
                        pending[qubit] = index
                        where[index] = qubit
                        moved = True
                continue
            if name == "barrier":
                continue
            for q in op.qubits:
                if q in pending:
                    pin(pending[q])
            bits = set(op.clbits) | set(creg_bits.get(op.condition[0], ()) if op.condition is not None else ())
            for c in bits:
                if c in by_bit:
                    pin(by_bit[c])
            if name == "measure" and op.condition is None:
                pending[op.qubits[0]] = i
                where[i] = op.qubits[0]
                by_bit[op.clbits[0]] = i
        if not moved or not where:
            return dag
        out = [op for i, op in enumerate(ops) if i not in where]
        out.extend(ops[i].replace(qubits=(where[i],)) for i in sorted(where))
        return dag.copy_with(out)


class RemoveSwapsBeforeMeasure:
    """Drop a swap when everything after it on its two qubits is measurement; those measurements swap qubits.

    One backward sweep: ``free`` holds the qubits that only measurements (or barriers) follow, ``measures`` the
    indices of those measurements per qubit, so each removal relabels just them.
    """

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        ops: list[Operation | None] = list(dag.ops)
        final = properties.get("final_layout")
        free: set[int] = set(range(dag.num_qubits))
        measures: dict[int, list[int]] = {}
        changed = False
        for i in range(len(ops) - 1, -1, -1):
            op = ops[i]
            assert op is not None
            name = op.gate.name
            if name == "swap" and op.condition is None and op.qubits[0] in free and op.qubits[1] in free:
                s, t = op.qubits
                ops[i] = None
                changed = True
                for q, other in ((s, t), (t, s)):
                    for j in measures.get(q, []):
                        m = ops[j]
                        assert m is not None
                        ops[j] = m.replace(qubits=(other,))
                measures[s], measures[t] = measures.get(t, []), measures.get(s, [])
                if final is not None:
                    properties["final_layout"] = final = [t if p == s else s if p == t else p for p in final]
                continue
            if name == "measure" and op.condition is None:
                measures.setdefault(op.qubits[0], []).append(i)
            elif name != "barrier":
                free.difference_update(op.qubits)
        if not changed:
            return dag
        return dag.copy_with([op for op in ops if op is not None])
