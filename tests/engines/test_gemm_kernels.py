"""The BLAS-product dense kernels, the grouped diagonal kernel and the wider fusion (issue 16, single-precision
speed) against independent references: numpy's tensor contraction for the kernels, Qiskit's ``Statevector`` for
whole random circuits.

Edge cases of the new code paths: gate bits all among the lowest (the tile is the state itself), lowest bit 0, 1
or 2 with high bits (gathered base by base), lowest bit 3 or more (split real/imaginary runs), one base only,
states smaller than a tile, serial and parallel sizes, 2..5 qubits, non-unitary matrices (superoperators).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
import qiskit.qasm2
from qiskit.quantum_info import Statevector

from xihe import qasm
from xihe.circuit import Circuit
from xihe.engines import kernels, simulate
from xihe.engines.fusion import fuse
from xihe.engines.program import lower
from xihe.engines.statevector import DIAGONAL_FUSION_QUBITS, SINGLE_PRECISION_TOLERANCE


def _reference(psi: np.ndarray, pos: list[int], mat: np.ndarray) -> np.ndarray:
    """``mat`` on bit positions ``pos`` (``pos[0]`` the matrix's most significant bit) by tensor contraction."""
    n = psi.size.bit_length() - 1
    k = len(pos)
    axes = [n - 1 - p for p in pos]  # axis 0 of the reshaped state is the most significant bit
    out = np.tensordot(mat.reshape([2] * (2 * k)), psi.astype(np.complex128).reshape([2] * n),
                       axes=(list(range(k, 2 * k)), axes))
    return np.moveaxis(out, list(range(k)), axes).reshape(-1)


def _positions(n: int, k: int, rng: np.random.Generator) -> list[list[int]]:
    """Position sets of ``k`` bits that reach each dense path on an ``n``-bit state (where they fit)."""
    sets = [list(rng.permutation(k))]  # the k lowest bits, in a shuffled order
    for lowest in (0, 1, 2, 3, 5):
        if n - lowest - 1 >= k - 1:
            rest = rng.choice(np.arange(lowest + 1, n), size=k - 1, replace=False)
            sets.append([int(x) for x in rng.permutation([lowest, *rest])])
    if n >= k + 8:
        sets.append(list(range(n - 1, n - 1 - k, -1)))  # the highest bits: long contiguous runs
    return sets


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("n", [2, 5, 7, 12, 16])
def test_dense_kernel_matches_tensor_contraction(n: int, dtype: type) -> None:
    rng = np.random.default_rng(n)
    tol = 1e-12 if dtype == np.complex128 else 2e-6
    for k in range(2, min(5, n) + 1):
        d = 1 << k
        for pos in _positions(n, k, rng):
            psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
            psi /= np.linalg.norm(psi)
            for mat in (np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))[0],
                        0.3 * (rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))):  # not unitary
                state = psi.astype(dtype)
                kernels.apply_dense(state, np.array(pos), mat)
                want = _reference(psi, pos, mat)
                assert state.dtype == dtype
                assert np.abs(state - want).max() <= tol * max(1.0, np.abs(want).max() * math.sqrt(d)), (n, pos)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 9, 16])
def test_diagonal_kernel_matches_elementwise_product(n: int, dtype: type) -> None:
    rng = np.random.default_rng(100 + n)
    idx = np.arange(1 << n)
    for k in range(1, min(n, 10) + 1):
        pos = [int(x) for x in rng.choice(n, size=k, replace=False)]
        diag = np.exp(1j * rng.uniform(0, 2 * np.pi, 1 << k))
        psi = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
        local = np.zeros_like(idx)
        for p in pos:
            local = (local << 1) | ((idx >> p) & 1)
        state = psi.astype(dtype)
        kernels.apply_diagonal(state, np.array(pos), diag)
        tol = 1e-12 if dtype == np.complex128 else 1e-5
        assert np.abs(state - psi * diag[local]).max() <= tol * np.abs(psi).max() * 2, (n, pos)


