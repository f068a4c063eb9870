"""Elide permutations before layout: a swap of two virtual qubits is a relabelling, not a gate to route.

Qiskit's ``ElidePermutations`` (levels 2 and 3) drops ``swap`` gates and renames the later operations' qubits; the
permutation is folded into the final layout. Here a ``swap`` and a written-out swap (``cx a,b; cx b,a; cx a,b`` with
nothing else on either qubit in between, as a QFT's closing swaps arrive from a ``cx``-level QASM file) are both
dropped. Each later operation moves to the wire that now holds its qubit's state; ``properties['elided_permutation']``
records, for each source qubit, the wire its state ends on, and ``transpile`` composes it into ``final_layout``.

Circuits with ``if``/``else`` blocks are left as they are (their bodies would need the same renaming).
"""

from __future__ import annotations

from xihe.circuit import Operation
from xihe.compiler.dag import DAGCircuit, PropertySet, has_if_blocks


def _is_cx(op: Operation, control: int, target: int) -> bool:
    return op.gate.name == "cx" and op.gate.definition is None and op.condition is None and \
        op.qubits == (control, target)


def swap_triples(ops: list[Operation]) -> dict[int, tuple[int, ...]]:
    """Written-out swaps (three alternating ``cx``, adjacent on both wires): first index -> all three indices."""
    lanes: dict[int, list[int]] = {}
    place: list[dict[int, int]] = []
    for i, op in enumerate(ops):
        here = {}
        for q in op.qubits:
            lane = lanes.setdefault(q, [])
            here[q] = len(lane)
            lane.append(i)
        place.append(here)

    def next_on_both(i: int, a: int, b: int) -> int | None:
        pa, pb = place[i][a] + 1, place[i][b] + 1
        la, lb = lanes[a], lanes[b]
        if pa < len(la) and pb < len(lb) and la[pa] == lb[pb]:
            return la[pa]
        return None

    found: dict[int, tuple[int, ...]] = {}
    taken: set[int] = set()
    for i, op in enumerate(ops):
        if i in taken or len(op.qubits) != 2 or not _is_cx(op, *op.qubits):
            continue
        a, b = op.qubits
        j = next_on_both(i, a, b)
        if j is None or not _is_cx(ops[j], b, a):
            continue
        k = next_on_both(j, a, b)
        if k is None or not _is_cx(ops[k], a, b):
            continue
        found[i] = (i, j, k)
        taken.update((i, j, k))
    return found


class ElidePermutations:
    """Drop swaps between virtual qubits, rename what follows, and record the permutation (see module docstring)."""

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        if has_if_blocks(dag.ops):
            return dag
        triples = swap_triples(dag.ops)
        members = {k for group in triples.values() for k in group}
        wire = list(range(dag.num_qubits))  # source qubit -> the wire that now holds its state
        out: list[Operation] = []
        elided = 0
        for i, op in enumerate(dag.ops):
            plain_swap = op.gate.name == "swap" and op.gate.definition is None and op.condition is None
            if plain_swap or i in triples:
                a, b = op.qubits
                wire[a], wire[b] = wire[b], wire[a]
                elided += 1
                continue
            if i in members:
                continue
            out.append(op.replace(qubits=tuple(wire[q] for q in op.qubits)) if op.qubits else op)
        if not elided:
            return dag
        previous = properties.get("elided_permutation")
        properties["elided_permutation"] = wire if previous is None else [wire[w] for w in previous]
        return dag.copy_with(out)
