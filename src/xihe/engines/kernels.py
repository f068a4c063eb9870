"""Compiled (numba) kernels that update a state vector (complex128, or complex64 in single precision) in place.

Index convention: for an ``n``-qubit register, qubit ``q`` is bit ``n - 1 - q`` of the amplitude index (qubit 0 is
the most significant bit). The kernels take *bit positions*, not qubit numbers; the caller converts.

A k-qubit matrix acts on bit positions ``pos[0..k-1]`` with ``pos[0]`` the most significant bit of the matrix
index, as in the gate table. The dense kernels work on tiles: they gather up to 256 groups of ``2^k`` amplitudes
into a real buffer, multiply it by a real form of the matrix with one BLAS product (scipy's OpenBLAS through
numba's ``np.dot``: its micro-kernels use the machine's full vector width and keep the partial sums in
registers), and scatter back; on the ``k`` lowest bits the state itself is the tile. All kernels are ``parallel``
(numba ``prange``) and release the GIL, and are cached on disk so a worker pays the compile cost once
(:func:`warm`).

Precision: each kernel is compiled once per state dtype. The Python wrappers cast the matrix to the state's
precision (:func:`_as`), so a complex64 state runs float32 arithmetic throughout (``sgemm``; ``dgemm`` for
complex128).
"""

from __future__ import annotations

import os

import numpy as np
from llvmlite.binding import get_host_cpu_features
from numba import njit, prange
from numba.core.registry import cpu_target

from xihe.engines import lane_kernels

# Kernel threads that finish their share of a pass sleep at the barrier instead of spinning (OpenMP's passive wait
# policy), unless the environment already says otherwise. Every pass ends in a barrier; on a busy machine a
# spinning thread takes the core from its sibling that still works, and a 22-qubit single-precision QV run took
# 1.3x the wall time and 1.3x the CPU time with spinning (load 15 on 2 cores). libgomp reads this when numba
# first starts its OpenMP threads, which is after this module is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Whether single-precision dense blocks run on the register kernels of :mod:`xihe.engines.lane_kernels`: they need
# AVX-512 and full-width (zmm) vectors, which LLVM's tuning for Intel's server cores turns off unless numba was
# started with ``NUMBA_CPU_FEATURES`` containing ``-prefer-256-bit`` (``import xihe`` sets that default; numba
# reads it once, so a process that imported numba first keeps the BLAS tiles).
WIDE_VECTORS = bool(get_host_cpu_features().get("avx512f", False)) and "-prefer-256-bit" in str(
    getattr(cpu_target.target_context.codegen(), "_tm_features", ""))

_TILE = 64
# States up to this many amplitudes run on one thread: a parallel launch costs more than the work.
SERIAL_MAX = 1 << 14
# Work items per parallel chunk.
_CHUNK = 1 << 12
# Largest m * n * k of one BLAS product in the dense kernels: OpenBLAS runs a gemm of up to 4 * 65536 multiply-adds
# on the calling thread, so the products called from the kernels' own threads (half that, to stay clear of the
# threshold) never start BLAS threads.
_GEMM_MNK = 1 << 17
# A dense block whose lowest bit position is below this is gathered base by base (:func:`_row_tiles`).
_ROW_BELOW = 3


def _as(mat: np.ndarray, state: np.ndarray) -> np.ndarray:
    """``mat`` in the state's precision, C-contiguous (no copy when it already is)."""
    return np.ascontiguousarray(mat, dtype=state.dtype)


@njit(cache=True, nogil=True, inline="always")
def _insert_zeros(base: int, sorted_pos: np.ndarray) -> int:
    """``base`` with a zero bit inserted at each (ascending) position."""
    idx = base
    for p in sorted_pos:
        low = idx & ((1 << p) - 1)
        idx = ((idx >> p) << (p + 1)) | low
    return idx


