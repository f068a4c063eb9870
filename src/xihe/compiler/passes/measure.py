"""Measurement handling around routing: keep terminal measurements at the end, and drop swaps that only move qubits
which are then measured (the measurement reads the other qubit instead; the final layout records where each state
ended).
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
