"""Compiled (numba) kernels that update a complex128 state vector in place.

Index convention: for an ``n``-qubit register, qubit ``q`` is bit ``n - 1 - q`` of the amplitude index (qubit 0 is
the most significant bit). The kernels take *bit positions*, not qubit numbers; the caller converts.

A k-qubit matrix acts on bit positions ``pos[0..k-1]`` with ``pos[0]`` the most significant bit of the matrix
index, as in the gate table. The dense kernel works on tiles: it gathers ``T`` groups of ``2^k`` amplitudes into
split real/imaginary buffers, multiplies by the matrix with loops that LLVM vectorises (a small GEMM), and scatters
back. All kernels are ``parallel`` (numba ``prange``) and release the GIL, and are cached on disk so a worker
pays the compile cost once (:func:`warm`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_TILE = 128


@njit(cache=True, nogil=True, inline="always")
def _insert_zeros(base: int, sorted_pos: np.ndarray) -> int:
    """``base`` with a zero bit inserted at each (ascending) position."""
    idx = base
    for p in sorted_pos:
        low = idx & ((1 << p) - 1)
        idx = ((idx >> p) << (p + 1)) | low
    return idx


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


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def apply_1q(state: np.ndarray, p: int, m: np.ndarray) -> None:
    """Apply a 2x2 matrix on bit position ``p``."""
    half = state.size >> 1
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    step = 1 << p
    low_mask = step - 1
    if p >= 3:
        # Contiguous runs of length 2^p: loop over runs, vectorisable inner loop.
        nblocks = half >> p
        for b in prange(nblocks):
            i0 = b << (p + 1)
            for j in range(step):
                a0 = state[i0 + j]
                a1 = state[i0 + step + j]
                state[i0 + j] = m00 * a0 + m01 * a1
                state[i0 + step + j] = m10 * a0 + m11 * a1
    else:
        for i in prange(half):
            i0 = ((i >> p) << (p + 1)) | (i & low_mask)
            a0 = state[i0]
            a1 = state[i0 + step]
            state[i0] = m00 * a0 + m01 * a1
            state[i0 + step] = m10 * a0 + m11 * a1


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def apply_dense(state: np.ndarray, pos: np.ndarray, mat: np.ndarray) -> None:
    """Apply a ``2^k x 2^k`` matrix (any matrix, not only unitaries) on bit positions ``pos``."""
    k = pos.size
    d = 1 << k
    sorted_pos = np.sort(pos)
    offsets = local_offsets(pos)
    mre = np.ascontiguousarray(mat.real)
    mim = np.ascontiguousarray(mat.imag)
    n_base = state.size >> k
    tile = min(_TILE, n_base)
    ntiles = (n_base + tile - 1) // tile
    for t in prange(ntiles):
        start = t * tile
        cnt = min(tile, n_base - start)
        bre = np.empty((d, tile))
        bim = np.empty((d, tile))
        idx = np.empty(tile, dtype=np.int64)
        for j in range(cnt):
            idx[j] = _insert_zeros(start + j, sorted_pos)
        for c in range(d):
            off = offsets[c]
            for j in range(cnt):
                a = state[idx[j] + off]
                bre[c, j] = a.real
                bim[c, j] = a.imag
        tre = np.empty(tile)
        tim = np.empty(tile)
        for r in range(d):
            for j in range(cnt):
                tre[j] = 0.0
                tim[j] = 0.0
            for c in range(d):
                xr = mre[r, c]
                xi = mim[r, c]
                if xr == 0.0 and xi == 0.0:
                    continue
                for j in range(cnt):
                    tre[j] += xr * bre[c, j] - xi * bim[c, j]
                    tim[j] += xr * bim[c, j] + xi * bre[c, j]
            off = offsets[r]
            for j in range(cnt):
                state[idx[j] + off] = complex(tre[j], tim[j])


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def apply_diagonal(state: np.ndarray, pos: np.ndarray, diag: np.ndarray) -> None:
    """Multiply each amplitude by ``diag[local index]`` (a diagonal gate on bit positions ``pos``)."""
    k = pos.size
    n = state.size
    chunk = 1 << 12 if n > (1 << 12) else n
    nchunks = n // chunk
    for t in prange(nchunks):
        base = t * chunk
        for i in range(base, base + chunk):
            r = 0
            for j in range(k):
                r = (r << 1) | ((i >> pos[j]) & 1)
            state[i] *= diag[r]


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def apply_controlled_1q(state: np.ndarray, control_mask: int, p: int, m: np.ndarray) -> None:
    """Apply a 2x2 matrix on bit ``p`` where every bit of ``control_mask`` is set (multi-controlled gates)."""
    half = state.size >> 1
    m00, m01, m10, m11 = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    step = 1 << p
    low_mask = step - 1
    for i in prange(half):
        i0 = ((i >> p) << (p + 1)) | (i & low_mask)
        if (i0 & control_mask) == control_mask:
            a0 = state[i0]
            a1 = state[i0 + step]
            state[i0] = m00 * a0 + m01 * a1
            state[i0 + step] = m10 * a0 + m11 * a1


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def probability_of_one(state: np.ndarray, p: int) -> float:
    """Probability that bit ``p`` reads 1 (the state need not be normalised: divide by the norm)."""
    total = 0.0
    n = state.size
    for i in prange(n):
        if (i >> p) & 1:
            a = state[i]
            total += a.real * a.real + a.imag * a.imag
    return total


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def norm_squared(state: np.ndarray) -> float:
    total = 0.0
    for i in prange(state.size):
        a = state[i]
        total += a.real * a.real + a.imag * a.imag
    return total


@njit(cache=True, parallel=True, nogil=True)
def collapse(state: np.ndarray, p: int, outcome: int, scale: float) -> None:
    """Project bit ``p`` onto ``outcome`` and multiply what remains by ``scale``."""
    for i in prange(state.size):
        if ((i >> p) & 1) == outcome:
            state[i] *= scale
        else:
            state[i] = 0.0


@njit(cache=True, parallel=True, nogil=True)
def reset_to_zero(state: np.ndarray, p: int, scale: float) -> None:
    """Move the amplitudes with bit ``p`` = 1 onto bit 0 (after a measured 1), scaled; zero the 1 half."""
    half = state.size >> 1
    step = 1 << p
    low_mask = step - 1
    for i in prange(half):
        i0 = ((i >> p) << (p + 1)) | (i & low_mask)
        state[i0] = state[i0 + step] * scale
        state[i0 + step] = 0.0


@njit(cache=True, parallel=True, nogil=True, fastmath=True)
def probabilities(state: np.ndarray) -> np.ndarray:
    out = np.empty(state.size)
    for i in prange(state.size):
        a = state[i]
        out[i] = a.real * a.real + a.imag * a.imag
    return out


def warm() -> None:
    """Compile (or load from numba's cache) every kernel, so the first job does not pay for it."""
    state = np.zeros(1 << 6, dtype=np.complex128)
    state[0] = 1.0
    eye2 = np.eye(2, dtype=np.complex128)
    apply_1q(state, 0, eye2)
    apply_1q(state, 4, eye2)
    for k in (2, 3, 4, 5):
        apply_dense(state, np.arange(k, dtype=np.int64), np.eye(1 << k, dtype=np.complex128))
    apply_diagonal(state, np.array([0, 1], dtype=np.int64), np.ones(4, dtype=np.complex128))
    apply_controlled_1q(state, 3, 2, eye2)
    probability_of_one(state, 0)
    norm_squared(state)
    collapse(state, 0, 0, 1.0)
    reset_to_zero(state, 0, 1.0)
    probabilities(state)