@njit(cache=True, nogil=True, inline="always")
def _tile_bases(idx: np.ndarray, start: int, cnt: int, sorted_pos: np.ndarray, contiguous: bool) -> None:
    """Fill ``idx[:cnt]`` with the state indices of a tile's bases ``start .. start + cnt - 1`` (zero bits at the
    gate's qubits); consecutive when the lowest gate qubit is above the tile."""
    if contiguous:
        i0 = _insert_zeros(start, sorted_pos)
        for j in range(cnt):
            idx[j] = i0 + j
    else:
        for j in range(cnt):
            idx[j] = _insert_zeros(start + j, sorted_pos)


@njit(cache=True, nogil=True)
def local_offsets(pos: np.ndarray) -> np.ndarray:
    """Offset of each matrix index in the state, given the bit positions (``pos[0]`` most significant)."""
    k = pos.size
    d = 1 << k
    out = np.zeros(d, dtype=np.int64)
    for r in range(d):
        off = 0
        for j in range(k):
            if (r >> (k - 1 - j)) & 1:
                off |= 1 << pos[j]
        out[r] = off
    return out



@njit(cache=True, nogil=True, fastmath=True)
def _1q_range(state: np.ndarray, p: int, m: np.ndarray, lo: int, hi: int) -> None:
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    step = 1 << p
    low_mask = step - 1
    for i in range(lo, hi):
        i0 = ((i >> p) << (p + 1)) | (i & low_mask)
        a0 = state[i0]
        a1 = state[i0 + step]
        state[i0] = m00 * a0 + m01 * a1
        state[i0 + step] = m10 * a0 + m11 * a1


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def _1q_parallel(state: np.ndarray, p: int, m: np.ndarray) -> None:
    half = state.size >> 1
    nchunks = half // _CHUNK
    for c in prange(nchunks):
        lo = c * _CHUNK
        if p < 12:
            _1q_range(state, p, m, lo, lo + _CHUNK)
        else:
            # Runs longer than a chunk: each chunk is part of one run.
            step = 1 << p
            b = lo >> p
            j0 = lo & (step - 1)
            i0 = (b << (p + 1)) + j0
            m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
            for j in range(_CHUNK):
                a0 = state[i0 + j]
                a1 = state[i0 + step + j]
                state[i0 + j] = m00 * a0 + m01 * a1
                state[i0 + step + j] = m10 * a0 + m11 * a1


def apply_1q(state: np.ndarray, p: int, m: np.ndarray) -> None:
    """Apply a 2x2 matrix on bit position ``p``."""
    m = _as(m, state)
    if state.size <= SERIAL_MAX:
        _1q_range(state, p, m, 0, state.size >> 1)
    else:
        _1q_parallel(state, p, m)


@njit(cache=True, nogil=True, fastmath=True)
def _dense_tiles(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, m2: np.ndarray, t_lo: int,
                 t_hi: int, tile: int) -> None:
    """Tiles ``t_lo..t_hi`` of a dense ``2^k`` block (``k >= 2``): gather, one BLAS product, scatter.

    A tile is ``tile`` bases; each base's ``2^k`` amplitudes are gathered as columns of split real/imaginary rows
    (``inp[c]`` real parts of matrix index ``c``, ``inp[d + c]`` imaginary parts), so the tile product is the real
    ``(2d x 2d) @ (2d x tile)`` product with :func:`real_form`'s matrix, which BLAS runs at the full vector width
    with its accumulators in registers. Bases are gathered in runs of consecutive indices (``2^p`` below the
    lowest gate bit ``p``), so the copies are contiguous whenever that bit is not among the lowest.
    """
    d = offsets.size
    fs = state.view(m2.dtype)  # float32 pairs for a complex64 state
    run = min(1 << sorted_pos[0], tile)
    inp = np.empty((2 * d, tile), dtype=m2.dtype)
    out = np.empty((2 * d, tile), dtype=m2.dtype)
    for t in range(t_lo, t_hi):
        start = t * tile
        for s in range(0, tile, run):
            i0 = 2 * _insert_zeros(start + s, sorted_pos)
            for c in range(d):
                src = i0 + 2 * offsets[c]
                for j in range(run):
                    inp[c, s + j] = fs[src + 2 * j]
                    inp[d + c, s + j] = fs[src + 2 * j + 1]
        np.dot(m2, inp, out)
        for s in range(0, tile, run):
            i0 = 2 * _insert_zeros(start + s, sorted_pos)
            for r in range(d):
                dst = i0 + 2 * offsets[r]
                for j in range(run):
                    fs[dst + 2 * j] = out[r, s + j]
                    fs[dst + 2 * j + 1] = out[d + r, s + j]


