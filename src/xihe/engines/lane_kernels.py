"""Dense 2-, 3- and 4-qubit blocks applied in vector registers, with no copy of the state into a BLAS layout.

qsim's AVX-512 kernels (``lib/simulator_avx512.h``) are the model. A *group* is 16 consecutive amplitudes (the
lanes, one ``zmm`` register of float32) at each of the block's offsets; its inputs are loaded once into a small
buffer (split into real and imaginary vectors on the way) and each output vector is a sum of whole-vector complex
products whose partial sums stay in registers (:mod:`xihe.engines.lane_unrolled`, generated with the sum written
out). Two shapes, as in qsim:

- every gate bit is at or above bit 4: all lanes of a vector share their gate bits, so a matrix entry is one
  number broadcast to the lanes (``high_<d>``);
- some gate bits are among the lowest four: lane ``j`` of input ``c`` is read from ``base + src[c, j]`` (the
  block's column ``c`` with lane ``j``'s own non-gate bits) and each lane has its own coefficient (qsim's
  permuted registers and per-lane matrix), so the products are still whole-vector operations (``low_<d>``).

These kernels beat the BLAS tiles of :mod:`xihe.engines.kernels` only where LLVM emits 512-bit vectors; see
:data:`xihe.engines.kernels.WIDE_VECTORS` for when the engine uses them.

Index convention as in :mod:`xihe.engines.kernels` (bit positions, ``pos[0]`` the matrix's most significant bit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from xihe.engines import lane_unrolled as _u

_LANES = 16
_LOW_BITS = 4
# Output vectors per pass of the low kernels (the generator's ROWS_LOW): their tables are padded to a multiple.
_ROWS_LOW = 2
# Widest block these kernels take (the fusion's dense blocks are 2..4 qubits by default).
MAX_QUBITS = 4

_HIGH: dict[int, Callable[..., None]] = {4: _u.high_4, 8: _u.high_8, 16: _u.high_16}
_LOW: dict[int, Callable[..., None]] = {4: _u.low_4, 8: _u.low_8, 16: _u.low_16}


def fits(num_amplitudes: int, k: int) -> bool:
    """Whether a ``k``-qubit block on a state of this size can run here: 2..4 qubits and at least one group of
    :data:`_LANES` lanes at every offset."""
    return 2 <= k <= MAX_QUBITS and num_amplitudes >= _LANES << k


def prefers(num_amplitudes: int, sorted_pos: np.ndarray) -> bool:
    """Whether these kernels beat the BLAS tiles for a block on ``sorted_pos`` (ascending) in single precision.

    Measured per shape (one thread, 2^24 amplitudes, float32, CPU time of the register kernel over the BLAS
    tiles', best of four, load 12-17; docs/benchmarks.md, fourth pass): every gate bit at or above bit 4
    0.68-0.83; a 2-qubit block with one low bit 0.61-0.85; a 3-qubit block with one 0.89-1.45 and a 4-qubit
    block with low bits 1.25-5 (per-lane coefficients double the loads of the sums), so those stay on the tiles.
    """
    k = sorted_pos.size
    if not fits(num_amplitudes, k):
        return False
    low = int(np.count_nonzero(sorted_pos < _LOW_BITS))
    return low == 0 or (k == 2 and low == 1)


def gauss_form(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(re, im - re, re + im)`` of ``mat`` in its real precision: the three real matrices of the three-multiply
    complex product the generated kernels use."""
    re, im = mat.real, mat.imag
    return (np.ascontiguousarray(re), np.ascontiguousarray(im - re), np.ascontiguousarray(re + im))


def apply(state: np.ndarray, pos: np.ndarray, offsets: np.ndarray, mat: np.ndarray) -> None:
    """Apply ``mat`` (``2^k x 2^k``, in the state's precision; :func:`fits` holds) on bit positions ``pos``,
    ``offsets`` from :func:`xihe.engines.kernels.local_offsets`."""
    d = offsets.size
    sorted_pos = np.sort(pos)
    fs = state.view(mat.real.dtype)
    if sorted_pos[0] >= _LOW_BITS:
        ca, cb, cc = gauss_form(mat)
        _HIGH[d](fs, sorted_pos, offsets, ca.ravel(), cb.ravel(), cc.ravel(), state.size // (_LANES * d))
        return
    hoff, masks, coef = low_tables(offsets, mat)
    table = np.stack(gauss_form(coef), axis=2).ravel()  # [output vector, input, kind, lane]
    high_pos = sorted_pos[sorted_pos >= _LOW_BITS]
    perms = (np.arange(_LANES)[None, :] ^ masks[:, None]).astype(np.int32).ravel()
    _LOW[d](fs, high_pos, hoff, perms, table, state.size // (_LANES * hoff.size))


def low_tables(offsets: np.ndarray, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lane tables of a block with gate bits among the lowest four.

    ``hoff``: the offsets of the group's vectors (the gate bits at or above bit 4); ``masks``: the subsets of the
    gate's low bits. Input ``c = h' * len(masks) + i`` is the vector at ``hoff[h']`` with lane ``j`` taken from
    lane ``j ^ masks[i]``, so across the inputs each lane sees every column of the block once.
    ``coef[h, c, j]`` is the matrix entry from the column input ``c`` holds at lane ``j`` to the row that lane ``j``
    of output vector ``h`` holds; rows past ``hoff.size`` pad the table to a multiple of :data:`_ROWS_LOW` with
    zeros.
    """
    low_mask = (1 << _LOW_BITS) - 1
    gate_low = int(np.bitwise_or.reduce(offsets & low_mask))
    lanes = np.arange(_LANES, dtype=np.int64)
    hoff = np.unique(offsets & ~low_mask)
    masks = np.array([m for m in range(_LANES) if m & gate_low == m], dtype=np.int64)
    row_of = np.full(int(offsets.max()) + 1, -1, dtype=np.int64)
    row_of[offsets] = np.arange(offsets.size)
    rows = row_of[hoff[:, None] | (lanes & gate_low)[None, :]]  # [h, j]
    cols = row_of[hoff[:, None, None] | ((lanes[None, None, :] ^ masks[None, :, None]) & gate_low)]  # [h', i, j]
    cols = cols.reshape(offsets.size, _LANES)  # [c, j]
    padded = -(-hoff.size // _ROWS_LOW) * _ROWS_LOW
    coef = np.zeros((padded, offsets.size, _LANES), dtype=mat.dtype)
    coef[:hoff.size] = mat[rows[:, None, :], cols[None, :, :]]
    return hoff, masks, coef
