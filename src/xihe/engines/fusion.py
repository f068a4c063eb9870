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
def _compose(k: int, diagonal: np.ndarray, widths: np.ndarray, bits: np.ndarray, values: np.ndarray,
             starts: np.ndarray) -> np.ndarray:
    """The ``2^k x 2^k`` product of a block's gates, the first applied first, in one compiled call.

    Gate ``g`` acts on the block's row-index bits ``bits[b:b + widths[g]]`` (``b`` the sum of the earlier widths,
    the first its most significant); its entries are ``values[starts[g]:]``: the diagonal when ``diagonal[g]``,
    else the row-major matrix. Each gate multiplies the rows of the running product in groups that differ only in
    its bits (``embed(gate) @ product``)."""
    d = 1 << k
    mat = np.eye(d, dtype=np.complex128)
    tmp = np.empty(16, dtype=np.complex128)
    offs = np.empty(16, dtype=np.int64)
    b0 = 0
    for g in range(widths.size):
        m = widths[g]
        gd = 1 << m
        mask = 0
        for j in range(m):
            mask |= 1 << bits[b0 + j]
        for r in range(gd):
            off = 0
            for j in range(m):
                if (r >> (m - 1 - j)) & 1:
                    off |= 1 << bits[b0 + j]
            offs[r] = off
        v = values[starts[g]:]
        for base in range(d):
            if base & mask:
                continue
            if diagonal[g]:
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
        b0 += m
    return mat


def _block_instr(block: _Block) -> Instr:
    if len(block.instrs) == 1:
        return block.instrs[0]
    qubits = sorted(block.qubits)
    k = len(qubits)
    where = {q: i for i, q in enumerate(qubits)}
    if all(i.kind == "diagonal" for i in block.instrs):
        diag = np.ones(1 << k, dtype=np.complex128)
        idx = np.arange(1 << k)
        for ins in block.instrs:
            assert ins.matrix is not None
            local = np.zeros_like(idx)
            for q in ins.qubits:
                local = (local << 1) | ((idx >> (k - 1 - where[q])) & 1)
            diag *= ins.matrix[local]
        return Instr("diagonal", tuple(qubits), diag, name="fused")
    if k <= _COMPOSE_MAX_QUBITS and all(len(i.qubits) <= 4 for i in block.instrs):
        # One compiled call per block: the per-gate kernel calls below cost ~8 us each in Python (QV-20: 1,820
        # gates, 15 ms of fusion before the first pass).
        starts = np.zeros(len(block.instrs), dtype=np.int64)
        parts: list[np.ndarray] = []
        at = 0
        for g, ins in enumerate(block.instrs):
            assert ins.matrix is not None
            starts[g] = at
            parts.append(ins.matrix.reshape(-1))
            at += ins.matrix.size
        mat = _compose(k, np.array([i.kind == "diagonal" for i in block.instrs]),
                       np.array([len(i.qubits) for i in block.instrs], dtype=np.int64),
                       np.array([k - 1 - where[q] for i in block.instrs for q in i.qubits], dtype=np.int64),
                       np.concatenate(parts).astype(np.complex128, copy=False), starts)
        return Instr("unitary", tuple(qubits), mat, name="fused")
    mat = np.eye(1 << k, dtype=np.complex128)
    for ins in block.instrs:
        assert ins.matrix is not None
        gate = np.diag(ins.matrix) if ins.kind == "diagonal" else ins.matrix
        mat = _apply_on(mat, gate, [where[q] for q in ins.qubits], k)
    return Instr("unitary", tuple(qubits), mat, name="fused")


# Widest block :func:`_compose` builds (its work is d^2 per row group: beyond 6 qubits the kernels' BLAS path wins).
_COMPOSE_MAX_QUBITS = 6


def _group(instrs: list[Instr], max_qubits: int, fusable: Callable[[Instr], bool],
           max_diagonal: int | None = None) -> list[_Block | Instr]:
    """Group the ``fusable`` instructions into blocks of at most ``max_qubits`` qubits; others stay in place.

    Anything not fusable closes the blocks on its own qubits only: a block on other qubits commutes with it and
    keeps growing past it. A block made only of diagonal gates may grow to ``max_diagonal`` qubits (default
    ``max_qubits``): its pass costs a table lookup per amplitude whatever its width, where a dense block's work
    doubles with each qubit.
    """
    wide = max_qubits if max_diagonal is None else max(max_diagonal, max_qubits)
    items: list[_Block | Instr | None] = []
    last: dict[int, int] = {}

    def is_open(i: int) -> bool:
        item = items[i]
        return isinstance(item, _Block) and all(last[q] == i for q in item.qubits)

    for ins in instrs:
        is_diag = ins.kind == "diagonal"
        if not (fusable(ins) and ins.condition is None and len(ins.qubits) <= (wide if is_diag else max_qubits)):
            items.append(ins)
            for q in ins.qubits:
                last[q] = len(items) - 1
            continue
        qs = set(ins.qubits)
        candidates = sorted({last[q] for q in qs if q in last and is_open(last[q])},
                            key=lambda i: -len(items[i].qubits))  # type: ignore[union-attr]
        union = set(qs)
        chosen: list[int] = []
        diagonal = is_diag
        for i in candidates:
            block = items[i]
            assert isinstance(block, _Block)
            still = diagonal and block.diagonal
            if len(union | set(block.qubits)) <= (wide if still else max_qubits):
                union |= set(block.qubits)
                chosen.append(i)
                diagonal = still
        merged = _Block(sorted(union))
        for i in sorted(chosen):
            block = items[i]
            assert isinstance(block, _Block)
            merged.instrs.extend(block.instrs)
            items[i] = None
        merged.instrs.append(ins)
        items.append(merged)
        for q in merged.qubits:
            last[q] = len(items) - 1
    return [item for item in items if item is not None]


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
    return [_block_instr(item) if isinstance(item, _Block) else item for item in items]


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
