"""Small states: a gate body on at most :data:`SMALL_STATE_QUBITS` qubits applied unfused, in one compiled call.

The statevector engine's general path is built for states of millions of amplitudes: it fuses gates into dense
blocks (:mod:`xihe.engines.fusion`) to save passes over memory, and each dense block's kernel call first sorts
positions, looks for sparsity and builds a real or row form for a BLAS tile product
(:func:`xihe.engines.kernels.apply_dense`). On a 5-qubit state a pass over 32 amplitudes costs well under a
microsecond, so what a small job paid was that preparation: the fusion's matrix products (about 100 us for a GHZ
state and a T layer) and 15-20 us of Python per dense kernel call, more than the first build's plain loops
(issue 13, service load). Here the lowered instructions are packed into flat arrays once and one compiled loop
applies them in order, each over the whole state: no fusion, no tiles, no BLAS.

Used by :func:`xihe.engines.statevector.final_state` only (the one place the choice is made, by
:func:`takes`); the general path stays the reference, and ``tests/engines/test_small_state.py`` checks the two give
the same state on random circuits. Index convention as in :mod:`xihe.engines.kernels` (qubit ``q`` is bit
``n - 1 - q``; a matrix's most significant index bit is its first qubit).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from xihe.engines.program import Instr

# Widest state this path takes: 2^10 amplitudes (16 KiB) stay in the first-level cache, where a pass per gate
# costs less than fusing gates would save.
SMALL_STATE_QUBITS = 10

_UNITARY, _DIAGONAL, _CONTROLLED = 0, 1, 2
_KINDS = {"unitary": _UNITARY, "diagonal": _DIAGONAL, "controlled": _CONTROLLED}


def takes(num_qubits: int, body: Sequence[Instr]) -> bool:
    """Whether this path runs ``body`` on ``num_qubits`` qubits: a small state and unconditioned gates only (a
    measurement, reset, channel or condition needs the general path's branching)."""
    return num_qubits <= SMALL_STATE_QUBITS and all(ins.kind in _KINDS and ins.condition is None for ins in body)


def apply_body(state: np.ndarray, num_qubits: int, body: Sequence[Instr]) -> None:
    """Apply the gate instructions ``body`` (see :func:`takes`) to ``state`` in place, in order."""
    if not body:
        return
    count = len(body)
    kinds = np.empty(count, dtype=np.int64)
    widths = np.empty(count, dtype=np.int64)
    starts = np.empty(count + 1, dtype=np.int64)
    positions = np.zeros((count, max(len(ins.qubits) for ins in body)), dtype=np.int64)
    starts[0] = 0
    for i, ins in enumerate(body):
        assert ins.matrix is not None
        kinds[i] = _KINDS[ins.kind]
        widths[i] = len(ins.qubits)
        positions[i, :widths[i]] = [num_qubits - 1 - q for q in ins.qubits]
        starts[i + 1] = starts[i] + ins.matrix.size
    entries = np.concatenate([ins.matrix.ravel() for ins in body if ins.matrix is not None])
    _apply_all(state, kinds, widths, positions, starts, entries.astype(state.dtype, copy=False))


@njit(cache=True, nogil=True)
def _apply_all(state: np.ndarray, kinds: np.ndarray, widths: np.ndarray, positions: np.ndarray,
               starts: np.ndarray, entries: np.ndarray) -> None:
    """Each instruction in turn over the whole state: a diagonal scales every amplitude by its entry, a controlled
    2x2 acts on the target's pairs whose control bits are all set, a dense ``2^k`` matrix on each group of
    ``2^k`` amplitudes (indices differing only in the gate's bits)."""
    size = state.size
    local = np.empty(1 << positions.shape[1], dtype=np.int64)
    group = np.empty(1 << positions.shape[1], dtype=state.dtype)
    for i in range(kinds.size):
        k = widths[i]
        at = starts[i]
        if kinds[i] == _DIAGONAL:
            for a in range(size):
                r = 0
                for j in range(k):
                    r = (r << 1) | ((a >> positions[i, j]) & 1)
                state[a] *= entries[at + r]
        elif kinds[i] == _CONTROLLED:
            p = positions[i, k - 1]
            step = 1 << p
            mask = 0
            for j in range(k - 1):
                mask |= 1 << positions[i, j]
            m00, m01, m10, m11 = entries[at], entries[at + 1], entries[at + 2], entries[at + 3]
            for a in range(size):
                if (a & step) == 0 and (a & mask) == mask:
                    a0 = state[a]
                    a1 = state[a + step]
                    state[a] = m00 * a0 + m01 * a1
                    state[a + step] = m10 * a0 + m11 * a1
        else:
            d = 1 << k
            gate_bits = 0
            for r in range(d):
                off = 0
                for j in range(k):
                    if (r >> (k - 1 - j)) & 1:
                        off |= 1 << positions[i, j]
                local[r] = off
                gate_bits |= off
            for a in range(size):
                if a & gate_bits:
                    continue
                for c in range(d):
                    group[c] = state[a + local[c]]
                for r in range(d):
                    acc = entries[at + r * d] * group[0]
                    for c in range(1, d):
                        acc += entries[at + r * d + c] * group[c]
                    state[a + local[r]] = acc
