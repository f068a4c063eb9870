"""Implicit swaps before layout: a two-qubit block that is cheaper with a swap folded in is written that way, and the
swap becomes a relabelling of the virtual qubits that follow (issue 19).

A block ``U`` on virtual qubits ``p, q`` (a maximal run of gates on that pair, as :class:`.ConsolidateBlocks` finds
them) is written as ``V = SWAP U`` when ``V`` needs fewer CX than ``U``: then ``U = SWAP V``, and the swap need not
be made at all, because before layout nothing ties a virtual qubit to a wire: every later operation on ``p`` moves
to ``q`` and the other way round, and the permutation is folded into the final layout as
:class:`.ElidePermutations` folds an elided ``swap``. This is TKET's ``KAKDecomposition(allow_swaps=True)`` inside
``FullPeepholeOptimise``. By the KAK coordinates, ``SWAP U`` has coordinates ``(pi/4 - c, pi/4 - b, pi/4 - a)``
for ``U``'s ``(a, b, c)``: a written-out swap (3 CX) goes to 0, an iSWAP-like block (2 CX) to 1, a block with one
coordinate at ``pi/4`` (a CX and a swap: 3) to 2. Clifford-heavy circuits are full of them (QASMBench's
``error_correctiond3_n5``: ``cx; h h; cx; h h; cx`` is a swap), and swaps made of CX never reach
``ElidePermutations``, which sees only ``cx a,b; cx b,a; cx a,b`` written out.

Each block's decision is local and exact: relabelling the rest of the circuit changes no later block's gates, only
the qubits they are on, so every block that gains is rewritten, in one pass over the circuit. Circuits with
``if``/``else`` blocks are left as they are (their bodies would need the renaming), and so is a circuit whose layout
is already chosen (:class:`.FanOutLayout` fired: it placed the qubits as they are named).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from xihe.circuit import Operation
from xihe.compiler.dag import DAGCircuit, PropertySet, has_if_blocks
from xihe.compiler.passes.blocks import BlockCounts, block_unitary, step_operations
from xihe.compiler.two_qubit import cx_needed, synthesize_two_qubit


class Pass(Protocol):
    """A compiler pass, as :class:`xihe.compiler.preset.Pass` (which imports this package, so not from there)."""

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit: ...


_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]


def swapped_synthesis(block: list[Operation], pair: tuple[int, int]) -> list[Operation] | None:
    """``SWAP U`` for the block's product ``U`` on ``pair``, with fewer CX than ``U`` needs, or ``None``."""
    u = block_unitary(block, pair)
    v = _SWAP @ u
    needed = cx_needed(u)
    if cx_needed(v) >= needed:
        return None
    steps = synthesize_two_qubit(v)  # checked against v; cx_needed answers the lower count near a boundary
    if steps is None or sum(1 for _, _, qs in steps if len(qs) == 2) >= needed:
        return None
    return step_operations(steps, pair)


def _may_gain(block: list[Operation]) -> bool:
    """A block with one CX or CZ never gains (``SWAP CX`` needs 2); most blocks are such, so they are not multiplied."""
    two = [op for op in block if len(op.qubits) == 2]
    return len(two) > 1 or two[0].gate.name not in ("cx", "cz")


