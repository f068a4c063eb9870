"""Dense 2-, 3- and 4-qubit blocks applied in vector registers, with no copy of the state into a BLAS layout.

qsim's AVX-512 kernels (``lib/simulator_avx512.h``) are the model. A *group* is 16 consecutive amplitudes (the
lanes, one ``zmm`` register of float32) at each of the block's ``d = 2^k`` offsets; its inputs are loaded once
into a small buffer (split into real and imaginary vectors on the way) and each output vector is a sum of
whole-vector complex products whose partial sums stay in registers (:mod:`xihe.engines.lane_unrolled`, generated
with the sum written out), each product with one matrix entry broadcast to all lanes.

That needs every lane of a vector to share its gate bits, i.e. gate bits at or above bit 4. A gate bit ``l``
among the lowest four is first traded with a free bit ``f >= 4`` (one the block does not touch): the group takes
its vectors at ``f = 0`` and ``f = 1``, and a two-source lane shuffle per pair (:func:`xihe.engines.simd.
swap_lane_bit`) regroups them into the lanes with ``l = 0`` and those with ``l = 1``, lane bit ``l`` now saying
which ``f`` each came from. The block is then an all-high one; the same shuffle, its own inverse, puts the output
back before the store. qsim splits low-qubit runs with permutes as well; the trade costs two shuffles per
vector on the way in and out, against 48 multiply-adds per output vector of a 4-qubit block.

These kernels beat the BLAS tiles of :mod:`xihe.engines.kernels` only where LLVM emits 512-bit vectors; see
:data:`xihe.engines.kernels.WIDE_VECTORS` for when the engine uses them.

Index convention as in :mod:`xihe.engines.kernels` (bit positions, ``pos[0]`` the matrix's most significant bit).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from xihe.engines import lane_unrolled as _u

_LANES = 16
_LOW_BITS = 4
# Widest block these kernels take (the fusion's dense blocks are 2..4 qubits by default).
MAX_QUBITS = 4

_DENSE: dict[int, Callable[..., None]] = {4: _u.dense_4, 8: _u.dense_8, 16: _u.dense_16}


def fits(num_amplitudes: int, k: int) -> bool:
    """Whether a ``k``-qubit block on a state of this size can run here: 2..4 qubits and at least one group of
    :data:`_LANES` lanes at every offset (which also leaves a free bit at or above bit 4 for each low gate bit)."""
    return 2 <= k <= MAX_QUBITS and num_amplitudes >= _LANES << k


def prefers(num_amplitudes: int, sorted_pos: np.ndarray) -> bool:
    """Whether these kernels beat the BLAS tiles for a block on ``sorted_pos`` in single precision: wherever they
    fit. Measured per shape, low gate bits included (one thread, 2^24 amplitudes; docs/benchmarks.md, fifth
    pass)."""
    return fits(num_amplitudes, sorted_pos.size)


def gauss_form(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(re, im - re, re + im)`` of ``mat`` in its real precision: the three real matrices of the three-multiply
    complex product the generated kernels use."""
    re, im = mat.real, mat.imag
    return (np.ascontiguousarray(re), np.ascontiguousarray(im - re), np.ascontiguousarray(re + im))


def lane_plan(num_qubits: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(vpos, swaps)`` for a block on ``pos``: ``vpos`` is ``pos`` with each gate bit below bit 4 replaced by a
    free bit at or above it (the lowest ones the block does not touch, for locality), ``swaps`` the flat pairs
    ``(t, l)``: bit ``t`` of the block's local index (``t = k - 1 - i`` for ``pos[i]``) is traded with lane bit
    ``l``."""
    k = pos.size
    taken = {int(p) for p in pos}
    free = iter(b for b in range(_LOW_BITS, num_qubits) if b not in taken)
    vpos = pos.astype(np.int64).copy()
    swaps = []
    for i in range(k):
        if pos[i] < _LOW_BITS:
            vpos[i] = next(free)
            swaps += [k - 1 - i, int(pos[i])]
    return vpos, np.array(swaps, dtype=np.int64)


@njit(cache=True, nogil=True)
def _offsets(pos: np.ndarray) -> np.ndarray:
    """Offset of local basis state ``c`` (``pos[0]`` its most significant bit) from a group's base, as
    :func:`xihe.engines.kernels.local_offsets` (which imports this module); compiled, as it runs once a pass (the
    numpy form cost ~7 us, a tenth of a QV-20 pass's preparation)."""
    k = pos.size
    off = np.zeros(1 << k, dtype=np.int64)
    for c in range(1 << k):
        for i in range(k):
            if (c >> (k - 1 - i)) & 1:
                off[c] |= 1 << pos[i]
    return off


def apply(state: np.ndarray, pos: np.ndarray, mat: np.ndarray) -> None:
    """Apply ``mat`` (``2^k x 2^k``, in the state's precision; :func:`fits` holds) on bit positions ``pos``."""
    pos = np.asarray(pos, dtype=np.int64)
    d = 1 << pos.size
    vpos, swaps = lane_plan(state.size.bit_length() - 1, pos)
    ca, cb, cc = gauss_form(mat)
    fs = state.view(mat.real.dtype)
    _DENSE[d](fs, np.sort(vpos), _offsets(vpos), ca.ravel(), cb.ravel(), cc.ravel(), swaps,
              state.size // (_LANES * d))