@njit(cache=True, nogil=True, fastmath=True)
def _row_tiles(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, b: np.ndarray, t_lo: int,
               t_hi: int, tile: int) -> None:
    """Tiles of a dense block whose lowest gate bit is among the lowest (runs of consecutive bases too short to
    copy as vectors): each base's ``2^k`` amplitudes are gathered as one row of interleaved (real, imaginary)
    pairs, and the tile is the ``(tile x 2d) @ (2d x 2d)`` product with :func:`row_form`'s matrix. On the ``k``
    lowest bits a base's amplitudes are already such a row in the state: the tile is copied once and the product
    written straight back (``offsets`` is then ``0..d-1`` and ``b`` is in state order).
    """
    d = offsets.size
    w = 2 * d
    fin = np.empty(tile * w, dtype=b.dtype)
    fout = np.empty(tile * w, dtype=b.dtype)
    cin = fin.view(state.dtype)
    cout = fout.view(state.dtype)
    inp = fin.reshape(tile, w)
    out = fout.reshape(tile, w)
    low = sorted_pos[sorted_pos.size - 1] == sorted_pos.size - 1  # the k lowest bits
    fs = state.view(b.dtype)
    for t in range(t_lo, t_hi):
        start = t * tile
        if low:
            blk = fs[2 * start * d:2 * (start + tile) * d]
            fin[:] = blk
            np.dot(inp, b, blk.reshape(tile, w))
            continue
        for j in range(tile):
            i0 = _insert_zeros(start + j, sorted_pos)
            for c in range(d):
                cin[j * d + c] = state[i0 + offsets[c]]
        np.dot(inp, b, out)
        for j in range(tile):
            i0 = _insert_zeros(start + j, sorted_pos)
            for r in range(d):
                state[i0 + offsets[r]] = cout[j * d + r]


@njit(cache=True, nogil=True, fastmath=True)
def _sparse_tiles(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, cols: np.ndarray,
                  vals: np.ndarray, t_lo: int, t_hi: int, tile: int) -> None:
    """Tiles of a block with few non-zeros per row (``cols``/``vals``: ``w`` entries per row, zero-padded).

    Fused blocks of controlled phases, CX chains and one Hadamard (QFT, GHZ) have 1-2 non-zeros per row of 16:
    a row-sparse product does that work instead of the dense 16 x 16.
    """
    d = offsets.size
    w = cols.shape[1]
    n_base = state.size // d
    buf = np.empty((d, tile), dtype=state.dtype)
    idx = np.empty(tile, dtype=np.int64)
    contiguous = (1 << sorted_pos[0]) >= tile
    for t in range(t_lo, t_hi):
        start = t * tile
        cnt = min(tile, n_base - start)
        _tile_bases(idx, start, cnt, sorted_pos, contiguous)
        for c in range(d):
            off = offsets[c]
            for j in range(cnt):
                buf[c, j] = state[idx[j] + off]
        for r in range(d):
            off = offsets[r]
            c0 = cols[r, 0]
            v0 = vals[r, 0]
            if w == 1:
                for j in range(cnt):
                    state[idx[j] + off] = v0 * buf[c0, j]
                continue
            for j in range(cnt):
                acc = v0 * buf[c0, j]
                for e in range(1, w):
                    acc += vals[r, e] * buf[cols[r, e], j]
                state[idx[j] + off] = acc