class ImplicitSwaps:
    """Rewrite each two-qubit block that a folded-in swap makes cheaper and relabel what follows (module docstring).

    ``properties['elided_permutation']`` (source qubit -> the wire its state ends on) is composed with this pass's
    relabelling; ``transpile`` folds it into ``final_layout``. ``properties['implicit_swaps']`` counts the blocks
    rewritten.
    """

    def __init__(self, cleanup: Sequence[Pass] = (), rounds: int = 1) -> None:
        self.cleanup = list(cleanup)
        self.rounds = rounds

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        """Rewrite, then (while a round rewrote a block, up to ``rounds`` times) run the cleanup passes and rewrite
        again: a rewritten block's neighbours may now merge into a block that gains."""
        for _ in range(self.rounds):
            before = properties.get("implicit_swaps", 0)
            dag = self.rewrite(dag, properties)
            if properties.get("implicit_swaps", 0) == before:
                break
            for p in self.cleanup:
                dag = p.run(dag, properties)
        return dag

    def rewrite(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        """One pass over the circuit: every block that gains is rewritten, what follows relabelled."""
        if "layout" in properties or has_if_blocks(dag.ops):
            return dag
        # ``out`` holds one operation per input operation, relabelled: its blocks are the input's (a relabelling
        # after a block renames the qubits of what follows, not which operations form a block), so the kernel's
        # counts on the input answer for most of them (:class:`.BlockCounts` checks each block's members), and for
        # all of them where none gains (a quantum-volume circuit's blocks): then there is nothing to walk.
        counts = BlockCounts(dag.ops)
        if counts.no_block_gains_a_swap():
            return dag
        wire = list(range(dag.num_qubits))  # qubit as the input names it -> the wire that now holds its state
        holder = list(range(dag.num_qubits))  # wire -> the input qubit whose state it holds
        out: list[Operation] = []
        dropped: set[int] = set()  # indices in ``out`` of rewritten blocks' gates
        replacement: dict[int, list[Operation]] = {}
        open_block: dict[int, list[int]] = {}  # wire -> indices in ``out`` of its open block (shared by the pair)
        pending: dict[int, list[int]] = {}  # wire -> indices of 1q gates waiting for a block
        rewritten = 0

        def close(block: list[int]) -> None:
            nonlocal rewritten
            ops = [out[i] for i in block]
            p, q = next(op.qubits for op in ops if len(op.qubits) == 2)
            for w in (p, q):
                if open_block.get(w) is block:
                    del open_block[w]
            if not _may_gain(ops) or counts.swap_gains_nothing(block):
                return
            new = swapped_synthesis(ops, (p, q))
            if new is None:
                return
            dropped.update(block)
            replacement[block[-1]] = new
            a, b = holder[p], holder[q]
            wire[a], wire[b] = q, p
            holder[p], holder[q] = b, a
            rewritten += 1

        for op in dag.ops:
            # Closing a block may relabel this operation's qubits, and the new wires may have open blocks of their
            # own: map, close what it ends, and map again until nothing moves.
            while True:
                qubits = tuple(wire[q] for q in op.qubits)
                simple = op.gate.is_unitary and op.condition is None and len(qubits) <= 2
                if simple and len(qubits) == 1:
                    break
                if simple and len(qubits) == 2:
                    block = open_block.get(qubits[0])
                    if block is not None and open_block.get(qubits[1]) is block:
                        break
                ending = [open_block[w] for w in qubits if w in open_block]
                if not ending:
                    break
                close(ending[0])
            here = len(out)
            out.append(op.replace(qubits=qubits) if qubits != op.qubits else op)
            if simple and len(qubits) == 1:
                w = qubits[0]
                if w in open_block:
                    open_block[w].append(here)
                else:
                    pending.setdefault(w, []).append(here)
            elif simple and len(qubits) == 2:
                p, q = qubits
                block = open_block.get(p)
                if block is not None and open_block.get(q) is block:
                    block.append(here)
                else:
                    open_block[p] = open_block[q] = [*sorted(pending.pop(p, []) + pending.pop(q, [])), here]
            else:
                for w in qubits:
                    pending.pop(w, None)
        for block in {id(b): b for b in open_block.values()}.values():
            close(block)
        if not rewritten:
            return dag
        ops_out: list[Operation] = []
        for i, op_out in enumerate(out):
            if i in replacement:
                ops_out.extend(replacement[i])
            elif i not in dropped:
                ops_out.append(op_out)
        previous = properties.get("elided_permutation")
        properties["elided_permutation"] = wire if previous is None else [wire[w] for w in previous]
        properties["implicit_swaps"] = properties.get("implicit_swaps", 0) + rewritten
        return dag.copy_with(ops_out)
