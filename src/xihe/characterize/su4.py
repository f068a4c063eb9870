"""Random two-qubit unitaries and their exact three-CNOT synthesis (KAK), for quantum volume and XEB.

The IR has no generic ``unitary`` gate, so a Haar-random SU(4) block is written as ``u3`` and ``cx`` gates:
``U = e^{i phase} (A0 ⊗ A1) · exp(i(a XX + b YY + c ZZ)) · (B0 ⊗ B1)`` (Khaneja-Glaser / Cartan KAK, computed in
the magic basis as Cirq's ``kak_decomposition`` does), and the interaction term with the three-CNOT circuit of
Vatan and Williams (Phys. Rev. A 69, 032315, 2004). :func:`su4_operations` checks its own output against the input
matrix, so a wrong decomposition can never reach a device silently.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from xihe.circuit.standard_gates import X, Y, Z, controlled, embed, ry_matrix, rz_matrix, u3_matrix
from xihe.errors import CircuitError

# Columns: the magic (Bell) basis, in which SU(2)⊗SU(2) is SO(4) and XX, YY, ZZ are diagonal.
MAGIC = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]], dtype=complex) / math.sqrt(2)
_PAULI_PAIRS = [np.kron(p, p) for p in (X, Y, Z)]
# Eigenvalues (+-1) of XX, YY, ZZ on each magic basis vector, plus a column of ones for the global phase.
_MAGIC_SIGNS = np.array(
    [[np.real(np.diag(MAGIC.conj().T @ pp @ MAGIC))[k] for pp in _PAULI_PAIRS] + [1.0] for k in range(4)]
)
_CX01 = controlled(X)
_CX10 = embed(_CX01, (1, 0), 2)

Op = tuple[str, tuple[float, ...], tuple[int, ...]]


def haar_unitary(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random ``dim × dim`` unitary (QR of a complex Gaussian matrix with the phases fixed, Mezzadri 2007)."""
    z = (rng.standard_normal((dim, dim)) + 1j * rng.standard_normal((dim, dim))) / math.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diag(r)
    return q * (d / np.abs(d))


def u3_angles(m: np.ndarray) -> tuple[float, float, float]:
    """``(theta, phi, lambda)`` with ``m = e^{i g} u3(theta, phi, lambda)`` for a 2×2 unitary ``m``."""
    c, s = abs(m[0, 0]), abs(m[1, 0])
    theta = 2 * math.atan2(s, c)
    if s < 1e-12:
        return 0.0, 0.0, _wrap(cmath.phase(m[1, 1]) - cmath.phase(m[0, 0]))
    ref = cmath.phase(m[0, 0]) if c > 1e-12 else 0.0
    return theta, _wrap(cmath.phase(m[1, 0]) - ref), _wrap(cmath.phase(-m[0, 1]) - ref)


def _wrap(angle: float) -> float:
    """The angle in (-pi, pi]."""
    out = math.remainder(angle, 2 * math.pi)
    return math.pi if math.isclose(out, -math.pi) else out


@dataclass(frozen=True)
class KAK:
    """``U = e^{i phase} (after[0] ⊗ after[1]) exp(i(a XX + b YY + c ZZ)) (before[0] ⊗ before[1])``."""

    before: tuple[np.ndarray, np.ndarray]
    coefficients: tuple[float, float, float]
    after: tuple[np.ndarray, np.ndarray]
    phase: float

    def matrix(self) -> np.ndarray:
        return cmath.exp(1j * self.phase) * np.kron(*self.after) @ interaction(*self.coefficients) @ np.kron(
            *self.before
        )


def interaction(a: float, b: float, c: float) -> np.ndarray:
    """``exp(i(a XX + b YY + c ZZ))`` (the three terms commute)."""
    diag = np.exp(1j * (_MAGIC_SIGNS[:, :3] @ np.array([a, b, c])))
    return MAGIC @ np.diag(diag) @ MAGIC.conj().T