@njit(cache=True, parallel=True, nogil=True)
def _sparse_parallel(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, cols: np.ndarray,
                     vals: np.ndarray, tile: int) -> None:
    n_base = state.size // offsets.size
    ntiles = (n_base + tile - 1) // tile
    per = 16
    nchunks = (ntiles + per - 1) // per
    for c in prange(nchunks):
        _sparse_tiles(state, sorted_pos, offsets, cols, vals, c * per, min(ntiles, (c + 1) * per), tile)


def row_sparse(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cols, vals)`` with the same number ``w`` of entries per row (the widest row; zero padding)."""
    d = mat.shape[0]
    nz = np.abs(mat) > 0
    w = max(int(nz.sum(axis=1).max()), 1)
    cols = np.zeros((d, w), dtype=np.int64)
    vals = np.zeros((d, w), dtype=mat.dtype)
    for r in range(d):
        c = np.flatnonzero(nz[r])
        cols[r, : c.size] = c
        vals[r, : c.size] = mat[r, c]
    return cols, vals


@njit(cache=True, parallel=True, nogil=True)
def _dense_parallel(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, m2: np.ndarray,
                    tile: int) -> None:
    ntiles = state.size // offsets.size // tile
    per = max(1, _CHUNK // tile)
    nchunks = (ntiles + per - 1) // per
    for c in prange(nchunks):
        _dense_tiles(state, sorted_pos, offsets, m2, c * per, min(ntiles, (c + 1) * per), tile)


@njit(cache=True, parallel=True, nogil=True)
def _row_parallel(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, b: np.ndarray,
                  tile: int) -> None:
    ntiles = state.size // offsets.size // tile
    per = max(1, _CHUNK // tile)
    nchunks = (ntiles + per - 1) // per
    for c in prange(nchunks):
        _row_tiles(state, sorted_pos, offsets, b, c * per, min(ntiles, (c + 1) * per), tile)


def real_form(mat: np.ndarray) -> np.ndarray:
    """The real ``2d x 2d`` matrix ``[[Re, -Im], [Im, Re]]`` that acts on split (real rows, imaginary rows)
    columns as ``mat`` acts on complex ones, in the state's real precision."""
    d = mat.shape[0]
    re, im = mat.real, mat.imag
    out = np.empty((2 * d, 2 * d), dtype=re.dtype)  # four slice copies: np.block took 40 us on a 4 x 4 gate
    out[:d, :d] = re
    out[:d, d:] = -im
    out[d:, :d] = im
    out[d:, d:] = re
    return out


def row_form(mat: np.ndarray) -> np.ndarray:
    """The real ``2d x 2d`` matrix ``B`` with ``row @ B`` = ``mat`` applied to a row of interleaved (real,
    imaginary) pairs."""
    d = mat.shape[0]
    re, im = mat.real.T, mat.imag.T
    b = np.empty((2 * d, 2 * d), dtype=re.dtype)
    b[0::2, 0::2] = re
    b[1::2, 0::2] = -im
    b[0::2, 1::2] = im
    b[1::2, 1::2] = re
    return b


