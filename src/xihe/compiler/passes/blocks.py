"""Consolidate two-qubit blocks: each maximal run of gates on one pair of qubits is re-synthesised by KAK when that
needs fewer two-qubit gates (a swap next to a CX becomes 2 CX, a Trotter step's CX-rz-CX pairs merge...).

A block is a run of unconditioned unitary gates acting only on qubits ``p`` and ``q`` (one-qubit gates on either,
two-qubit gates on the pair), with the one-qubit gates just before its first two-qubit gate. The replacement is
written where the block's last gate was; nothing else touched ``p`` or ``q`` in between, so order is kept.
"""

from __future__ import annotations

import numpy as np

from xihe.circuit import Gate, Operation
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.blocks_kernel import collect_blocks, splice_order, take_qubits
from xihe.compiler.passes.optimize import Rows, Translator, native_pieces, to_rows, two_qubit_table, width
from xihe.compiler.two_qubit import (
    Step,
    at_most_one_cx,
    cx_needed,
    gate_matrix,
    synthesize_two_qubit,
    two_qubit_matrix,
)

# What a two-qubit gate costs in CX when counting a block (a swap is three).
CX_COST = {"swap": 3, "iswap": 2}


def block_unitary(block: list[Operation], pair: tuple[int, ...]) -> np.ndarray:
    """The 4x4 product of a block on ``pair`` (``pair[0]`` the most significant). A run of one-qubit gates is
    multiplied as 2x2 matrices and applied to the running product once, at the next two-qubit gate or the end (no 4x4
    per one-qubit gate: most of a block's gates are one-qubit)."""
    u = np.eye(4, dtype=complex)
    side: list[np.ndarray | None] = [None, None]  # the pending 2x2 product on local qubit 0 and 1
    for op in block:
        if len(op.qubits) == 1:
            k = 0 if op.qubits[0] == pair[0] else 1
            m = gate_matrix(op.gate)
            pending = side[k]
            side[k] = m if pending is None else m @ pending
            continue
        u = _apply_sides(u, side)
        u = two_qubit_matrix(op.gate, (0, 1) if op.qubits[0] == pair[0] else (1, 0)) @ u
    return _apply_sides(u, side)


def _apply_sides(u: np.ndarray, side: list[np.ndarray | None]) -> np.ndarray:
    """``(side[0] x side[1]) u`` for the pending one-qubit products (``None`` is the identity); clears them."""
    if side[0] is not None:
        u = (side[0] @ u.reshape(2, 8)).reshape(4, 4)
        side[0] = None
    if side[1] is not None:
        u = np.matmul(side[1], u.reshape(2, 2, 4)).reshape(4, 4)
        side[1] = None
    return u


def _cost(op: Operation) -> int:
    return CX_COST.get(op.gate.name, 1) if len(op.qubits) == 2 else 0


