"""Consolidate two-qubit blocks: each maximal run of gates on one pair of qubits is re-synthesised by KAK when that
needs fewer two-qubit gates (a swap next to a CX becomes 2 CX, a Trotter step's CX-rz-CX pairs merge...).

A block is a run of unconditioned unitary gates acting only on qubits ``p`` and ``q`` (one-qubit gates on either,
two-qubit gates on the pair), with the one-qubit gates just before its first two-qubit gate. The replacement is
written where the block's last gate was; nothing else touched ``p`` or ``q`` in between, so order is kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from xihe.circuit import Gate, Operation
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.blocks_kernel import (
    STEP_CX,
    STEP_FIXED,
    STEP_LOCAL,
    STEP_ROTATION,
    assemble_rows,
    block_products,
    collect_blocks,
    splice_order,
    sure_counts,
    take_qubits,
)
from xihe.compiler.passes.blocks_kernel import equal_up_to_phase as kernel_equal_up_to_phase
from xihe.compiler.passes.optimize import (
    PiecesMemo,
    Rows,
    Translator,
    native_pieces,
    rows_width,
    to_rows,
    two_qubit_code,
    two_qubit_table,
)
from xihe.compiler.passes.optimize_kernel import G_RX, G_RY, G_RZ, KIND_OTHER
from xihe.compiler.passes.translate import CX
from xihe.compiler.two_qubit import (
    Step,
    at_most_one_cx,
    cx_needed,
    gate_matrix,
    kak_parts,
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


class BlockCounts:
    """The CX counts of each two-qubit block of a gate list, and of the block with a swap folded in, from the block
    kernel, where its rounding cannot matter (issue 19).

    The Python passes before routing (:class:`ConsolidateBlocks`, :class:`.swaps.ImplicitSwaps`) multiply each
    block out with NumPy to decide whether to resynthesise it; most blocks (all of a quantum-volume circuit's) are
    kept, and those products were most of the passes' time. Here every block's product is taken in one kernel call
    (:func:`.blocks_kernel.collect_blocks`, which finds the same blocks) and :func:`.blocks_kernel.sure_counts`
    answers where each of ``cx_needed``'s comparisons is clear of its tolerance; a block it leaves open, or one the
    caller forms differently, goes the NumPy way as before, so every decision is the same.
    """

    def __init__(self, ops: list[Operation]) -> None:
        rows, _ = to_rows(ops, frozenset())
        qptr, qidx, kind, is2q, code2, mats = rows[0], rows[1], rows[3], rows[4], rows[5], rows[9]
        block_of, _, _, cost, _, products = collect_blocks(rows_width(rows), qptr, qidx, kind, code2, mats,
                                                           two_qubit_table())
        plain, swapped = sure_counts(products, cost > 1)
        members = block_of >= 0
        sizes = np.bincount(block_of[members], minlength=len(cost))
        # Blocks whose two-qubit gates are all cx or cz (what ConsolidateBlocks counts as one CX each).
        foreign = np.zeros(len(cost), dtype=np.bool_)
        cx_like = np.isin(code2, [two_qubit_code("cx"), two_qubit_code("cz")])
        foreign[block_of[members & is2q & ~cx_like]] = True
        # The kernel's blocks are the Python walks' unless an operation the walks take into a block is one the kernel
        # stops at (a two-qubit gate that is not self-inverse, a one-qubit gate with symbolic parameters).
        same_blocks = not any(_joins_blocks(ops[i]) for i in np.flatnonzero(kind == KIND_OTHER).tolist())
        decided = ((cost == 1) & ~foreign) | ((cost > 1) & (plain >= 0) & (swapped >= plain))
        self._no_swap_gains = same_blocks and bool(decided.all())
        # Blocks ConsolidateBlocks must look at: not a lone cx or cz, and not surely kept.
        kept = ~foreign & (cost > 1) & (plain >= cost)
        look = np.flatnonzero(~(((cost == 1) & ~foreign) | kept))
        self._undecided: list[list[int]] | None = None
        if same_blocks:
            order = np.argsort(block_of, kind="stable")[len(block_of) - int(members.sum()):]  # members by block, index
            starts = np.zeros(len(cost) + 1, dtype=np.int64)
            np.cumsum(sizes, out=starts[1:])
            self._undecided = [order[starts[b]:starts[b + 1]].tolist() for b in look.tolist()]
        self._block_of: list[int] = block_of.tolist()
        self._sizes: list[int] = sizes.tolist()
        self._cost: list[int] = cost.tolist()
        self._foreign: list[bool] = foreign.tolist()
        self._plain: list[int] = plain.tolist()
        self._swapped: list[int] = swapped.tolist()

    def _block(self, block: list[int]) -> int:
        """The kernel's block made of exactly these operations (indices into the list it was built from), or -1."""
        b = self._block_of[block[-1]]
        if b < 0 or self._sizes[b] != len(block) or any(self._block_of[i] != b for i in block):
            return -1
        return b

    def kept(self, block: list[int]) -> bool:
        """Whether :class:`ConsolidateBlocks` surely keeps the block: all cx/cz and its product needs as many."""
        b = self._block(block)
        return b >= 0 and not self._foreign[b] and self._plain[b] >= self._cost[b] > 1

    def undecided_blocks(self) -> list[list[int]] | None:
        """The blocks (operation indices, in order) :class:`ConsolidateBlocks` must decide in Python: all but the lone
        cx or cz and the surely kept; ``None`` where the kernel's blocks may not be the walk's."""
        return self._undecided

    def no_block_gains_a_swap(self) -> bool:
        """Whether surely no block of the list gains from a swap folded in: :class:`.swaps.ImplicitSwaps` would rewrite
        nothing (it does not try a lone cx or cz)."""
        return self._no_swap_gains

    def swap_gains_nothing(self, block: list[int]) -> bool:
        """Whether the block with a swap folded in surely needs as many CX as the block (:func:`.swaps.
        swapped_synthesis` would answer ``None``)."""
        b = self._block(block)
        return b >= 0 and self._plain[b] >= 0 and self._swapped[b] >= self._plain[b]


def _joins_blocks(op: Operation) -> bool:
    """Whether the block walks of :class:`ConsolidateBlocks` and :class:`.swaps.ImplicitSwaps` take ``op`` into a
    block (else it ends the blocks on its qubits)."""
    return op.gate.is_unitary and op.condition is None and len(op.qubits) <= 2


def _walk_blocks(ops: list[Operation], close: Callable[[list[int]], None]) -> None:
    """Find the two-qubit blocks of ``ops`` (the module docstring's) and call ``close`` on each, with its operations'
    indices in order, as it ends."""
    open_block: dict[int, list[int]] = {}  # qubit -> indices of its open block (shared by the pair)
    pending: dict[int, list[int]] = {}  # qubit -> indices of 1q gates waiting for a block

    def end(block: list[int]) -> None:
        for q in next(ops[i].qubits for i in block if len(ops[i].qubits) == 2):
            if open_block.get(q) is block:
                del open_block[q]
        close(block)

    for i, op in enumerate(ops):
        simple = _joins_blocks(op)
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
                    end(open_block[r])
            new = [*sorted(pending.pop(p, []) + pending.pop(q, [])), i]
            open_block[p] = open_block[q] = new
            continue
        for r in op.qubits:
            pending.pop(r, None)
            if r in open_block:
                end(open_block[r])
    for block in {id(b): b for b in open_block.values()}.values():
        end(block)


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
        counts = BlockCounts(ops)

        def decide(block: list[int]) -> None:
            if not self._worth_trying(ops, block) or counts.kept(block):
                return
            key = tuple(ops[i] for i in block)
            if key not in self._memo:
                pair = next(ops[i].qubits for i in block if len(ops[i].qubits) == 2)
                self._memo[key] = self._resynthesise(ops, block, pair)
            new = self._memo[key]
            if new is not None:
                replacement[block[-1]] = new
                removed.update(block[:-1])

        undecided = counts.undecided_blocks()
        if undecided is None:
            _walk_blocks(ops, decide)
        else:  # the kernel's blocks are the walk's: only those its counts leave open (the order does not matter)
            for block in undecided:
                decide(block)
        if not replacement:
            return dag.copy_with(list(ops))
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


# The one-qubit gates a KAK core writes besides rotations: their matrices by index (the gate table's).
_FIXED = ("h", "s", "sdg")
_FIXED_MATS = np.array([gate_matrix(Gate(name)) for name in _FIXED])
_FIXED_INDEX = {name: k for k, name in enumerate(_FIXED)}
_ROTATIONS = {"rz": G_RZ, "rx": G_RX, "ry": G_RY}


class _Templates:
    """Each ``cx`` on physical qubits as the rows of its native pieces (the arrays :func:`assemble_rows` takes), kept
    for the whole compile; ``ops`` are the pieces' operations, put into a run's sources when first used there."""

    def __init__(self, translate: Translator, memo: PiecesMemo,
                 basis: frozenset[str]) -> None:
        self.translate, self.memo, self.basis = translate, memo, basis
        self.index: dict[tuple[int, int], int] = {}
        self.ops: list[list[Operation]] = []
        self.two: list[int] = []  # two-qubit rows per template
        self._parts: list[Rows] = []
        self._arrays: Rows | None = None
        self._lock = threading.Lock()

    def get(self, control: int, target: int) -> int:
        t = self.index.get((control, target))
        if t is None:
            with self._lock:  # routing candidates are finished in threads side by side, sharing the templates
                t = self.index.get((control, target))
                if t is None:
                    ops = native_pieces(Operation(CX, (control, target)), self.translate, self.memo)
                    rows, _ = to_rows(ops, self.basis)
                    self.ops.append(ops)
                    self.two.append(int(np.count_nonzero(rows[4])))
                    self._parts.append(rows)
                    self._arrays = None
                    t = self.index[(control, target)] = len(self.ops) - 1
        return t

    def arrays(self) -> tuple[np.ndarray, Rows]:
        """``(t_ptr, rows)``: template ``t``'s rows are ``t_ptr[t]`` to ``t_ptr[t + 1]``, ``src`` local to it."""
        with self._lock:
            if self._arrays is None:
                parts = self._parts or [to_rows([], self.basis)[0]]  # no cx yet: empty arrays of the right types
                qptr = np.zeros(1 + sum(len(p[3]) for p in parts), dtype=np.int64)
                np.cumsum(np.concatenate([np.diff(p[0]) for p in parts]), out=qptr[1:])
                self._arrays = (qptr, *(np.concatenate([p[k] for p in parts]) for k in range(1, 13)))
            t_ptr = np.zeros(len(self._parts) + 1, dtype=np.int64)
            np.cumsum([len(p[3]) for p in self._parts], out=t_ptr[1:])
            return t_ptr, self._arrays


class RowResynthesis:
    """:class:`ConsolidateBlocks` on the optimisation kernels' arrays of native gates (issue 19).

    :func:`.blocks_kernel.collect_blocks` finds the blocks and their products and flags those that need fewer
    two-qubit gates than they have; each flagged block gets its KAK parts (:func:`..two_qubit.kak_parts`), encoded
    as steps (local factors, rotations, fixed gates, each ``cx`` as its native pieces' rows) that
    :func:`.blocks_kernel.assemble_rows` writes as rows, the one-qubit ones left for fusion to write in the basis.
    The replacements' products are checked against the blocks' in the kernel before any is spliced in.
    """

    def __init__(self, translate: Translator, memo: PiecesMemo,
                 basis: frozenset[str]) -> None:
        self.templates = _Templates(translate, memo, basis)

    def run(self, rows: Rows, sources: list[Operation], num_qubits: int) -> Rows:
        """``rows`` (on qubits below ``num_qubits``) with the flagged blocks that KAK writes with fewer two-qubit
        gates replaced; the pieces' operations are appended to ``sources``."""
        qptr, qidx, qtyp, kind, code2, mats = rows[0], rows[1], rows[2], rows[3], rows[5], rows[9]
        table = two_qubit_table()
        block_of, last, pair, cost, flagged, products = collect_blocks(num_qubits, qptr, qidx, kind, code2, mats,
                                                                       table)
        candidates = np.flatnonzero(flagged).tolist()
        if not candidates:
            return rows
        templates = self.templates
        chosen: list[int] = []
        step_ptr = [0]
        s_kind: list[int] = []
        s_arg: list[int] = []
        s_local: list[int] = []
        s_param: list[float] = []
        local_mats: list[np.ndarray] = []
        used: dict[int, int] = {}  # template -> where its operations start in sources
        for b in candidates:
            parts = kak_parts(products[b])
            if parts is None:
                continue
            a2, b2, core, a1, b1 = parts
            p, q = int(pair[b, 0]), int(pair[b, 1])
            start = len(s_kind)
            local_at = len(local_mats)
            local_mats += (a2, b2, a1, b1)
            s_kind += (STEP_LOCAL, STEP_LOCAL)
            s_arg += (local_at, local_at + 1)
            s_local += (0, 1)
            s_param += (0.0, 0.0)
            two = 0
            for name, params, qs in core:
                if len(qs) == 2:
                    t = templates.get(p, q) if qs == (0, 1) else templates.get(q, p)
                    two += templates.two[t]
                    s_kind.append(STEP_CX)
                    s_arg.append(t)
                    s_local.append(0)
                    s_param.append(0.0)
                    continue
                rotation = _ROTATIONS.get(name)
                s_kind.append(STEP_FIXED if rotation is None else STEP_ROTATION)
                s_arg.append(_FIXED_INDEX[name] if rotation is None else rotation)
                s_local.append(qs[0])
                s_param.append(params[0] if params else 0.0)
            s_kind += (STEP_LOCAL, STEP_LOCAL)
            s_arg += (local_at + 2, local_at + 3)
            s_local += (0, 1)
            s_param += (0.0, 0.0)
            if two >= cost[b]:
                del s_kind[start:], s_arg[start:], s_local[start:], s_param[start:]
                continue
            chosen.append(b)
            step_ptr.append(len(s_kind))
        if not chosen:
            return rows
        t_ptr, t_rows = templates.arrays()
        # Sized by the snapshot: another candidate's thread may add templates after it was taken (every template
        # this run uses is in it: they were all made above).
        t_base = np.zeros(len(t_ptr) - 1, dtype=np.int64)
        for t in np.asarray(s_arg)[np.asarray(s_kind) == STEP_CX].tolist():
            if t not in used:
                used[t] = len(sources)
                sources.extend(templates.ops[t])
            t_base[t] = used[t]
        t_src = t_rows[10] + np.repeat(t_base, np.diff(t_ptr))
        ptr, added = assemble_rows(len(cost), np.array(chosen, dtype=np.int64), np.array(step_ptr, dtype=np.int64),
                                   np.array(s_kind, dtype=np.int64), np.array(s_arg, dtype=np.int64),
                                   np.array(s_local, dtype=np.int64), np.array(s_param, dtype=float),
                                   np.array(local_mats, dtype=complex), _FIXED_MATS, pair, t_ptr, *t_rows[:10], t_src)
        replaced = np.zeros(len(cost), dtype=np.bool_)
        replaced[chosen] = True
        segment = np.repeat(np.arange(len(cost), dtype=np.int64), np.diff(ptr))
        written = block_products(added[0], added[1], added[5], added[9], table, segment, pair, replaced)
        for b in chosen:
            replaced[b] = kernel_equal_up_to_phase(written[b], products[b])
        order = splice_order(block_of, last, replaced, ptr, len(kind))
        qubits = take_qubits(order, np.concatenate((qptr, added[0][1:] + qptr[-1])), np.concatenate((qidx, added[1])),
                             np.concatenate((qtyp, added[2])))
        return (*qubits, *(np.concatenate((old, more))[order] for old, more in zip(rows[3:], added[3:], strict=True)))
