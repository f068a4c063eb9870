"""The single-precision register kernels (:mod:`xihe.engines.lane_kernels`, issue 16) against independent
references, amplitude by amplitude: numpy's tensor contraction for each block shape, and the double-precision
engine (BLAS tiles) for whole random circuits.

Shapes: every gate bit at or above bit 4 (broadcast coefficients), one to four gate bits among the lowest four
(permuted lanes and per-lane coefficients), the highest bits, 2..4 qubits in shuffled order, non-unitary matrices,
the smallest state a group fits in and states split over several threads' work items.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xihe.circuit import Circuit
from xihe.engines import kernels, lane_kernels, simulate
from xihe.engines.statevector import SINGLE_PRECISION_TOLERANCE

ROOT = Path(__file__).resolve().parents[2]


def _reference(psi: np.ndarray, pos: list[int], mat: np.ndarray) -> np.ndarray:
    """``mat`` on bit positions ``pos`` (``pos[0]`` the matrix's most significant bit) by tensor contraction."""
    n = psi.size.bit_length() - 1
    k = len(pos)
    axes = [n - 1 - p for p in pos]
    out = np.tensordot(mat.reshape([2] * (2 * k)), psi.astype(np.complex128).reshape([2] * n),
                       axes=(list(range(k, 2 * k)), axes))
    return np.moveaxis(out, list(range(k)), axes).reshape(-1)


def _shapes(n: int, k: int, rng: np.random.Generator) -> list[list[int]]:
    """Position sets with 0..k gate bits among the lowest four (each low bit in turn), plus the highest bits."""
    sets = []
    for low in range(0, min(k, 4) + 1):
        for first in range(4 - low + 1):
            lows = list(range(first, first + low))
            highs = [int(x) for x in rng.choice(np.arange(4, n), size=k - low, replace=False)]
            sets.append([int(x) for x in rng.permutation(lows + highs)])
    sets.append(list(range(n - 1, n - 1 - k, -1)))
    return sets


@pytest.mark.parametrize("n", [8, 10, 14])
def test_register_kernel_matches_tensor_contraction_per_amplitude(n: int) -> None:
    rng = np.random.default_rng(40 + n)
    for k in (2, 3, 4):
        d = 1 << k
        if not lane_kernels.fits(1 << n, k):
            continue
        for pos in _shapes(n, k, rng):
            psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
            psi /= np.linalg.norm(psi)
            for mat in (np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))[0],
                        0.3 * (rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))):  # not unitary
                state = psi.astype(np.complex64)
                p = np.array(pos)
                lane_kernels.apply(state, p, kernels.local_offsets(p), mat.astype(np.complex64))
                want = _reference(psi, pos, mat)
                assert np.abs(state - want).max() <= 2e-6 * max(1.0, np.abs(want).max() * math.sqrt(d)), (n, pos)


def test_low_tables_give_each_lane_its_row_of_the_matrix() -> None:
    """Across the permuted inputs, each output lane meets every entry of its own row once (and the padding rows
    are zero)."""
    for pos in ([0, 5], [2, 0, 7], [1, 3, 0, 2], [3, 9, 0, 6]):
        p = np.array(pos)
        offsets = kernels.local_offsets(p)
        d = offsets.size
        mat = np.arange(1, d * d + 1, dtype=np.complex128).reshape(d, d)  # every entry distinct
        hoff, masks, coef = lane_kernels.low_tables(offsets, mat)
        gate_low = int(np.bitwise_or.reduce(offsets & 15))
        assert masks[0] == 0 and masks.size * hoff.size == d
        for h in range(hoff.size):
            for j in range(16):
                row = int(np.flatnonzero(offsets == (hoff[h] | (j & gate_low)))[0])
                assert sorted(coef[h, :, j].real) == sorted(mat[row].real), (pos, h, j)
        assert not coef[hoff.size:].any()


def _random_circuit(n: int, layers: int, seed: int) -> Circuit:
    """Random 1q and 2q gates including the lowest and highest qubits, fused by the engine into 2..4-qubit blocks."""
    rng = np.random.default_rng(seed)
    qc = Circuit(n)
    for _ in range(layers):
        for q in range(n):
            qc.u3(*rng.uniform(0, 2 * np.pi, 3), q)
        perm = rng.permutation(n)
        for a, b in zip(perm[::2], perm[1::2], strict=False):
            qc.cx(int(a), int(b))
        qc.cx(0, n - 1)
        qc.cx(n - 2, 1)
    return qc


@pytest.mark.parametrize(("n", "seed"), [(12, 1), (15, 2)])
def test_single_precision_circuit_matches_double_per_amplitude(n: int, seed: int) -> None:
    qc = _random_circuit(n, 6, seed)
    single = simulate(qc, shots=0, engine="statevector", precision="single")
    double = simulate(qc, shots=0, engine="statevector")
    a, b = np.asarray(single.statevector), np.asarray(double.statevector)
    assert a.dtype == np.complex64
    assert np.abs(a - b).max() <= 1e-5
    assert 1 - abs(np.vdot(b, a)) ** 2 <= SINGLE_PRECISION_TOLERANCE
    pa = np.abs(a.astype(np.complex128)) ** 2
    assert np.abs(pa - np.abs(b) ** 2).max() <= 1e-5
    qc.measure_all()
    c1 = simulate(qc, shots=4000, seed=3, engine="statevector", precision="single").counts
    c2 = simulate(qc, shots=4000, seed=3, engine="statevector").counts
    tvd = sum(abs(c1.get(k, 0) - c2.get(k, 0)) for k in set(c1) | set(c2)) / 2 / 4000
    assert tvd <= 0.005  # same draws over probabilities within 1e-5 of each other


def test_dispatch_uses_register_kernels_where_they_win() -> None:
    shapes = [np.array(p) for p in ([4, 9], [0, 9], [5, 6, 7, 8], [0, 5, 6, 7])]
    wins = [lane_kernels.prefers(1 << 14, np.sort(p)) for p in shapes]
    assert wins == [True, True, True, False]
    assert not lane_kernels.prefers(1 << 5, np.array([4, 5]))  # smaller than one group per offset


def test_generated_module_is_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_lane_kernels.py"), "--check"], check=False)
    assert done.returncode == 0, "run scripts/gen_lane_kernels.py"