def _split_tensor(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` in SU(2) with ``k ∝ A ⊗ B``, for a 4×4 ``k`` that is a tensor product."""
    r = k.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    u, s, vh = np.linalg.svd(r)
    a = (u[:, 0] * math.sqrt(s[0])).reshape(2, 2)
    b = (vh[0] * math.sqrt(s[0])).reshape(2, 2)
    a = a / np.sqrt(np.linalg.det(a))
    b = b / np.sqrt(np.linalg.det(b))
    return a, b


def kak_decompose(u: np.ndarray, rng_seed: int = 0) -> KAK:
    """The KAK form of a 4×4 unitary (generic case; degenerate spectra are handled by a random mixing weight)."""
    u = np.asarray(u, dtype=complex)
    up = MAGIC.conj().T @ u @ MAGIC
    m = up.T @ up  # symmetric unitary: real and imaginary parts commute, so one real orthogonal diagonalises both
    rng = np.random.default_rng(rng_seed)
    for _ in range(16):
        w = rng.uniform(0.5, 1.5)
        _, p = np.linalg.eigh(m.real + w * m.imag)
        d2 = np.diag(p.T @ m @ p)
        if np.allclose(p.T @ m @ p, np.diag(d2), atol=1e-9):
            break
    else:  # pragma: no cover - reached only for pathological inputs
        raise CircuitError("could not diagonalise the unitary in the magic basis")
    if np.linalg.det(p) < 0:
        p[:, 0] = -p[:, 0]
    d = np.sqrt(d2)
    o1 = up @ p @ np.diag(1 / d)
    o1 = o1.real
    if np.linalg.det(o1) < 0:
        o1[:, 0] = -o1[:, 0]
        d[0] = -d[0]
    k1 = MAGIC @ o1 @ MAGIC.conj().T
    k2 = MAGIC @ p.T @ MAGIC.conj().T
    angles = np.angle(d)
    a, b, c, _ = np.linalg.solve(_MAGIC_SIGNS, angles)
    after, before = _split_tensor(k1), _split_tensor(k2)
    core = np.kron(*after) @ interaction(a, b, c) @ np.kron(*before)
    phase = cmath.phase(np.vdot(core.ravel(), u.ravel()))
    return KAK(before, (float(a), float(b), float(c)), after, phase)


def interaction_operations(a: float, b: float, c: float, q0: int, q1: int) -> list[Op]:
    """Three CNOTs and rotations equal to ``exp(i(a XX + b YY + c ZZ))`` up to global phase (Vatan-Williams)."""
    half = math.pi / 2
    return [
        ("rz", (-half,), (q1,)),
        ("cx", (), (q1, q0)),
        ("rz", (half - 2 * c,), (q0,)),
        ("ry", (2 * a - half,), (q1,)),
        ("cx", (), (q0, q1)),
        ("ry", (half - 2 * b,), (q1,)),
        ("cx", (), (q1, q0)),
        ("rz", (half,), (q0,)),
    ]


def su4_operations(u: np.ndarray, q0: int, q1: int, atol: float = 1e-8) -> list[Op]:
    """``u3``/``rz``/``ry``/``cx`` operations on ``(q0, q1)`` equal to ``u`` up to global phase (``q0`` = first qubit).

    The product is recomputed and compared with ``u``; a mismatch raises :class:`CircuitError`.
    """
    kak = kak_decompose(u)
    ops: list[Op] = [("u3", u3_angles(kak.before[0]), (q0,)), ("u3", u3_angles(kak.before[1]), (q1,))]
    ops += interaction_operations(*kak.coefficients, q0, q1)
    ops += [("u3", u3_angles(kak.after[0]), (q0,)), ("u3", u3_angles(kak.after[1]), (q1,))]
    product = operations_matrix(ops, {q0: 0, q1: 1})
    overlap = abs(np.trace(product.conj().T @ u)) / 4
    if overlap < 1 - atol:
        raise CircuitError(f"KAK synthesis mismatch (overlap {overlap:.12f}); this is a bug in xihe.characterize")
    return ops


_MATRICES: dict[str, Callable[..., np.ndarray]] = {"u3": u3_matrix, "rz": rz_matrix, "ry": ry_matrix}


def operations_matrix(ops: list[Op], index: dict[int, int]) -> np.ndarray:
    """The matrix of ``ops`` (u3/rz/ry/cx) on the qubits of ``index`` (qubit -> position, first most significant)."""
    n = len(index)
    total = np.eye(1 << n, dtype=complex)
    for name, params, qubits in ops:
        local = tuple(index[q] for q in qubits)
        m = _CX01 if name == "cx" else _MATRICES[name](*params)
        total = embed(m, local, n) @ total
    return total