def gemm_tile(d: int, n_base: int) -> int:
    """Bases per tile for a ``d x d`` block: at most :data:`_GEMM_MNK` multiply-adds per BLAS product (so BLAS
    never starts threads of its own inside the kernels' threads), at most 256, and no more than the state has."""
    return max(1, min(256, _GEMM_MNK // (4 * d * d), n_base))


def apply_dense(state: np.ndarray, pos: np.ndarray, mat: np.ndarray) -> None:
    """Apply a ``2^k x 2^k`` matrix (any matrix, not only unitaries) on bit positions ``pos``."""
    pos = np.asarray(pos, dtype=np.int64)
    mat = _as(mat, state)
    k = pos.size
    if k == 1:
        apply_1q(state, int(pos[0]), mat)
        return
    sorted_pos = np.sort(pos)
    offsets = local_offsets(pos)
    d = 1 << k
    n_base = state.size >> k
    if k >= 3 and np.count_nonzero(np.abs(mat) > 0) <= (d * d) // 4:
        cols, vals = row_sparse(mat)
        if cols.shape[1] <= d // 4:
            tile = min(_TILE, n_base)
            if state.size <= SERIAL_MAX:
                _sparse_tiles(state, sorted_pos, offsets, cols, vals, 0, (n_base + tile - 1) // tile, tile)
            else:
                _sparse_parallel(state, sorted_pos, offsets, cols, vals, tile)
            return
    if WIDE_VECTORS and state.dtype == np.complex64 and lane_kernels.prefers(state.size, sorted_pos):
        lane_kernels.apply(state, pos, mat)
        return
    tile = gemm_tile(d, n_base)
    ntiles = n_base // tile
    if sorted_pos[0] < _ROW_BELOW:
        if sorted_pos[-1] == k - 1:  # the k lowest bits: rows and columns in state order
            inv = np.empty(d, dtype=np.int64)
            inv[offsets] = np.arange(d)
            mat = mat[np.ix_(inv, inv)]
            offsets = np.arange(d, dtype=np.int64)
        b = row_form(mat)
        if state.size <= SERIAL_MAX:
            _row_tiles(state, sorted_pos, offsets, b, 0, ntiles, tile)
        else:
            _row_parallel(state, sorted_pos, offsets, b, tile)
        return
    m2 = real_form(mat)
    if state.size <= SERIAL_MAX:
        _dense_tiles(state, sorted_pos, offsets, m2, 0, ntiles, tile)
    else:
        _dense_parallel(state, sorted_pos, offsets, m2, tile)


# Amplitudes per group in the diagonal kernel: the gate bits above log2(_GROUP) are fixed within a group.
_GROUP = 8


@njit(cache=True, nogil=True, fastmath=True)
def _diag_range(state: np.ndarray, pos: np.ndarray, diag: np.ndarray, lo: int, hi: int) -> None:
    """Amplitudes ``lo..hi`` (multiples of :data:`_GROUP`) times ``diag[local index]``.

    The local index is split into the part from gate bits inside an aligned group of :data:`_GROUP` amplitudes
    (a table of ``_GROUP`` entries, made once) and the part from the bits above it (once per group), so each
    amplitude costs one lookup and one multiply, not ``k`` bit extractions.
    """
    k = pos.size
    low = np.zeros(_GROUP, dtype=np.int64)
    high_mask = 0
    for o in range(_GROUP):
        r = 0
        for j in range(k):
            r = (r << 1) | (((o >> pos[j]) & 1) if pos[j] < 3 else 0)
        low[o] = r
    for j in range(k):
        if pos[j] >= 3:
            high_mask |= 1 << pos[j]
    prev = -1
    rh = 0
    for g in range(lo, hi, _GROUP):
        key = g & high_mask
        if key != prev:
            prev = key
            rh = 0
            for j in range(k):
                rh = (rh << 1) | (((g >> pos[j]) & 1) if pos[j] >= 3 else 0)
        for o in range(_GROUP):
            state[g + o] *= diag[rh | low[o]]


@njit(cache=True, parallel=True, nogil=True)
def _diag_parallel(state: np.ndarray, pos: np.ndarray, diag: np.ndarray) -> None:
    nchunks = state.size // _CHUNK
    for c in prange(nchunks):
        _diag_range(state, pos, diag, c * _CHUNK, (c + 1) * _CHUNK)


def apply_diagonal(state: np.ndarray, pos: np.ndarray, diag: np.ndarray) -> None:
    """Multiply each amplitude by ``diag[local index]`` (a diagonal gate on bit positions ``pos``)."""
    pos = np.asarray(pos, dtype=np.int64)
    diag = _as(diag, state)
    if state.size < _GROUP:
        idx = np.arange(state.size)
        local = np.zeros(state.size, dtype=np.int64)
        for p in pos:
            local = (local << 1) | ((idx >> p) & 1)
        state *= diag[local]
    elif state.size <= SERIAL_MAX:
        _diag_range(state, pos, diag, 0, state.size)
    else:
        _diag_parallel(state, pos, diag)


@njit(cache=True, nogil=True, fastmath=True)
def _controlled_range(state: np.ndarray, control_mask: int, p: int, m: np.ndarray, lo: int, hi: int) -> None:
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    step = 1 << p
    low_mask = step - 1
    for i in range(lo, hi):
        i0 = ((i >> p) << (p + 1)) | (i & low_mask)
        if (i0 & control_mask) == control_mask:
            a0 = state[i0]
            a1 = state[i0 + step]
            state[i0] = m00 * a0 + m01 * a1
            state[i0 + step] = m10 * a0 + m11 * a1


@njit(cache=True, parallel=True, nogil=True)
def _controlled_parallel(state: np.ndarray, control_mask: int, p: int, m: np.ndarray) -> None:
    nchunks = (state.size >> 1) // _CHUNK
    for c in prange(nchunks):
        _controlled_range(state, control_mask, p, m, c * _CHUNK, (c + 1) * _CHUNK)


def apply_controlled_1q(state: np.ndarray, control_mask: int, p: int, m: np.ndarray) -> None:
    """Apply a 2x2 matrix on bit ``p`` where every bit of ``control_mask`` is set (multi-controlled gates)."""
    m = _as(m, state)
    if state.size <= SERIAL_MAX:
        _controlled_range(state, control_mask, p, m, 0, state.size >> 1)
    else:
        _controlled_parallel(state, control_mask, p, m)


@njit(cache=True, nogil=True, fastmath=True)
def _weight_range(state: np.ndarray, mask: int, want: int, lo: int, hi: int) -> float:
    total = 0.0
    for i in range(lo, hi):
        if (i & mask) == want:
            a = state[i]
            total += a.real * a.real + a.imag * a.imag
    return total


@njit(cache=True, parallel=True, nogil=True)
def _weight_parallel(state: np.ndarray, mask: int, want: int) -> float:
    nchunks = state.size // _CHUNK
    parts = np.zeros(nchunks)
    for c in prange(nchunks):
        parts[c] = _weight_range(state, mask, want, c * _CHUNK, (c + 1) * _CHUNK)
    return parts.sum()


def _weight(state: np.ndarray, mask: int, want: int) -> float:
    if state.size <= SERIAL_MAX:
        return float(_weight_range(state, mask, want, 0, state.size))
    return float(_weight_parallel(state, mask, want))


@njit(cache=True, nogil=True, fastmath=True)
def _one_half_range(state: np.ndarray, p: int, lo: int, hi: int) -> float:
    """Weight of the pairs ``lo..hi``'s bit-``p``-is-1 members (reads only that half of the state)."""
    step = 1 << p
    low_mask = step - 1
    total = 0.0
    for i in range(lo, hi):
        a = state[(((i >> p) << (p + 1)) | (i & low_mask)) + step]
        total += a.real * a.real + a.imag * a.imag
    return total


@njit(cache=True, parallel=True, nogil=True)
def _one_half_parallel(state: np.ndarray, p: int) -> float:
    nchunks = (state.size >> 1) // _CHUNK
    parts = np.zeros(nchunks)
    for c in prange(nchunks):
        parts[c] = _one_half_range(state, p, c * _CHUNK, (c + 1) * _CHUNK)
    return parts.sum()


def probability_of_one(state: np.ndarray, p: int) -> float:
    """Weight of the amplitudes whose bit ``p`` is 1 (divide by :func:`norm_squared` for a probability)."""
    if state.size <= SERIAL_MAX:
        return float(_one_half_range(state, p, 0, state.size >> 1))
    return float(_one_half_parallel(state, p))


def norm_squared(state: np.ndarray) -> float:
    return _weight(state, 0, 0)


@njit(cache=True, nogil=True)
def _collapse_range(state: np.ndarray, p: int, outcome: int, scale: float, lo: int, hi: int) -> None:
    for i in range(lo, hi):
        if ((i >> p) & 1) == outcome:
            state[i] *= scale
        else:
            state[i] = 0.0


@njit(cache=True, parallel=True, nogil=True)
def _collapse_parallel(state: np.ndarray, p: int, outcome: int, scale: float) -> None:
    nchunks = state.size // _CHUNK
    for c in prange(nchunks):
        _collapse_range(state, p, outcome, scale, c * _CHUNK, (c + 1) * _CHUNK)


def collapse(state: np.ndarray, p: int, outcome: int, scale: float) -> None:
    """Project bit ``p`` onto ``outcome`` and multiply what remains by ``scale``."""
    if state.size <= SERIAL_MAX:
        _collapse_range(state, p, outcome, scale, 0, state.size)
    else:
        _collapse_parallel(state, p, outcome, scale)


@njit(cache=True, nogil=True)
def _reset_range(state: np.ndarray, p: int, scale: float, lo: int, hi: int) -> None:
    step = 1 << p
    low_mask = step - 1
    for i in range(lo, hi):
        i0 = ((i >> p) << (p + 1)) | (i & low_mask)
        state[i0] = state[i0 + step] * scale
        state[i0 + step] = 0.0


@njit(cache=True, parallel=True, nogil=True)
def _reset_parallel(state: np.ndarray, p: int, scale: float) -> None:
    nchunks = (state.size >> 1) // _CHUNK
    for c in prange(nchunks):
        _reset_range(state, p, scale, c * _CHUNK, (c + 1) * _CHUNK)


def reset_to_zero(state: np.ndarray, p: int, scale: float) -> None:
    """Move the amplitudes with bit ``p`` = 1 onto bit 0 (after a measured 1), scaled; zero the 1 half."""
    if state.size <= SERIAL_MAX:
        _reset_range(state, p, scale, 0, state.size >> 1)
    else:
        _reset_parallel(state, p, scale)


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def _probabilities_parallel(state: np.ndarray) -> np.ndarray:
    out = np.empty(state.size)
    for i in prange(state.size):
        a = state[i]
        out[i] = a.real * a.real + a.imag * a.imag
    return out


def probabilities(state: np.ndarray) -> np.ndarray:
    """``|amplitude|^2`` of every basis state."""
    if state.size <= SERIAL_MAX:
        return np.asarray(state.real**2 + state.imag**2, dtype=np.float64)
    return _probabilities_parallel(state)


def warm(dtypes: tuple[type, ...] = (np.complex128, np.complex64)) -> None:
    """Compile (or load from numba's cache) every kernel for each state dtype, so the first job does not pay."""
    for dtype in dtypes:
        _warm(dtype)


def _warm(dtype: type) -> None:
    eye2 = np.eye(2, dtype=np.complex128)
    for n in (6, 11, 15):
        state: np.ndarray = np.zeros(1 << n, dtype=dtype)
        state[0] = 1.0
        apply_1q(state, 0, eye2)
        apply_1q(state, n - 1, eye2)
        if n >= 11 and dtype == np.complex64:  # the register kernels (lane_kernels): one per block size
            for k in (2, 3, 4):
                lane_kernels.apply(state, np.arange(k, dtype=np.int64), np.eye(1 << k, dtype=dtype))
        for k in (2, 3, 4, 5):
            apply_dense(state, np.arange(k, dtype=np.int64), np.eye(1 << k, dtype=np.complex128))  # sparse path
            apply_dense(state, np.arange(k, dtype=np.int64), np.ones((1 << k, 1 << k), dtype=np.complex128))  # low
            apply_dense(state, np.arange(1, k + 1, dtype=np.int64), np.ones((1 << k, 1 << k), dtype=np.complex128))
        apply_diagonal(state, np.array([0, 1], dtype=np.int64), np.ones(4, dtype=np.complex128))
        apply_controlled_1q(state, 3, 2, eye2)
        probability_of_one(state, 0)
        norm_squared(state)
        collapse(state, 0, 0, 1.0)
        reset_to_zero(state, 0, 1.0)
        probabilities(state)