class ConsolidateBlocks:
    """Replace a two-qubit block by its KAK synthesis (in ``cx`` and ``u3``) when that saves two-qubit gates.

    Decisions are remembered per block (its operations, on their qubits), so the optimisation loop's later rounds
    do not synthesise the same blocks again.
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[Operation, ...], list[Operation] | None] = {}

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        ops = dag.ops
        replacement: dict[int, list[Operation]] = {}
        removed: set[int] = set()
        open_block: dict[int, list[int]] = {}  # qubit -> indices of its open block (shared by the pair)
        pending: dict[int, list[int]] = {}  # qubit -> indices of 1q gates waiting for a block

        def close(block: list[int]) -> None:
            pair = next(ops[i].qubits for i in block if len(ops[i].qubits) == 2)
            for q in pair:
                if open_block.get(q) is block:
                    del open_block[q]
            if not self._worth_trying(ops, block):
                return
            key = tuple(ops[i] for i in block)
            if key not in self._memo:
                self._memo[key] = self._resynthesise(ops, block, pair)
            new = self._memo[key]
            if new is not None:
                replacement[block[-1]] = new
                removed.update(block[:-1])

        for i, op in enumerate(ops):
            simple = op.gate.is_unitary and op.condition is None and len(op.qubits) <= 2
            if simple and len(op.qubits) == 1:
                q = op.qubits[0]
                if q in open_block:
                    open_block[q].append(i)
                else:
                    pending.setdefault(q, []).append(i)
                continue
            if simple and len(op.qubits) == 2:
                p, q = op.qubits
                block = open_block.get(p)
                if block is not None and open_block.get(q) is block:
                    block.append(i)
                    continue
                for r in (p, q):
                    if r in open_block:
                        close(open_block[r])
                new = [*sorted(pending.pop(p, []) + pending.pop(q, [])), i]
                open_block[p] = open_block[q] = new
                continue
            for r in op.qubits:
                pending.pop(r, None)
                if r in open_block:
                    close(open_block[r])
        for block in {id(b): b for b in open_block.values()}.values():
            close(block)
        out: list[Operation] = []
        for i, op in enumerate(ops):
            if i in replacement:
                out.extend(replacement[i])
            elif i not in removed:
                out.append(op)
        return dag.copy_with(out)

    @staticmethod
    def _worth_trying(ops: list[Operation], block: list[int]) -> bool:
        """Whether the block could get fewer two-qubit gates: not when it has one CX or CZ (most blocks), decided
        before the block is hashed for the memo."""
        two = [ops[i] for i in block if len(ops[i].qubits) == 2]
        return len(two) > 1 or two[0].gate.name not in ("cx", "cz")

    @staticmethod
    def _resynthesise(ops: list[Operation], block: list[int], pair: tuple[int, ...]) -> list[Operation] | None:
        """The block's replacement, or ``None`` to keep it."""
        cost = sum(_cost(ops[i]) for i in block)
        foreign = any(ops[i].gate.name not in ("cx", "cz") and len(ops[i].qubits) == 2 for i in block)
        if cost <= 1 and not foreign:
            return None
        u = block_unitary([ops[i] for i in block], pair)
        if cost == 2 and not foreign and not at_most_one_cx(u):
            return None
        # A block already at the fewest CX it can have (most of a quantum-volume circuit's) is kept without the
        # decomposition; the check is a 4x4 trace.
        needed = cx_needed(u)
        if needed > cost or (needed == cost and not foreign):
            return None
        steps = synthesize_two_qubit(u)
        if steps is None:
            return None
        new_cost = sum(1 for _, _, qs in steps if len(qs) == 2)
        if new_cost > cost or (new_cost == cost and not foreign):
            return None
        return step_operations(steps, pair)


def step_operations(steps: list[Step], pair: tuple[int, ...]) -> list[Operation]:
    """The synthesis steps as operations on the block's qubits (step qubit 0 is ``pair[0]``)."""
    return [Operation(Gate._trusted(name, params, len(qs)), tuple(pair[q] for q in qs)) for name, params, qs in steps]


def consolidate_rows(rows: Rows, sources: list[Operation], translate: Translator,
                     memo: dict[tuple[Gate, tuple[int, ...]], list[Operation]], basis: frozenset[str]) -> Rows:
    """:class:`ConsolidateBlocks` on the optimisation kernels' arrays of native gates: the kernel collects the blocks
    and their products and flags those that need fewer two-qubit gates; each flagged block is synthesised by KAK and,
    where that saves two-qubit gates, replaced by the synthesis translated to native pieces. The replacements'
    operations are appended to ``sources`` (the new rows' ``src`` points there); their one-qubit rows are left for
    fusion to write in the basis.
    """
    qptr, qidx, qtyp, kind, code2, mats = rows[0], rows[1], rows[2], rows[3], rows[5], rows[9]
    block_of, last, pair, cost, flagged, products = collect_blocks(width(sources), qptr, qidx, kind, code2, mats,
                                                                   two_qubit_table())
    candidates = np.flatnonzero(flagged).tolist()
    if not candidates:
        return rows
    ptr = np.zeros(len(cost) + 1, dtype=np.int64)
    replaced = np.zeros(len(cost), dtype=np.bool_)
    new_ops: list[Operation] = []
    for b in candidates:
        steps = synthesize_two_qubit(products[b])
        if steps is None or sum(1 for _, _, qs in steps if len(qs) == 2) >= cost[b]:
            continue
        for op in step_operations(steps, (int(pair[b, 0]), int(pair[b, 1]))):
            new_ops.extend(native_pieces(op, translate, memo))
        replaced[b] = True
        ptr[b + 1] = len(new_ops)
    if not new_ops:
        return rows
    ptr = np.maximum.accumulate(ptr)
    new, _ = to_rows(new_ops, basis)
    new[10][:] += len(sources)
    sources.extend(new_ops)
    order = splice_order(block_of, last, replaced, ptr, len(kind))
    qubits = take_qubits(order, np.concatenate((qptr, new[0][1:] + qptr[-1])), np.concatenate((qidx, new[1])),
                         np.concatenate((qtyp, new[2])))
    return (*qubits, *(np.concatenate((old, added))[order] for old, added in zip(rows[3:], new[3:], strict=True)))
