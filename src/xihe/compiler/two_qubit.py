"""Two-qubit synthesis: any 4x4 unitary with the fewest CX (0, 1, 2 or 3) by its KAK decomposition.

``U = K1 N(a, b, c) K2`` with ``K1``, ``K2`` local (one-qubit gates on each side) and
``N(a, b, c) = exp(i (a XX + b YY + c ZZ))`` (Khaneja-Glaser / Kraus-Cirac). In the magic basis local gates are real
orthogonal and ``N`` is diagonal, so ``U`` is split by diagonalising ``Up^T Up`` with a real orthogonal matrix.
Coordinates are reduced to (-pi/4, pi/4] by moving multiples of pi/2 (local Pauli products) into ``K1``. Then:
none left -> 0 CX; one equal to pi/4 -> 1 CX; one zero -> 2 CX
(``N(p, 0, q) = CX (Rx(-2p) x Rz(-2q)) CX``, other positions by local Clifford conjugation); else 3 CX
(Vatan and Williams 2004). Every synthesis is checked against ``U`` before it is used.
"""

from __future__ import annotations

import cmath
import math
from functools import lru_cache

import numpy as np

from xihe.circuit import Gate, unitary
from xihe.compiler.kak_kernel import MAGIC, MAGIC_DAG, MIXES, PAIRS, PATTERN, kak_factors
from xihe.compiler.synthesis import zyz_angles

# A step: (gate name, params, qubit indices 0/1 of the block); first qubit is the most significant.
Step = tuple[str, tuple[float, ...], tuple[int, ...]]

TOL = 1e-9


def canonical(a: float, b: float, c: float) -> np.ndarray:
    """``exp(i (a XX + b YY + c ZZ))``."""
    diag = np.exp(1j * (PATTERN[:, :3] @ np.array([a, b, c])))
    return MAGIC @ np.diag(diag) @ MAGIC_DAG


def _u3(m: np.ndarray, q: int) -> list[Step]:
    theta, phi, lam = zyz_angles(m)
    if abs(math.remainder(theta, 2 * math.pi)) < 1e-12 and abs(math.remainder(phi + lam, 2 * math.pi)) < 1e-12:
        return []
    return [("u3", (theta, phi, lam), (q,))]


def _conjugated(steps: list[Step], gate: str) -> list[Step]:
    """``(G x G) core (G x G)^dag`` for ``G`` in {s, h} as steps."""
    inverse = {"s": "sdg", "h": "h"}[gate]
    return [(inverse, (), (0,)), (inverse, (), (1,)), *steps, (gate, (), (0,)), (gate, (), (1,))]


def _core_b_zero(a: float, c: float) -> list[Step]:
    """``N(a, 0, c)``: 1 CX when one of them is pi/4 and the other 0, else 2."""
    if abs(a) < TOL and abs(c - math.pi / 4) < TOL:
        # exp(i pi/4 ZZ) ~ (Rz(-pi/2) x Rz(-pi/2)) CZ, CZ = (I x H) CX (I x H).
        return [("h", (), (1,)), ("cx", (), (0, 1)), ("h", (), (1,)), ("rz", (-math.pi / 2,), (0,)),
                ("rz", (-math.pi / 2,), (1,))]
    if abs(c) < TOL and abs(a - math.pi / 4) < TOL:
        return _conjugated(_core_b_zero(0.0, math.pi / 4), "h")
    return [("cx", (), (0, 1)), ("rx", (-2 * a,), (0,)), ("rz", (-2 * c,), (1,)), ("cx", (), (0, 1))]


def _core(a: float, b: float, c: float) -> list[Step]:
    zero = [abs(x) < TOL for x in (a, b, c)]
    if all(zero):
        return []
    if zero[1]:
        return _core_b_zero(a, c)
    if zero[0]:
        return _conjugated(_core_b_zero(b, c), "s")  # (S x S) N(b, 0, c) (S x S)^dag = N(0, b, c)
    if zero[2]:
        return _conjugated(_conjugated(_core_b_zero(b, a), "s"), "h")
    half = math.pi / 2
    return [("rz", (-half,), (1,)), ("cx", (), (1, 0)), ("rz", (-2 * c + half,), (0,)), ("ry", (2 * a - half,), (1,)),
            ("cx", (), (0, 1)), ("ry", (-2 * b + half,), (1,)), ("cx", (), (1, 0)), ("rz", (half,), (0,))]


_I2 = np.eye(2, dtype=complex)
_CX01 = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)
_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]
_CX10 = _SWAP @ _CX01 @ _SWAP


@lru_cache(maxsize=65536)
def gate_matrix(gate: Gate) -> np.ndarray:
    """The gate's matrix, cached (compiler passes ask for the same few gates again and again)."""
    m = unitary(gate)
    m.setflags(write=False)
    return m


def two_qubit_matrix(gate: Gate, qubits: tuple[int, ...]) -> np.ndarray:
    """The 4x4 matrix of ``gate`` on block qubits ``qubits`` (0 is the most significant)."""
    if len(qubits) == 1:
        m = gate_matrix(gate)
        if qubits[0] == 0:
            return (m[:, None, :, None] * _I2[None, :, None, :]).reshape(4, 4)
        return (_I2[:, None, :, None] * m[None, :, None, :]).reshape(4, 4)
    if gate.name == "cx" and gate.definition is None:
        return _CX01 if qubits == (0, 1) else _CX10
    m = gate_matrix(gate)
    return m if qubits == (0, 1) else _SWAP @ m @ _SWAP