def _qft(n: int) -> Circuit:
    qc = Circuit(n)
    for q in range(0, n, 3):
        qc.x(q)
    for j in range(n):
        qc.h(j)
        for k in range(j + 1, n):
            qc.cp(math.pi / (1 << (k - j)), k, j)
    for q in range(n // 2):
        qc.swap(q, n - 1 - q)
    return qc


def _mixed(n: int, layers: int, seed: int) -> Circuit:
    """Random layers of diagonal (cp, rz, cz, t) and dense (u3, h, cx, swap) gates on random qubits."""
    rng = np.random.default_rng(seed)
    qc = Circuit(n)
    for _ in range(layers):
        for _ in range(n):
            a, b = (int(x) for x in rng.choice(n, size=2, replace=False))
            kind = int(rng.integers(8))
            angle = float(rng.uniform(0, 2 * np.pi))
            if kind == 0:
                qc.cp(angle, a, b)
            elif kind == 1:
                qc.rz(angle, a)
            elif kind == 2:
                qc.cz(a, b)
            elif kind == 3:
                qc.t(a)
            elif kind == 4:
                qc.u3(*[float(x) for x in rng.uniform(0, np.pi, 3)], a)
            elif kind == 5:
                qc.h(a)
            elif kind == 6:
                qc.cx(a, b)
            else:
                qc.swap(a, b)
    return qc


def _qiskit_state(qc: Circuit) -> np.ndarray:
    """Qiskit's statevector of ``qc`` in Xihe's order (qubit 0 the most significant bit)."""
    qk = qiskit.qasm2.loads(qasm.dumps(qc), custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    return np.asarray(Statevector(qk).reverse_qargs().data)


@pytest.mark.parametrize(("name", "n", "fusion"), [("qft", 9, 2), ("qft", 12, 4), ("qft", 14, 5),
                                                   ("mixed", 8, 3), ("mixed", 13, 4), ("mixed", 15, 5)])
def test_fused_circuits_match_qiskit(name: str, n: int, fusion: int) -> None:
    qc = _qft(n) if name == "qft" else _mixed(n, 12, n)
    want = _qiskit_state(qc)
    for precision, tol in (("double", 1e-9), ("single", SINGLE_PRECISION_TOLERANCE)):
        res = simulate(qc, shots=0, engine="statevector",
                       engine_options={"precision": precision, "fusion_qubits": fusion})
        assert res.statevector is not None
        fidelity = abs(np.vdot(want, res.statevector.astype(np.complex128))) ** 2
        assert 1 - fidelity <= tol, (name, n, fusion, precision, fidelity)


def test_diagonal_blocks_grow_wider_than_dense_ones() -> None:
    """QFT-16's controlled phases fuse into diagonal blocks of up to ten qubits: 30 passes, where blocks of at
    most four qubits took 49, and no dense block wider than the fusion size."""
    prog = lower(_qft(16))
    body = fuse(prog.body, 4, DIAGONAL_FUSION_QUBITS, pair_disjoint=True)
    widths = [len(i.qubits) for i in body if i.kind == "diagonal"]
    assert max(widths) == DIAGONAL_FUSION_QUBITS
    assert all(len(i.qubits) <= 4 for i in body if i.kind != "diagonal")
    assert len(body) <= 32
    assert len(fuse(prog.body, 4)) > len(body)  # the default (MPS, trajectories) keeps diagonal blocks at 4


def test_disjoint_blocks_pair_into_one_pass() -> None:
    """Gates on disjoint pairs (a QFT's final swaps) merge into blocks of up to the fusion size; only with
    ``pair_disjoint`` (the MPS engine's two-qubit blocks must stay on their own pairs)."""
    qc = Circuit(8)
    for q in range(4):
        qc.swap(q, 7 - q)
    prog = lower(qc)
    paired = fuse(prog.body, 4, pair_disjoint=True)
    assert [len(i.qubits) for i in paired] == [4, 4]
    assert [len(i.qubits) for i in fuse(prog.body, 2, pair_disjoint=True)] == [2, 2, 2, 2]
    assert [len(i.qubits) for i in fuse(prog.body, 4)] == [2, 2, 2, 2]
    state = simulate(qc, shots=0, engine="statevector").statevector
    assert state is not None
    assert np.allclose(state, _qiskit_state(qc), atol=1e-12)


def test_kernel_threads_wait_passively_unless_told_otherwise() -> None:
    """Importing the kernels sets OpenMP's passive wait policy before numba starts its threads, and keeps a
    policy the environment already gives."""
    code = ("import os; import xihe.engines.kernels as k; import numpy as np; "
            "s = np.zeros(1 << 16, np.complex64); k.apply_1q(s, 3, np.eye(2)); "
            "import numba; print(os.environ.get('OMP_WAIT_POLICY'), numba.threading_layer())")
    env = {key: v for key, v in os.environ.items() if key != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    policy, _layer = out.stdout.split()
    assert policy == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[0] == "ACTIVE"
