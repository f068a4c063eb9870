"""Gate fusion: merge runs of gates into few dense blocks of at most ``max_qubits`` qubits.

Each pass of a kernel over a large state vector costs a full read and write of memory; a fused block of 4-5
qubits costs about the same pass and replaces many gates. The fuser keeps, for each qubit, the last block that
touches it. A block is *open* while it is the last block on every one of its qubits: nothing after it touches its
qubits, so it commutes with everything after it and may be moved to the end and grown. A new gate merges with the
open blocks on its qubits (largest first) as long as the union fits in ``max_qubits``; otherwise it starts a new
block. Blocks made only of diagonal gates stay diagonal (one multiply per amplitude).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
from numba import njit

from xihe.engines import kernels
from xihe.engines.program import Instr


@dataclass
class _Block:
    qubits: list[int]
    instrs: list[Instr] = field(default_factory=list)

    @property
    def diagonal(self) -> bool:
        return all(i.kind == "diagonal" for i in self.instrs)


def _apply_on(block_matrix: np.ndarray, gate: np.ndarray, local: list[int], k: int) -> np.ndarray:
    """``embed(gate, local) @ block_matrix`` for a ``2^k`` block, in place, without building the embedding.

    The row-major block matrix is a ``2k``-qubit vector whose high ``k`` bits are the row index, so the gate is
    applied by the statevector kernels at bit positions ``k + (k - 1 - j)`` for local qubit ``j``.
    """
    flat = block_matrix.reshape(-1)
    if len(local) == 1:
        kernels.apply_1q(flat, 2 * k - 1 - local[0], gate)
    else:
        kernels.apply_dense(flat, np.array([2 * k - 1 - j for j in local], dtype=np.int64), gate)
    return block_matrix


@njit(cache=True, nogil=True)
def _multiply_rows(mat: np.ndarray, bits: np.ndarray, m: int, v: np.ndarray, diagonal: bool, tmp: np.ndarray,
                   offs: np.ndarray) -> None:
    """``mat = embed(gate) @ mat`` in place for a gate on row bits ``bits[:m]`` (the first most significant), its
    entries ``v``: the diagonal when ``diagonal``, else row-major. Rows are taken in groups differing only in its
    bits."""
    d = mat.shape[0]
    gd = 1 << m
    mask = 0
    for j in range(m):
        mask |= 1 << bits[j]
    for r in range(gd):
        off = 0
        for j in range(m):
            if (r >> (m - 1 - j)) & 1:
                off |= 1 << bits[j]
        offs[r] = off
    for base in range(d):
        if base & mask:
            continue
        if diagonal:
            for r in range(gd):
                row = base + offs[r]
                for c in range(d):
                    mat[row, c] *= v[r]
            continue
        for c in range(d):
            for r in range(gd):
                tmp[r] = mat[base + offs[r], c]
            for r in range(gd):
                acc = 0j
                for s in range(gd):
                    acc += v[r * gd + s] * tmp[s]
                mat[base + offs[r], c] = acc


@njit(cache=True, nogil=True)
def _lift(src: np.ndarray, diagonal: bool, src_bits: np.ndarray, ma: int, bits: np.ndarray, mu: int,
          out: np.ndarray) -> None:
    """``out``: the ``2^mu``-square row-major matrix on ``bits[:mu]`` of a gate on ``src_bits[:ma]`` (a subset;
    ``src`` its diagonal when ``diagonal``, else row-major), the identity on the other bits."""
    size = 1 << mu
    slot = np.full(2, -1, dtype=np.int64)  # which of the gate's bits sits at each of the mu positions
    for u in range(mu):
        for j in range(ma):
            if src_bits[j] == bits[u]:
                slot[u] = j
    for r in range(size):
        for c in range(size):
            same = True
            ra = 0
            ca = 0
            for u in range(mu):
                rb = (r >> (mu - 1 - u)) & 1
                cb = (c >> (mu - 1 - u)) & 1
                if slot[u] < 0:
                    if rb != cb:
                        same = False
                else:
                    ra |= rb << (ma - 1 - slot[u])
                    ca |= cb << (ma - 1 - slot[u])
            if not same or (diagonal and ra != ca):
                out[r * size + c] = 0j
            else:
                out[r * size + c] = src[ra] if diagonal else src[ra * (1 << ma) + ca]


@njit(cache=True, nogil=True)
def _compose(k: int, diagonal: np.ndarray, widths: np.ndarray, bits: np.ndarray, values: np.ndarray,
             starts: np.ndarray) -> np.ndarray:
    """The ``2^k x 2^k`` product of a block's gates, the first applied first, in one compiled call.

    Gate ``g`` acts on the block's row-index bits ``bits[b:b + widths[g]]`` (``b`` the sum of the earlier widths,
    the first its most significant); its entries are ``values[starts[g]:]``: the diagonal when ``diagonal[g]``,
    else the row-major matrix. Runs of gates within two bits (a QV layer's u3, cx, u3, cx...) are first
    multiplied as 4x4 matrices (64 multiply-adds each); only the run's product multiplies the rows of the running
    ``2^k`` product (``embed(run) @ product``, 1,024 multiply-adds at k = 4), as do gates on 3-4 bits."""
    d = 1 << k
    mat = np.eye(d, dtype=np.complex128)
    tmp = np.empty(16, dtype=np.complex128)
    offs = np.empty(16, dtype=np.int64)
    run = np.ones(16, dtype=np.complex128)  # the run's product on run_bits[:rn], row-major
    run_bits = np.empty(2, dtype=np.int64)
    rn = 0
    union = np.empty(2, dtype=np.int64)
    lifted_run = np.empty(16, dtype=np.complex128)
    lifted_gate = np.empty(16, dtype=np.complex128)
    b0 = 0
    for g in range(widths.size):
        m = widths[g]
        gb = bits[b0:b0 + m]
        v = values[starts[g]:]
        b0 += m
        if m <= 2:
            un = rn
            for j in range(rn):
                union[j] = run_bits[j]
            for j in range(m):
                seen = False
                for u in range(min(un, 2)):
                    if union[u] == gb[j]:
                        seen = True
                if not seen:
                    if un < 2:
                        union[un] = gb[j]
                    un += 1
            if un <= 2:
                _lift(run, False, run_bits, rn, union, un, lifted_run)
                _lift(v, diagonal[g], gb, m, union, un, lifted_gate)
                size = 1 << un
                for r in range(size):
                    for c in range(size):
                        acc = 0j
                        for s in range(size):
                            acc += lifted_gate[r * size + s] * lifted_run[s * size + c]
                        run[r * size + c] = acc
                for j in range(un):
                    run_bits[j] = union[j]
                rn = un
                continue
        if rn > 0:
            _multiply_rows(mat, run_bits, rn, run, False, tmp, offs)
            rn = 0
            run[0] = 1.0
        if m <= 2:
            _lift(v, diagonal[g], gb, m, gb, m, run)
            for j in range(m):
                run_bits[j] = gb[j]
            rn = m
        else:
            _multiply_rows(mat, gb, m, v, diagonal[g], tmp, offs)
    if rn > 0:
        _multiply_rows(mat, run_bits, rn, run, False, tmp, offs)
    return mat


# Widest block :func:`_compose` builds (its work is d^2 per row group: beyond 6 qubits the kernels' BLAS path wins).
_COMPOSE_MAX_QUBITS = 6


@njit(cache=True, nogil=True)
def _compose_blocks(sizes: np.ndarray, block_qubits: np.ndarray, gate_at: np.ndarray, only_diagonal: np.ndarray,
                    diagonal: np.ndarray, widths: np.ndarray, qubits: np.ndarray, values: np.ndarray,
                    starts: np.ndarray, out_at: np.ndarray) -> np.ndarray:
    """Every block's matrix (or diagonal, for a block of diagonal gates only) in one compiled call, one after
    the other in the result (block ``b`` at ``out_at[b]``).

    Block ``b`` acts on the sorted ``sizes[b]`` qubits starting at ``sizes[:b].sum()`` in ``block_qubits``; its
    gates are ``gate_at[b]:gate_at[b + 1]``, gate ``g`` on ``widths[g]`` of the concatenated ``qubits`` (global
    indices, the first its most significant), entries ``values[starts[g]:]`` (diagonal when ``diagonal[g]``)."""
    out = np.empty(out_at[-1], dtype=np.complex128)
    q0 = 0
    qa = 0
    for b in range(sizes.size):
        k = sizes[b]
        mine = block_qubits[q0:q0 + k]
        g0, g1 = gate_at[b], gate_at[b + 1]
        total = 0
        for g in range(g0, g1):
            total += widths[g]
        bits = np.empty(total, dtype=np.int64)
        for j in range(total):
            q = qubits[qa + j]
            for i in range(k):
                if mine[i] == q:
                    bits[j] = k - 1 - i
        if only_diagonal[b]:
            size = 1 << k
            diag = out[out_at[b]:out_at[b] + size]
            diag[:] = 1.0
            at = 0
            for g in range(g0, g1):
                m = widths[g]
                for idx in range(size):
                    local = 0
                    for j in range(m):
                        local = (local << 1) | ((idx >> bits[at + j]) & 1)
                    diag[idx] *= values[starts[g] + local]
                at += m
        else:
            mat = _compose(k, diagonal[g0:g1], widths[g0:g1], bits, values, starts[g0:g1])
            out[out_at[b]:out_at[b] + mat.size] = mat.reshape(-1)
        q0 += k
        qa += total
    return out


def _composable(block: _Block) -> bool:
    """Whether :func:`_compose_blocks` builds the block: all its gates diagonal, or at most
    :data:`_COMPOSE_MAX_QUBITS` qubits and gates of at most 4."""
    if all(i.kind == "diagonal" for i in block.instrs):
        return True
    return len(block.qubits) <= _COMPOSE_MAX_QUBITS and all(len(i.qubits) <= 4 for i in block.instrs)


def _by_gates(block: _Block) -> Instr:
    """A block too wide for :func:`_compose_blocks`, built with one kernel call per gate."""
    qubits = sorted(block.qubits)
    k = len(qubits)
    where = {q: i for i, q in enumerate(qubits)}
    mat = np.eye(1 << k, dtype=np.complex128)
    for ins in block.instrs:
        assert ins.matrix is not None
        gate = np.diag(ins.matrix) if ins.kind == "diagonal" else ins.matrix
        mat = _apply_on(mat, gate, [where[q] for q in ins.qubits], k)
    return Instr("unitary", tuple(qubits), mat, name="fused")


def _block_instrs(items: list[_Block | Instr]) -> list[Instr]:
    """The items with each block replaced by one instruction (a block of one gate by that gate).

    Every block :func:`_composable` takes is built in one compiled call for all of them: per block, the Python
    around a compiled call cost more than the product (QV-20: 70 blocks, 3.2 ms before the sixth pass)."""
    out: list[Instr | None] = []
    todo: list[int] = []
    for j, item in enumerate(items):
        if not isinstance(item, _Block):
            out.append(item)
        elif len(item.instrs) == 1:
            out.append(item.instrs[0])
        elif _composable(item):
            out.append(None)
            todo.append(j)
        else:
            out.append(_by_gates(item))
    if todo:
        blocks: list[_Block] = [items[j] for j in todo]  # type: ignore[misc]
        qubit_lists = [sorted(b.qubits) for b in blocks]
        gates = [ins for b in blocks for ins in b.instrs]
        mats = [ins.matrix.reshape(-1) for ins in gates]  # type: ignore[union-attr]
        n = len(gates)
        sizes = np.fromiter((len(q) for q in qubit_lists), dtype=np.int64, count=len(blocks))
        only = np.fromiter((all(i.kind == "diagonal" for i in b.instrs) for b in blocks), dtype=np.bool_,
                           count=len(blocks))
        gate_at = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum(np.fromiter((len(b.instrs) for b in blocks), dtype=np.int64, count=len(blocks)), out=gate_at[1:])
        out_at = np.zeros(len(blocks) + 1, dtype=np.int64)
        np.cumsum(np.where(only, 1 << sizes, 1 << (2 * sizes)), out=out_at[1:])
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter((m.size for m in mats), dtype=np.int64, count=n), out=starts[1:])
        flat = _compose_blocks(
            sizes, np.fromiter(chain.from_iterable(qubit_lists), dtype=np.int64, count=int(sizes.sum())), gate_at,
            only, np.fromiter((i.kind == "diagonal" for i in gates), dtype=np.bool_, count=n),
            np.fromiter((len(i.qubits) for i in gates), dtype=np.int64, count=n),
            np.fromiter(chain.from_iterable(i.qubits for i in gates), dtype=np.int64),
            np.concatenate(mats).astype(np.complex128, copy=False), starts, out_at)
        for b, (j, qs) in enumerate(zip(todo, qubit_lists, strict=True)):
            piece = flat[out_at[b]:out_at[b + 1]]
            d = 1 << len(qs)
            out[j] = Instr("diagonal", tuple(qs), piece, name="fused") if only[b] else \
                Instr("unitary", tuple(qs), piece.reshape(d, d), name="fused")
    return out  # type: ignore[return-value]


def _block_instr(block: _Block) -> Instr:
    """One block's instruction (:func:`_block_instrs` of one item)."""
    return _block_instrs([block])[0]


@njit(cache=True, nogil=True)
def _group_kernel(q_off: np.ndarray, q_flat: np.ndarray, fusable: np.ndarray, diagonal: np.ndarray,
                  num_qubits: int, max_qubits: int, wide: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_group`'s grouping on arrays, in one compiled call (the loop in Python cost ~3 us a gate).

    Instruction ``t`` acts on ``q_flat[q_off[t]:q_off[t + 1]]``; ``fusable[t]`` says it may join a block (its
    width limit is checked here), ``diagonal[t]`` that it is a diagonal gate. Returns, for the items in order:
    ``is_block``, the instruction indices of each item (``order[starts[j]:starts[j + 1]]``, in the order the
    block applies them) and each block's sorted qubits (``qubits[qstarts[j]:qstarts[j + 1]]``; empty for an
    instruction left in place).
    """
    n = fusable.size
    item_block = np.zeros(n, dtype=np.bool_)
    item_alive = np.zeros(n, dtype=np.bool_)
    item_diag = np.zeros(n, dtype=np.bool_)
    item_q0 = np.zeros(n, dtype=np.int64)
    item_qn = np.zeros(n, dtype=np.int64)
    head = np.full(n, -1, dtype=np.int64)
    tail = np.full(n, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    store = np.empty(2 * n + 16, dtype=np.int64)  # the blocks' qubits, grown as needed
    used = 0
    last = np.full(num_qubits, -1, dtype=np.int64)
    mark = np.zeros(num_qubits, dtype=np.int64)  # mark[q] == stamp: q is in the union being built
    cand = np.empty(max(wide, max_qubits) + 1, dtype=np.int64)
    union = np.empty(max(wide, max_qubits) + 1, dtype=np.int64)
    items = 0
    for t in range(n):
        a, b = q_off[t], q_off[t + 1]
        w = b - a
        limit = wide if diagonal[t] else max_qubits
        if not fusable[t] or w > limit:
            item_alive[items] = True
            head[items] = t
            tail[items] = t
            for j in range(a, b):
                last[q_flat[j]] = items
            items += 1
            continue
        # Open blocks on the gate's qubits (distinct), largest first, then oldest first.
        nc = 0
        for j in range(a, b):
            i = last[q_flat[j]]
            if i < 0 or not item_block[i]:
                continue
            seen = False
            for c in range(nc):
                if cand[c] == i:
                    seen = True
            if seen:
                continue
            is_open = True
            for k in range(item_q0[i], item_q0[i] + item_qn[i]):
                if last[store[k]] != i:
                    is_open = False
                    break
            if is_open:
                cand[nc] = i
                nc += 1
        for c in range(1, nc):  # insertion sort by (-size, index)
            v = cand[c]
            d = c - 1
            while d >= 0 and (item_qn[cand[d]] < item_qn[v] or (item_qn[cand[d]] == item_qn[v] and cand[d] > v)):
                cand[d + 1] = cand[d]
                d -= 1
            cand[d + 1] = v
        stamp = t + 1
        nu = 0
        for j in range(a, b):
            if mark[q_flat[j]] != stamp:
                mark[q_flat[j]] = stamp
                union[nu] = q_flat[j]
                nu += 1
        diag = diagonal[t]
        nchosen = 0
        for c in range(nc):
            i = cand[c]
            still = diag and item_diag[i]
            extra = 0
            for k in range(item_q0[i], item_q0[i] + item_qn[i]):
                if mark[store[k]] != stamp:
                    extra += 1
            if nu + extra <= (wide if still else max_qubits):
                for k in range(item_q0[i], item_q0[i] + item_qn[i]):
                    if mark[store[k]] != stamp:
                        mark[store[k]] = stamp
                        union[nu] = store[k]
                        nu += 1
                cand[nchosen] = i  # chosen ones overwrite the front of cand, which is read ahead of them
                nchosen += 1
                diag = still
        chosen = np.sort(cand[:nchosen])
        h = -1
        tl = -1
        for c in range(nchosen):
            i = chosen[c]
            item_alive[i] = False
            if h < 0:
                h = head[i]
            else:
                nxt[tl] = head[i]
            tl = tail[i]
        if h < 0:
            h = t
        else:
            nxt[tl] = t
        union_sorted = np.sort(union[:nu])
        if used + nu > store.size:
            grown = np.empty(2 * store.size + nu, dtype=np.int64)
            grown[:used] = store[:used]
            store = grown
        item_block[items] = True
        item_alive[items] = True
        item_diag[items] = diag
        head[items] = h
        tail[items] = t
        item_q0[items] = used
        item_qn[items] = nu
        for k in range(nu):
            store[used + k] = union_sorted[k]
            last[union_sorted[k]] = items
        used += nu
        items += 1
    alive = np.flatnonzero(item_alive[:items])
    m = alive.size
    is_block = np.empty(m, dtype=np.bool_)
    order = np.empty(n, dtype=np.int64)
    starts = np.empty(m + 1, dtype=np.int64)
    qstarts = np.empty(m + 1, dtype=np.int64)
    qubits = np.empty(used, dtype=np.int64)
    at = 0
    qat = 0
    for j in range(m):
        i = alive[j]
        is_block[j] = item_block[i]
        starts[j] = at
        t = head[i]
        while True:
            order[at] = t
            at += 1
            if t == tail[i]:
                break
            t = nxt[t]
        qstarts[j] = qat
        if item_block[i]:
            for k in range(item_qn[i]):
                qubits[qat + k] = store[item_q0[i] + k]
            qat += item_qn[i]
    starts[m] = at
    qstarts[m] = qat
    return is_block, order, starts, qubits[:qat], qstarts


def _group(instrs: list[Instr], max_qubits: int, fusable: Callable[[Instr], bool],
           max_diagonal: int | None = None) -> list[_Block | Instr]:
    """Group the ``fusable`` instructions into blocks of at most ``max_qubits`` qubits; others stay in place.

    Anything not fusable (or conditioned) closes the blocks on its own qubits only: a block on other qubits
    commutes with it and keeps growing past it. A block made only of diagonal gates may grow to ``max_diagonal``
    qubits (default ``max_qubits``): its pass costs a table lookup per amplitude whatever its width, where a dense
    block's work doubles with each qubit. A new gate merges with the open blocks on its qubits, largest first
    (the older first among equal sizes), while the union fits. The grouping runs in :func:`_group_kernel`; the
    same loop in Python (``tests/engines/reference_fusion.py``) is its oracle.
    """
    wide = max_qubits if max_diagonal is None else max(max_diagonal, max_qubits)
    n = len(instrs)
    if n == 0:
        return []
    q_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(i.qubits) for i in instrs), dtype=np.int64, count=n), out=q_off[1:])
    q_flat = np.fromiter(chain.from_iterable(i.qubits for i in instrs), dtype=np.int64, count=int(q_off[-1]))
    ok = np.fromiter((i.condition is None and fusable(i) for i in instrs), dtype=np.bool_, count=n)
    diagonal = np.fromiter((i.kind == "diagonal" for i in instrs), dtype=np.bool_, count=n)
    num_qubits = int(q_flat.max()) + 1 if q_flat.size else 1
    is_block, order, starts, qubits, qstarts = _group_kernel(q_off, q_flat, ok, diagonal, num_qubits, max_qubits,
                                                             wide)
    at, bounds, qbounds = order.tolist(), starts.tolist(), qstarts.tolist()
    qs = qubits.tolist()
    out: list[_Block | Instr] = []
    for j, block in enumerate(is_block.tolist()):
        if block:
            out.append(_Block(qs[qbounds[j]:qbounds[j + 1]], [instrs[t] for t in at[bounds[j]:bounds[j + 1]]]))
        else:
            out.append(instrs[at[bounds[j]]])
    return out


# How many items back :func:`_pair_disjoint` looks for a partner block.
_PAIR_LOOKBACK = 8


def _pair_disjoint(items: list[_Block | Instr], max_qubits: int) -> list[_Block | Instr]:
    """Merge blocks on disjoint qubits whose union fits ``max_qubits`` (the grouping only merges blocks that share
    a qubit): a block moves forward to a later one when nothing in between touches its qubits, so two small
    blocks (a layer's leftover pairs, the final swaps of a QFT) cost one pass instead of two."""
    out: list[_Block | Instr] = []
    for item in items:
        if isinstance(item, _Block):
            mine = set(item.qubits)
            touched: set[int] = set()
            for j in range(len(out) - 1, max(-1, len(out) - 1 - _PAIR_LOOKBACK), -1):
                other = out[j]
                theirs = set(other.qubits)
                if isinstance(other, _Block) and not (theirs & mine) and not (theirs & touched) \
                        and len(theirs | mine) <= max_qubits:
                    del out[j]
                    item = _Block(sorted(theirs | mine), [*other.instrs, *item.instrs])
                    break
                touched |= theirs
        out.append(item)
    return out


def fuse(instrs: list[Instr], max_qubits: int = 4, max_diagonal: int | None = None,
         pair_disjoint: bool = False) -> list[Instr]:
    """Fuse unconditioned ``unitary``/``diagonal`` instructions into blocks of at most ``max_qubits`` qubits
    (blocks of diagonal gates only: ``max_diagonal``, by default ``max_qubits``); with ``pair_disjoint``, blocks
    on disjoint qubits are merged too (:func:`_pair_disjoint`; not for the MPS engine, whose two-qubit blocks
    must stay on the gates' own pairs).

    Anything else (measurement, reset, channel, conditioned or wide gate) stays where it is and closes the blocks
    on its own qubits only: a block on other qubits commutes with it and keeps growing past it.
    """
    items = _group(instrs, max_qubits, lambda ins: ins.kind in ("unitary", "diagonal"), max_diagonal)
    if pair_disjoint:
        items = _pair_disjoint(items, max_qubits)
    return _block_instrs(items)


def superoperator(ins: Instr) -> np.ndarray:
    """The superoperator of a gate or channel on its own qubits, in the basis (row bits, then column bits).

    A unitary ``U`` is ``U (x) conj(U)``; a channel ``sum_k K (x) conj(K)`` (see :mod:`xihe.engines.channels`).
    """
    if ins.kind == "channel":
        assert ins.channel is not None
        return ins.channel.superoperator
    assert ins.matrix is not None
    if ins.kind == "diagonal":
        return np.diag(np.kron(ins.matrix, ins.matrix.conj()))
    if ins.kind == "controlled":
        u = np.eye(1 << len(ins.qubits), dtype=np.complex128)
        u[-2:, -2:] = ins.matrix
        return np.kron(u, u.conj())
    return np.kron(ins.matrix, ins.matrix.conj())


def _superop_block(block: _Block) -> Instr:
    if len(block.instrs) == 1 and block.instrs[0].kind != "controlled":
        return block.instrs[0]
    qubits = sorted(block.qubits)
    k = len(qubits)
    where = {q: i for i, q in enumerate(qubits)}
    sup = np.eye(1 << (2 * k), dtype=np.complex128)
    flat = sup.reshape(-1)
    for ins in block.instrs:
        local = [where[q] for q in ins.qubits]
        # The flattened superoperator is a 4k-bit index: its row index (high 2k bits) holds the row bits of the
        # block's qubits, then their column bits.
        pos = [4 * k - 1 - j for j in local] + [3 * k - 1 - j for j in local]
        kernels.apply_dense(flat, np.array(pos, dtype=np.int64), np.ascontiguousarray(superoperator(ins)))
    return Instr("superop", tuple(qubits), sup, name="fused")


def fuse_superoperators(instrs: list[Instr], max_qubits: int = 2) -> list[Instr]:
    """Fuse gates *and channels* into superoperator blocks of at most ``max_qubits`` qubits (density matrices).

    A gate and its noise, and the runs of gates and channels on the same qubits, become one ``"superop"``
    instruction (``matrix``: the ``4^k x 4^k`` superoperator, basis row bits then column bits of ``qubits``),
    which the density matrix engine applies in one pass over the vectorised state instead of one pass per gate
    side and channel. A block of one instruction stays as it is.
    """
    items = _group(instrs, max_qubits, lambda ins: ins.kind in ("unitary", "diagonal", "controlled", "channel"))
    return [_superop_block(item) if isinstance(item, _Block) else item for item in items]