def step_matrix(name: str, params: tuple[float, ...]) -> np.ndarray:
    """The 2x2 matrix of a one-qubit step: rotations by formula (new angles each time, so not worth caching),
    the fixed gates from the cache."""
    if name in ("u3", "rz", "rx", "ry"):
        half = params[0] / 2
        c, s = math.cos(half), math.sin(half)
        if name == "u3":
            phi, lam = params[1], params[2]
            return np.array([[c, -cmath.exp(1j * lam) * s], [cmath.exp(1j * phi) * s, cmath.exp(1j * (phi + lam)) * c]])
        if name == "rz":
            return np.array([[cmath.exp(-1j * half), 0], [0, cmath.exp(1j * half)]])
        if name == "rx":
            return np.array([[c, -1j * s], [-1j * s, c]])
        return np.array([[c, -s], [s, c]], dtype=complex)
    return gate_matrix(Gate._trusted(name, params, 1))


def steps_unitary(steps: list[Step]) -> np.ndarray:
    """The 4x4 product of the steps (one-qubit steps applied to the running product without a 4x4 of their own)."""
    total = np.eye(4, dtype=complex)
    for name, params, qubits in steps:
        if len(qubits) == 1:
            m = step_matrix(name, params)
            if qubits[0] == 0:
                total = (m @ total.reshape(2, 8)).reshape(4, 4)
            else:
                total = np.matmul(m, total.reshape(2, 2, 4)).reshape(4, 4)
        else:
            total = two_qubit_matrix(Gate._trusted(name, params, 2), qubits) @ total
    return total


def equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> bool:
    return abs(abs(np.trace(a.conj().T @ b)) - a.shape[0]) < atol * a.shape[0]


# u = kron(A1, B1) core kron(A2, B2): (A2, B2, the core's steps, A1, B1).
KakParts = tuple[np.ndarray, np.ndarray, list[Step], np.ndarray, np.ndarray]


def kak_parts(u: np.ndarray) -> KakParts | None:
    """``u``'s local factors and its core (``cx`` and 1q steps, the fewest CX) up to phase, unchecked; ``None`` when
    no mix diagonalised. The core equals ``canonical(a, b, c)`` up to phase by construction."""
    try:
        ok, coords, a1, b1, a2, b2 = kak_factors(np.ascontiguousarray(u, dtype=complex), MAGIC, MAGIC_DAG, PATTERN,
                                                 PAIRS, MIXES)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not ok:
        return None
    a, b, c = (float(x) for x in coords)
    return a2, b2, _core(a, b, c), a1, b1


def synthesize_two_qubit(u: np.ndarray) -> list[Step] | None:
    """Steps (``cx`` and 1q gates) equal to ``u`` up to phase with the fewest CX; ``None`` if the check fails."""
    parts = kak_parts(u)
    if parts is None:
        return None
    a2, b2, core, a1, b1 = parts
    # Put the locals around the core; the check of the whole against u covers the core too.
    steps = [*_u3(a2, 0), *_u3(b2, 1), *core, *_u3(a1, 0), *_u3(b1, 1)]
    if not equal_up_to_phase(steps_unitary(steps), u):
        return None
    return steps


def at_most_one_cx(u: np.ndarray) -> bool:
    """Whether ``u`` is local or locally a CX, by its Makhlin invariants (cheap: no decomposition)."""
    u = u / np.linalg.det(u) ** 0.25
    up = MAGIC_DAG @ u @ MAGIC
    m = up.T @ up
    t = np.trace(m)
    g1, g2 = t * t / 16, (t * t - np.trace(m @ m)) / 4
    return bool(abs(g1 - 1) < 1e-9 and abs(g2 - 3) < 1e-9) or bool(abs(g1) < 1e-9 and abs(g2 - 1) < 1e-9)


_SYSY = np.kron(np.array([[0, -1j], [1j, 0]]), np.array([[0, -1j], [1j, 0]]))


def cx_needed(u: np.ndarray) -> int:
    """The fewest CX that make ``u``, from gamma(u) = u (Y x Y) u^T (Y x Y) alone (Shende, Bullock and Markov 2004,
    Prop. III.1-3): no decomposition, so a block that is already optimal is recognised cheaply. Near the boundary
    between counts it answers the lower one (the caller synthesises and checks)."""
    u = u / np.linalg.det(u) ** 0.25
    g = u @ _SYSY @ u.T @ _SYSY
    t = np.trace(g)
    if abs(t.imag) < 1e-7 and abs(abs(t.real) - 4) < 1e-7:
        return 0
    if abs(t) < 1e-7 and np.allclose(g @ g, -np.eye(4), atol=1e-7):
        return 1
    if abs(t.imag) < 1e-7:
        return 2
    return 3


def cx_count(u: np.ndarray) -> int:
    """The fewest CX that make ``u`` (0..3)."""
    steps = synthesize_two_qubit(u)
    return 3 if steps is None else sum(1 for name, _, q in steps if len(q) == 2)
