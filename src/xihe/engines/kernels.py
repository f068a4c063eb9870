"""Compiled (numba) kernels that update a state vector (complex128, or complex64 in single precision) in place.

Index convention: for an ``n``-qubit register, qubit ``q`` is bit ``n - 1 - q`` of the amplitude index (qubit 0 is
the most significant bit). The kernels take *bit positions*, not qubit numbers; the caller converts.

A k-qubit matrix acts on bit positions ``pos[0..k-1]`` with ``pos[0]`` the most significant bit of the matrix
index, as in the gate table. The dense kernel works on tiles: it gathers ``T`` groups of ``2^k`` amplitudes into
split real/imaginary buffers, multiplies by the matrix with loops that LLVM vectorises (a small GEMM), and scatters
back. All kernels are ``parallel`` (numba ``prange``) and release the GIL, and are cached on disk so a worker
pays the compile cost once (:func:`warm`).

Precision: each kernel is compiled once per state dtype. The Python wrappers cast the matrix to the state's
precision (:func:`_as`), so a complex64 state runs float32 arithmetic throughout: the tile buffers take the
matrix's real dtype, and a 64-amplitude tile row is four 512-bit vectors of float32 (two of float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_TILE = 64
# States up to this many amplitudes run on one thread: a parallel launch costs more than the work.
SERIAL_MAX = 1 << 14
# Work items per parallel chunk.
_CHUNK = 1 << 12


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
def _dense_tiles(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, mre: np.ndarray,
                 mim: np.ndarray, nonzero: np.ndarray, t_lo: int, t_hi: int, tile: int) -> None:
    """Tiles ``t_lo..t_hi`` of a dense ``2^k`` block (``k >= 2``): gather, small GEMM, scatter.

    The product works on two output rows and two input columns at a time so each loaded amplitude feeds eight
    fused multiply-adds; the inner loop runs over the tile, contiguous, and vectorises.
    """
    d = offsets.size
    n_base = state.size // d
    bre = np.empty((d, tile), dtype=mre.dtype)  # float32 for a complex64 state: twice the lanes per vector
    bim = np.empty((d, tile), dtype=mre.dtype)
    ore = np.empty((d, tile), dtype=mre.dtype)
    oim = np.empty((d, tile), dtype=mre.dtype)
    idx = np.empty(tile, dtype=np.int64)
    contiguous = (1 << sorted_pos[0]) >= tile  # then a tile's bases are consecutive indices
    for t in range(t_lo, t_hi):
        start = t * tile
        cnt = min(tile, n_base - start)
        _tile_bases(idx, start, cnt, sorted_pos, contiguous)
        for c in range(d):
            off = offsets[c]
            for j in range(cnt):
                a = state[idx[j] + off]
                bre[c, j] = a.real
                bim[c, j] = a.imag
        for r in range(0, d, 2):
            for j in range(tile):
                ore[r, j] = 0.0
                oim[r, j] = 0.0
                ore[r + 1, j] = 0.0
                oim[r + 1, j] = 0.0
            for c in range(0, d, 2):
                a0r, a0i, a1r, a1i = mre[r, c], mim[r, c], mre[r, c + 1], mim[r, c + 1]
                b0r, b0i, b1r, b1i = mre[r + 1, c], mim[r + 1, c], mre[r + 1, c + 1], mim[r + 1, c + 1]
                if not nonzero[r >> 1, c >> 1]:
                    continue  # sparse blocks (permutations, controlled gates) skip their zero 2x2 sub-blocks
                for j in range(tile):
                    x0 = bre[c, j]
                    y0 = bim[c, j]
                    x1 = bre[c + 1, j]
                    y1 = bim[c + 1, j]
                    ore[r, j] += a0r * x0 - a0i * y0 + a1r * x1 - a1i * y1
                    oim[r, j] += a0r * y0 + a0i * x0 + a1r * y1 + a1i * x1
                    ore[r + 1, j] += b0r * x0 - b0i * y0 + b1r * x1 - b1i * y1
                    oim[r + 1, j] += b0r * y0 + b0i * x0 + b1r * y1 + b1i * x1
        for r in range(d):
            off = offsets[r]
            for j in range(cnt):
                state[idx[j] + off] = complex(ore[r, j], oim[r, j])


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
def _dense_parallel(state: np.ndarray, sorted_pos: np.ndarray, offsets: np.ndarray, mre: np.ndarray,
                    mim: np.ndarray, nonzero: np.ndarray, tile: int) -> None:
    n_base = state.size // offsets.size
    ntiles = (n_base + tile - 1) // tile
    per = 16
    nchunks = (ntiles + per - 1) // per
    for c in prange(nchunks):
        _dense_tiles(state, sorted_pos, offsets, mre, mim, nonzero, c * per, min(ntiles, (c + 1) * per), tile)


def apply_dense(state: np.ndarray, pos: np.ndarray, mat: np.ndarray) -> None:
    """Apply a ``2^k x 2^k`` matrix (any matrix, not only unitaries) on bit positions ``pos``."""
    pos = np.asarray(pos, dtype=np.int64)
    mat = _as(mat, state)
    k = pos.size
    sorted_pos = np.sort(pos)
    offsets = local_offsets(pos)
    mre = np.ascontiguousarray(mat.real)
    mim = np.ascontiguousarray(mat.imag)
    d = 1 << k
    nonzero = np.abs(mat).reshape(d // 2, 2, d // 2, 2).max(axis=(1, 3)) > 0 if k > 1 else np.ones((1, 1), bool)
    n_base = state.size >> k
    tile = min(_TILE, n_base)
    if k == 1:
        apply_1q(state, int(pos[0]), mat)
        return
    if k >= 3 and np.count_nonzero(np.abs(mat) > 0) <= (d * d) // 4:
        cols, vals = row_sparse(mat)
        if cols.shape[1] <= d // 4:
            if state.size <= SERIAL_MAX:
                _sparse_tiles(state, sorted_pos, offsets, cols, vals, 0, (n_base + tile - 1) // tile, tile)
            else:
                _sparse_parallel(state, sorted_pos, offsets, cols, vals, tile)
            return
    if state.size <= SERIAL_MAX:
        _dense_tiles(state, sorted_pos, offsets, mre, mim, nonzero, 0, (n_base + tile - 1) // tile, tile)
    else:
        _dense_parallel(state, sorted_pos, offsets, mre, mim, nonzero, tile)


@njit(cache=True, nogil=True, fastmath=True)
def _diag_range(state: np.ndarray, pos: np.ndarray, diag: np.ndarray, lo: int, hi: int) -> None:
    k = pos.size
    for i in range(lo, hi):
        r = 0
        for j in range(k):
            r = (r << 1) | ((i >> pos[j]) & 1)
        state[i] *= diag[r]


@njit(cache=True, parallel=True, nogil=True)
def _diag_parallel(state: np.ndarray, pos: np.ndarray, diag: np.ndarray) -> None:
    nchunks = state.size // _CHUNK
    for c in prange(nchunks):
        _diag_range(state, pos, diag, c * _CHUNK, (c + 1) * _CHUNK)


def apply_diagonal(state: np.ndarray, pos: np.ndarray, diag: np.ndarray) -> None:
    """Multiply each amplitude by ``diag[local index]`` (a diagonal gate on bit positions ``pos``)."""
    pos = np.asarray(pos, dtype=np.int64)
    diag = _as(diag, state)
    if state.size <= SERIAL_MAX:
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
        for k in (2, 3, 4, 5):
            apply_dense(state, np.arange(k, dtype=np.int64), np.eye(1 << k, dtype=np.complex128))  # sparse path
            apply_dense(state, np.arange(k, dtype=np.int64), np.ones((1 << k, 1 << k), dtype=np.complex128))
        apply_diagonal(state, np.array([0, 1], dtype=np.int64), np.ones(4, dtype=np.complex128))
        apply_controlled_1q(state, 3, 2, eye2)
        probability_of_one(state, 0)
        norm_squared(state)
        collapse(state, 0, 0, 1.0)
        reset_to_zero(state, 0, 1.0)
        probabilities(state)
