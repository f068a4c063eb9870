"""The single-precision register kernels (:mod:`xihe.engines.lane_kernels`, issue 16) against independent
references, amplitude by amplitude: numpy's tensor contraction for each block shape, and the double-precision
engine (BLAS tiles) for whole random circuits.

Shapes: every gate bit at or above bit 4, every subset of the lowest four bits as gate bits (each traded for a
free high bit by lane shuffles), the highest bits, 2..4 qubits in shuffled order, non-unitary matrices, the
smallest state a group fits in and states split over several threads' work items.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from xihe.circuit import Circuit
from xihe.engines import kernels, lane_kernels, simulate
from xihe.engines.simd import swap_lane_bit
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
    """Position sets with every subset of the lowest four bits that a ``k``-qubit block can hold (the rest high),
    in shuffled order, plus the highest bits."""
    sets = []
    for mask in range(16):
        lows = [b for b in range(4) if mask >> b & 1]
        if len(lows) > k:
            continue
        highs = [int(x) for x in rng.choice(np.arange(4, n), size=k - len(lows), replace=False)]
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
                lane_kernels.apply(state, np.array(pos), mat.astype(np.complex64))
                want = _reference(psi, pos, mat)
                assert np.abs(state - want).max() <= 2e-6 * max(1.0, np.abs(want).max() * math.sqrt(d)), (n, pos)


def test_dispatch_through_apply_dense_matches_double_precision() -> None:
    """The engine's entry point (register kernels in single precision where they fit, the BLAS tiles in double)
    on blocks with low gate bits: both agree with the tensor contraction."""
    rng = np.random.default_rng(7)
    n = 11
    psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    psi /= np.linalg.norm(psi)
    for pos in ([0, 1, 2, 3], [3, 0, 8, 5], [1, 10], [2, 6, 0]):
        d = 1 << len(pos)
        mat = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))[0]
        single, double = psi.astype(np.complex64), psi.copy()
        kernels.apply_dense(single, np.array(pos), mat)
        kernels.apply_dense(double, np.array(pos), mat)
        want = _reference(psi, pos, mat)
        assert np.abs(double - want).max() <= 1e-12
        assert np.abs(single - want).max() <= 2e-6, pos


@njit(cache=True)
def _swap_once(buf: np.ndarray, a: int, b: int, bit: int) -> None:
    swap_lane_bit(buf, a, b, bit)


def test_swap_lane_bit_trades_a_lane_bit_for_the_vector_bit_and_undoes_itself() -> None:
    """Against the definition by index arithmetic: afterwards lane ``j`` of vector ``v`` holds the element whose
    lane bit ``l`` is ``v``, taken from the vector that bit ``l`` of ``j`` names; nothing else moves."""
    for bit in range(4):
        buf = np.arange(40, dtype=np.float32)  # vectors at 3 and 21, elements around them untouched
        before = buf.copy()
        _swap_once(buf, 3, 21, bit)
        pair = np.stack([before[3:19], before[21:37]])
        for v, start in ((0, 3), (1, 21)):
            for j in range(16):
                src_lane = (j & ~(1 << bit)) | (v << bit)
                assert buf[start + j] == pair[(j >> bit) & 1, src_lane], (bit, v, j)
        for lo, hi in ((0, 3), (19, 21), (37, 40)):
            assert (buf[lo:hi] == before[lo:hi]).all()
        _swap_once(buf, 3, 21, bit)
        assert (buf == before).all()


def test_lane_plan_trades_each_low_gate_bit_for_the_lowest_free_high_bits() -> None:
    for pos in ([0, 5], [2, 0, 7], [1, 3, 0, 2], [3, 9, 0, 6], [4, 5, 6]):
        p = np.array(pos)
        vpos, swaps = lane_kernels.lane_plan(12, p)
        k = len(pos)
        assert (vpos >= 4).all() and len(set(vpos.tolist())) == k
        assert all(v == q for v, q in zip(vpos.tolist(), pos, strict=True) if q >= 4)
        traded = [v for v, q in zip(vpos.tolist(), pos, strict=True) if q < 4]
        assert traded == [b for b in range(4, 12) if b not in pos][:len(traded)]
        assert swaps.reshape(-1, 2).tolist() == [[k - 1 - i, q] for i, q in enumerate(pos) if q < 4]


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
    shapes = [np.array(p) for p in ([4, 9], [0, 9], [5, 6, 7, 8], [0, 5, 6, 7], [0, 1, 2, 3], [1, 3, 8])]
    wins = [lane_kernels.prefers(1 << 14, np.sort(p)) for p in shapes]
    assert wins == [True] * 6  # low gate bits included (traded for free high bits)
    assert not lane_kernels.prefers(1 << 5, np.array([4, 5]))  # smaller than one group per offset


def test_generated_module_is_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_lane_kernels.py"), "--check"], check=False)
    assert done.returncode == 0, "run scripts/gen_lane_kernels.py"
