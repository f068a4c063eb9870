"""The KAK decomposition of a two-qubit unitary as a compiled kernel (numba): block resynthesis runs it thousands of
times per compile, and as NumPy calls on 4x4 matrices each call was mostly interpreter overhead (issue 19).

``U = K1 N(a, b, c) K2`` (see :mod:`.two_qubit`): in the magic basis local gates are real orthogonal and ``N`` is
diagonal, so ``U`` is split by diagonalising ``Up^T Up`` with a real orthogonal matrix, found as the eigenvectors of
a random real mix of its real and imaginary parts (the mixes are a fixed seeded sequence, so a unitary always gets
the same answer). Each local side is then factored into its two one-qubit gates. The test oracle is the NumPy
version in ``tests/compiler/reference_two_qubit.py``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MAGIC = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]], dtype=complex) / math.sqrt(2)
MAGIC_DAG = np.ascontiguousarray(MAGIC.conj().T)
PAULI_X = np.array([[0, 1], [1, 0]], dtype=complex)
PAULI_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
PAULI_Z = np.array([[1, 0], [0, -1]], dtype=complex)
PAIRS = np.array([np.kron(p, p) for p in (PAULI_X, PAULI_Y, PAULI_Z)])
# Eigenvalues of XX, YY, ZZ on the magic basis vectors, and a column for the global phase.
PATTERN = np.ascontiguousarray(np.array([np.real(np.diag(MAGIC_DAG @ p @ MAGIC)) for p in PAIRS] + [np.ones(4)]).T)
# The real mixes tried in turn (the first almost always works).
MIXES = np.random.default_rng(2024).random(100)
DIAGONAL_TOLERANCE = 1e-10


@njit(cache=True)
def kron_factor(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` with ``k`` equal to ``kron(A, B)`` up to phase (``k`` must be local): the leading singular pair of
    ``k`` rearranged so that a Kronecker product is a rank-one matrix."""
    r = np.empty((4, 4), dtype=np.complex128)
    for i0 in range(2):
        for i1 in range(2):
            for j0 in range(2):
                for j1 in range(2):
                    r[2 * i0 + j0, 2 * i1 + j1] = k[2 * i0 + i1, 2 * j0 + j1]
    uu, s, vh = np.linalg.svd(r)
    root = math.sqrt(s[0])
    a = np.empty((2, 2), dtype=np.complex128)
    b = np.empty((2, 2), dtype=np.complex128)
    for i in range(2):
        for j in range(2):
            a[i, j] = uu[2 * i + j, 0] * root
            b[i, j] = vh[0, 2 * i + j] * root
    a = a / math.sqrt(abs(np.linalg.det(a)))
    b = b / math.sqrt(abs(np.linalg.det(b)))
    return a, b


@njit(cache=True, nogil=True)
def kak_factors(u: np.ndarray, magic: np.ndarray, magic_dag: np.ndarray, pattern: np.ndarray, pairs: np.ndarray,
                mixes: np.ndarray):  # type: ignore[no-untyped-def]
    """``(ok, (a, b, c), A1, B1, A2, B2)`` with ``u`` equal to ``kron(A1, B1) @ canonical(a, b, c) @ kron(A2, B2)``
    up to global phase, the coordinates reduced to (-pi/4, pi/4]; ``ok`` is false when no mix diagonalised."""
    u = u / np.linalg.det(u) ** 0.25
    up = magic_dag @ u @ magic
    m2 = np.ascontiguousarray(up.T) @ up
    p = np.zeros((4, 4))
    found = False
    for mix in mixes:
        _, vecs = np.linalg.eigh(mix * m2.real + (1 - mix) * m2.imag)
        vc = vecs.astype(np.complex128)
        diag = np.ascontiguousarray(vc.T) @ m2 @ vc
        worst = 0.0
        for i in range(4):
            for j in range(4):
                if i != j:
                    worst = max(worst, abs(diag[i, j]))
        if worst <= DIAGONAL_TOLERANCE:
            p = np.ascontiguousarray(vecs)
            found = True
            break
    coords = np.zeros(3)
    eye = np.eye(2, dtype=np.complex128)
    if not found:
        return False, coords, eye, eye, eye, eye
    if np.linalg.det(p) < 0:
        p[:, 0] = -p[:, 0]
    pc = p.astype(np.complex128)
    ptc = np.ascontiguousarray(pc.T)
    d = np.sqrt(np.diag(ptc @ m2 @ pc))
    o1 = up @ pc @ np.diag(1 / d)
    if np.linalg.det(o1).real < 0:
        d[0] = -d[0]
        o1 = up @ pc @ np.diag(1 / d)
    angles = np.angle(d)
    solved = np.linalg.lstsq(pattern, angles)[0]
    k1 = magic @ o1.real.astype(np.complex128) @ magic_dag
    k2 = magic @ ptc @ magic_dag
    # Move multiples of pi/2 out of each coordinate: exp(i pi/2 PP) = i PP, a local gate.
    for i in range(3):
        coord = solved[i]
        k = math.floor((coord + math.pi / 4 - 1e-10) / (math.pi / 2))
        coords[i] = coord - k * math.pi / 2
        if k % 2:
            k1 = k1 @ pairs[i]
    a1, b1 = kron_factor(k1)
    a2, b2 = kron_factor(k2)
    return True, coords, a1, b1, a2, b2
