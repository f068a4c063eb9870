"""The gate table: Qiskit's legacy ``qelib1.inc`` plus the gates pyquafu 0.4.5 offers.

Each entry is data (:class:`~xihe.circuit.gate.GateSpec`): matrix, decomposition into other gates of the table
(ending at ``u3`` and ``cx``), inverse rule and help. Decompositions are equal to the matrix up to a global phase
(as in ``qelib1.inc``); controlled gates decompose exactly. Matrices use the big-endian convention of
:mod:`xihe.circuit.gate`.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable

import numpy as np

from xihe.circuit.gate import DecompStep, GateSpec, register

PI = math.pi
_SQ = math.sqrt(0.5)

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.array([[1, 0], [0, -1]], dtype=complex)
H = np.array([[1, 1], [1, -1]], dtype=complex) * _SQ
SX = 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=complex)
SY = 0.5 * np.array([[1 + 1j, -1 - 1j], [1 + 1j, 1 + 1j]], dtype=complex)
W = np.array([[0, cmath.exp(-1j * PI / 4)], [cmath.exp(1j * PI / 4), 0]], dtype=complex)
SW = np.array([[0.5 + 0.5j, -_SQ * 1j], [_SQ, 0.5 + 0.5j]], dtype=complex)


def u3_matrix(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [[c, -cmath.exp(1j * lam) * s], [cmath.exp(1j * phi) * s, cmath.exp(1j * (phi + lam)) * c]], dtype=complex
    )


def phase_matrix(lam: float) -> np.ndarray:
    return np.array([[1, 0], [0, cmath.exp(1j * lam)]], dtype=complex)


def rx_matrix(t: float) -> np.ndarray:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)


def ry_matrix(t: float) -> np.ndarray:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def rz_matrix(t: float) -> np.ndarray:
    return np.array([[cmath.exp(-0.5j * t), 0], [0, cmath.exp(0.5j * t)]], dtype=complex)


def controlled(u: np.ndarray, num_controls: int = 1) -> np.ndarray:
    """``u`` controlled on ``num_controls`` leading qubits (all must be 1)."""
    dim = u.shape[0] << num_controls
    out = np.eye(dim, dtype=complex)
    out[dim - u.shape[0] :, dim - u.shape[0] :] = u
    return out


def pauli_rotation(pauli: np.ndarray, theta: float) -> np.ndarray:
    """``exp(-i theta/2 P⊗P)``."""
    pp = np.kron(pauli, pauli)
    return math.cos(theta / 2) * np.eye(4, dtype=complex) - 1j * math.sin(theta / 2) * pp


def matrix_of_steps(steps: list[DecompStep], num_qubits: int) -> np.ndarray:
    """Multiply out a decomposition (used for gates that ``qelib1.inc`` defines by their body)."""
    from xihe.circuit.gate import gate_spec

    dim = 1 << num_qubits
    total = np.eye(dim, dtype=complex)
    for name, params, qubits in steps:
        spec = gate_spec(name)
        assert spec is not None
        if spec.num_qubits is None:
            m = spec.matrix(len(qubits), *[float(p) for p in params])
        else:
            m = spec.matrix(*[float(p) for p in params])
        total = embed(m, qubits, num_qubits) @ total
    return total


def embed(m: np.ndarray, qubits: tuple[int, ...], num_qubits: int) -> np.ndarray:
    """The ``2^n`` matrix of ``m`` acting on ``qubits`` of an ``n``-qubit register (qubit 0 most significant)."""
    k = len(qubits)
    tensor = m.reshape([2] * (2 * k))
    full = np.eye(1 << num_qubits, dtype=complex).reshape([2] * (2 * num_qubits))
    # Contract m's input axes with the chosen output axes of the identity.
    out_axes = list(qubits)
    result = np.tensordot(tensor, full, axes=(list(range(k, 2 * k)), out_axes))
    # result axes: m's outputs (k), then identity's remaining axes in order; move m's outputs into place.
    rest = [ax for ax in range(2 * num_qubits) if ax not in out_axes]
    order = [0] * (2 * num_qubits)
    for i, q in enumerate(qubits):
        order[q] = i
    for j, ax in enumerate(rest):
        order[ax] = k + j
    return result.transpose(order).reshape(1 << num_qubits, 1 << num_qubits)


def _neg(*params: float) -> tuple[float, ...]:
    return tuple(-p for p in params)


def _add(
    name: str,
    num_qubits: int | None,
    num_params: int,
    matrix: Callable[..., np.ndarray],
    decomposition: Callable[..., list[DecompStep]] | None,
    inverse: Callable[..., tuple[str, tuple]] | None,
    doc: str,
    *,
    original: bool = False,
    in_qelib1: bool = True,
    clifford: bool = False,
    param_names: tuple[str, ...] = (),
    symmetric: bool = False,
    self_inverse: bool = False,
    diagonal: bool = False,
    virtual: bool = False,
    commutation: str = "",
) -> None:
    register(
        GateSpec(
            name=name,
            num_qubits=num_qubits,
            num_params=num_params,
            matrix=matrix,
            decomposition=decomposition,
            inverse=inverse,
            doc=doc,
            original_qelib1=original,
            in_qelib1=in_qelib1,
            clifford=clifford,
            param_names=param_names,
            symmetric=symmetric,
            self_inverse=self_inverse,
            diagonal=diagonal,
            virtual=virtual,
            commutation=commutation,
        )
    )


def _self(name: str) -> Callable[..., tuple[str, tuple]]:
    return lambda *p: (name, tuple(p))


def _negated(name: str) -> Callable[..., tuple[str, tuple]]:
    return lambda *p: (name, _neg(*p))


def _const(m: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: m.copy()


# --- single-qubit gates -------------------------------------------------------------------------------------------
_add("u3", 1, 3, u3_matrix, None, lambda t, p, l: ("u3", (-t, -l, -p)),
     "Generic single-qubit rotation U(theta, phi, lambda).", original=True, param_names=("theta", "phi", "lambda"),
     commutation=".")
_add("u", 1, 3, u3_matrix, lambda t, p, l: [("u3", (t, p, l), (0,))], lambda t, p, l: ("u", (-t, -l, -p)),
     "Same as u3 (the OpenQASM 2 built-in U).", param_names=("theta", "phi", "lambda"), commutation=".")
_add("u2", 1, 2, lambda p, l: u3_matrix(PI / 2, p, l), lambda p, l: [("u3", (PI / 2, p, l), (0,))],
     lambda p, l: ("u3", (-PI / 2, -l, -p)), "u3(pi/2, phi, lambda).", original=True, param_names=("phi", "lambda"),
     commutation=".")
_add("u1", 1, 1, phase_matrix, lambda l: [("u3", (0.0, 0.0, l), (0,))], _negated("u1"),
     "Phase gate diag(1, e^{i lambda}).", original=True, param_names=("lambda",),
     diagonal=True, virtual=True, commutation="Z")
_add("p", 1, 1, phase_matrix, lambda l: [("u1", (l,), (0,))], _negated("p"),
     "Phase gate diag(1, e^{i lambda}) (same as u1).", param_names=("lambda",),
     diagonal=True, virtual=True, commutation="Z")
_add("u0", 1, 1, lambda g: I2.copy(), lambda g: [], _self("u0"), "Idle for gamma cycles (identity).",
     original=True, param_names=("gamma",), self_inverse=True, diagonal=True, commutation="Z")
_add("id", 1, 0, _const(I2), lambda: [], _self("id"), "Identity.", original=True, clifford=True,
     self_inverse=True, diagonal=True, virtual=True, commutation="Z")
_add("x", 1, 0, _const(X), lambda: [("u3", (PI, 0.0, PI), (0,))], _self("x"), "Pauli X.", original=True,
     clifford=True, self_inverse=True, commutation="X")
_add("y", 1, 0, _const(Y), lambda: [("u3", (PI, PI / 2, PI / 2), (0,))], _self("y"), "Pauli Y.", original=True,
     clifford=True, self_inverse=True, commutation=".")
_add("z", 1, 0, _const(Z), lambda: [("u1", (PI,), (0,))], _self("z"), "Pauli Z.", original=True, clifford=True,
     self_inverse=True, diagonal=True, commutation="Z")
_add("h", 1, 0, _const(H), lambda: [("u2", (0.0, PI), (0,))], _self("h"), "Hadamard.", original=True,
     clifford=True, self_inverse=True, commutation=".")
_add("s", 1, 0, lambda: phase_matrix(PI / 2), lambda: [("u1", (PI / 2,), (0,))], lambda: ("sdg", ()),
     "sqrt(Z).", original=True, clifford=True, diagonal=True, commutation="Z")
_add("sdg", 1, 0, lambda: phase_matrix(-PI / 2), lambda: [("u1", (-PI / 2,), (0,))], lambda: ("s", ()),
     "Inverse of s.", original=True, clifford=True, diagonal=True, commutation="Z")
_add("t", 1, 0, lambda: phase_matrix(PI / 4), lambda: [("u1", (PI / 4,), (0,))], lambda: ("tdg", ()),
     "sqrt(s).", original=True, diagonal=True, commutation="Z")
_add("tdg", 1, 0, lambda: phase_matrix(-PI / 4), lambda: [("u1", (-PI / 4,), (0,))], lambda: ("t", ()),
     "Inverse of t.", original=True, diagonal=True, commutation="Z")
_add("sx", 1, 0, _const(SX), lambda: [("sdg", (), (0,)), ("h", (), (0,)), ("sdg", (), (0,))],
     lambda: ("sxdg", ()), "sqrt(X).", clifford=True, commutation="X")
_add("sxdg", 1, 0, lambda: SX.conj().T, lambda: [("s", (), (0,)), ("h", (), (0,)), ("s", (), (0,))],
     lambda: ("sx", ()), "Inverse of sx.", clifford=True, commutation="X")
_add("sy", 1, 0, _const(SY), lambda: [("ry", (PI / 2,), (0,))], lambda: ("sydg", ()), "sqrt(Y) (pyquafu).",
     in_qelib1=False, clifford=True, commutation=".")
_add("sydg", 1, 0, lambda: SY.conj().T, lambda: [("ry", (-PI / 2,), (0,))], lambda: ("sy", ()),
     "Inverse of sy (pyquafu).", in_qelib1=False, clifford=True, commutation=".")
_add("w", 1, 0, _const(W), lambda: [("u3", (PI, PI / 4, 3 * PI / 4), (0,))], _self("w"),
     "W = (X + Y)/sqrt(2) (pyquafu).", in_qelib1=False, clifford=True, self_inverse=True, commutation=".")
_add("sw", 1, 0, _const(SW),
     lambda: [("rz", (-PI / 4,), (0,)), ("rx", (PI / 2,), (0,)), ("rz", (PI / 4,), (0,))],
     lambda: ("swdg", ()), "sqrt(W) (pyquafu).", in_qelib1=False, commutation=".")
_add("swdg", 1, 0, lambda: SW.conj().T,
     lambda: [("rz", (-PI / 4,), (0,)), ("rx", (-PI / 2,), (0,)), ("rz", (PI / 4,), (0,))],
     lambda: ("sw", ()), "Inverse of sw (pyquafu).", in_qelib1=False, commutation=".")
_add("rx", 1, 1, rx_matrix, lambda t: [("u3", (t, -PI / 2, PI / 2), (0,))], _negated("rx"),
     "Rotation about X by theta.", original=True, param_names=("theta",), commutation="X")
_add("ry", 1, 1, ry_matrix, lambda t: [("u3", (t, 0.0, 0.0), (0,))], _negated("ry"),
     "Rotation about Y by theta.", original=True, param_names=("theta",), commutation=".")
_add("rz", 1, 1, rz_matrix, lambda t: [("u1", (t,), (0,))], _negated("rz"),
     "Rotation about Z by phi.", original=True, param_names=("phi",), diagonal=True, virtual=True, commutation="Z")

# --- two-qubit gates ----------------------------------------------------------------------------------------------
_add("cx", 2, 0, lambda: controlled(X), None, _self("cx"), "Controlled X (CNOT); first qubit controls.",
     original=True, clifford=True, self_inverse=True, commutation="ZX")
_add("cy", 2, 0, lambda: controlled(Y), lambda: [("sdg", (), (1,)), ("cx", (), (0, 1)), ("s", (), (1,))],
     _self("cy"), "Controlled Y.", original=True, clifford=True, self_inverse=True, commutation="Z.")
_add("cz", 2, 0, lambda: controlled(Z), lambda: [("h", (), (1,)), ("cx", (), (0, 1)), ("h", (), (1,))],
     _self("cz"), "Controlled Z.", original=True, clifford=True,
     symmetric=True, self_inverse=True, diagonal=True, commutation="ZZ")
_add("ch", 2, 0, lambda: controlled(H),
     lambda: [("h", (), (1,)), ("sdg", (), (1,)), ("cx", (), (0, 1)), ("h", (), (1,)), ("t", (), (1,)),
              ("cx", (), (0, 1)), ("t", (), (1,)), ("h", (), (1,)), ("s", (), (1,)), ("x", (), (1,)),
              ("s", (), (0,))],
     _self("ch"), "Controlled Hadamard.", original=True, self_inverse=True, commutation="Z.")
_add("swap", 2, 0, lambda: np.eye(4, dtype=complex)[[0, 2, 1, 3]],
     lambda: [("cx", (), (0, 1)), ("cx", (), (1, 0)), ("cx", (), (0, 1))], _self("swap"), "Swap two qubits.",
     clifford=True, symmetric=True, self_inverse=True, commutation="..")
_add("iswap", 2, 0, lambda: np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=complex),
     lambda: [("s", (), (0,)), ("s", (), (1,)), ("h", (), (0,)), ("cx", (), (0, 1)), ("cx", (), (1, 0)),
              ("h", (), (1,))],
     None, "iSWAP (pyquafu).", in_qelib1=False, clifford=True, symmetric=True, commutation="..")
_add("crx", 2, 1, lambda t: controlled(rx_matrix(t)),
     lambda t: [("u1", (PI / 2,), (1,)), ("cx", (), (0, 1)), ("u3", (-t / 2, 0.0, 0.0), (1,)), ("cx", (), (0, 1)),
                ("u3", (t / 2, -PI / 2, 0.0), (1,))],
     _negated("crx"), "Controlled rx.", param_names=("lambda",), commutation="ZX")
_add("cry", 2, 1, lambda t: controlled(ry_matrix(t)),
     lambda t: [("ry", (t / 2,), (1,)), ("cx", (), (0, 1)), ("ry", (-t / 2,), (1,)), ("cx", (), (0, 1))],
     _negated("cry"), "Controlled ry.", param_names=("lambda",), commutation="Z.")
_add("crz", 2, 1, lambda t: controlled(rz_matrix(t)),
     lambda t: [("rz", (t / 2,), (1,)), ("cx", (), (0, 1)), ("rz", (-t / 2,), (1,)), ("cx", (), (0, 1))],
     _negated("crz"), "Controlled rz.", original=True, param_names=("lambda",), diagonal=True, commutation="ZZ")


def _cphase_steps(name: str) -> Callable[[float], list[DecompStep]]:
    return lambda l: [(name, (l / 2,), (0,)), ("cx", (), (0, 1)), (name, (-l / 2,), (1,)), ("cx", (), (0, 1)),
                      (name, (l / 2,), (1,))]


_add("cu1", 2, 1, lambda l: controlled(phase_matrix(l)), _cphase_steps("u1"), _negated("cu1"),
     "Controlled phase (u1).", original=True, param_names=("lambda",), symmetric=True, diagonal=True, commutation="ZZ")
_add("cp", 2, 1, lambda l: controlled(phase_matrix(l)), _cphase_steps("p"), _negated("cp"),
     "Controlled phase.", param_names=("lambda",), symmetric=True, diagonal=True, commutation="ZZ")
_add("cs", 2, 0, lambda: controlled(phase_matrix(PI / 2)), lambda: [("cp", (PI / 2,), (0, 1))],
     lambda: ("cp", (-PI / 2,)), "Controlled s (pyquafu).", in_qelib1=False,
     symmetric=True, diagonal=True, commutation="ZZ")
_add("ct", 2, 0, lambda: controlled(phase_matrix(PI / 4)), lambda: [("cp", (PI / 4,), (0, 1))],
     lambda: ("cp", (-PI / 4,)), "Controlled t (pyquafu).", in_qelib1=False,
     symmetric=True, diagonal=True, commutation="ZZ")
_add("cu3", 2, 3, lambda t, p, l: controlled(u3_matrix(t, p, l)),
     lambda t, p, l: [("u1", ((l + p) / 2,), (0,)), ("u1", ((l - p) / 2,), (1,)), ("cx", (), (0, 1)),
                      ("u3", (-t / 2, 0.0, -(p + l) / 2), (1,)), ("cx", (), (0, 1)), ("u3", (t / 2, p, 0.0), (1,))],
     lambda t, p, l: ("cu3", (-t, -l, -p)), "Controlled u3.", original=True, param_names=("theta", "phi", "lambda"),
     commutation="Z.")
_add("cu", 2, 4, lambda t, p, l, g: controlled(cmath.exp(1j * g) * u3_matrix(t, p, l)),
     lambda t, p, l, g: [("p", (g,), (0,)), ("p", ((l + p) / 2,), (0,)), ("p", ((l - p) / 2,), (1,)),
                         ("cx", (), (0, 1)), ("u", (-t / 2, 0.0, -(p + l) / 2), (1,)), ("cx", (), (0, 1)),
                         ("u", (t / 2, p, 0.0), (1,))],
     lambda t, p, l, g: ("cu", (-t, -l, -p, -g)), "Controlled e^{i gamma} u(theta, phi, lambda).",
     param_names=("theta", "phi", "lambda", "gamma"), commutation="Z.")
_add("csx", 2, 0, lambda: controlled(SX), lambda: [("h", (), (1,)), ("cu1", (PI / 2,), (0, 1)), ("h", (), (1,))],
     None, "Controlled sx.", commutation="ZX")
_add("rxx", 2, 1, lambda t: pauli_rotation(X, t),
     lambda t: [("u3", (PI / 2, t, 0.0), (0,)), ("h", (), (1,)), ("cx", (), (0, 1)), ("u1", (-t,), (1,)),
                ("cx", (), (0, 1)), ("h", (), (1,)), ("u2", (-PI, PI - t), (0,))],
     _negated("rxx"), "exp(-i theta/2 X⊗X).", param_names=("theta",), symmetric=True, commutation="XX")
_add("ryy", 2, 1, lambda t: pauli_rotation(Y, t),
     lambda t: [("rx", (PI / 2,), (0,)), ("rx", (PI / 2,), (1,)), ("cx", (), (0, 1)), ("rz", (t,), (1,)),
                ("cx", (), (0, 1)), ("rx", (-PI / 2,), (0,)), ("rx", (-PI / 2,), (1,))],
     _negated("ryy"), "exp(-i theta/2 Y⊗Y) (pyquafu; not in qelib1.inc).", in_qelib1=False, param_names=("theta",),
     symmetric=True, commutation="..")
_add("rzz", 2, 1, lambda t: pauli_rotation(Z, t),
     lambda t: [("cx", (), (0, 1)), ("u1", (t,), (1,)), ("cx", (), (0, 1))],
     _negated("rzz"), "exp(-i theta/2 Z⊗Z).", param_names=("theta",), symmetric=True, diagonal=True, commutation="ZZ")

# --- three qubits and more ----------------------------------------------------------------------------------------
_CCX_STEPS: list[DecompStep] = [
    ("h", (), (2,)), ("cx", (), (1, 2)), ("tdg", (), (2,)), ("cx", (), (0, 2)), ("t", (), (2,)), ("cx", (), (1, 2)),
    ("tdg", (), (2,)), ("cx", (), (0, 2)), ("t", (), (1,)), ("t", (), (2,)), ("h", (), (2,)), ("cx", (), (0, 1)),
    ("t", (), (0,)), ("tdg", (), (1,)), ("cx", (), (0, 1)),
]
_add("ccx", 3, 0, lambda: controlled(X, 2), lambda: list(_CCX_STEPS), _self("ccx"),
     "Toffoli: X on the third qubit controlled by the first two.", original=True, self_inverse=True, commutation="ZZX")
_add("cswap", 3, 0, lambda: controlled(np.eye(4, dtype=complex)[[0, 2, 1, 3]], 1),
     lambda: [("cx", (), (2, 1)), ("ccx", (), (0, 1, 2)), ("cx", (), (2, 1))], _self("cswap"),
     "Fredkin: swap the last two qubits controlled by the first.", self_inverse=True, commutation="Z..")

_RCCX_STEPS: list[DecompStep] = [
    ("u2", (0.0, PI), (2,)), ("u1", (PI / 4,), (2,)), ("cx", (), (1, 2)), ("u1", (-PI / 4,), (2,)),
    ("cx", (), (0, 2)), ("u1", (PI / 4,), (2,)), ("cx", (), (1, 2)), ("u1", (-PI / 4,), (2,)),
    ("u2", (0.0, PI), (2,)),
]
_add("rccx", 3, 0, lambda: matrix_of_steps(_RCCX_STEPS, 3), lambda: list(_RCCX_STEPS), None,
     "Toffoli up to relative phases (Margolus), as qelib1.inc defines it.", self_inverse=True, commutation="ZZ.")
_RC3X_STEPS: list[DecompStep] = [
    ("u2", (0.0, PI), (3,)), ("u1", (PI / 4,), (3,)), ("cx", (), (2, 3)), ("u1", (-PI / 4,), (3,)),
    ("u2", (0.0, PI), (3,)), ("cx", (), (0, 3)), ("u1", (PI / 4,), (3,)), ("cx", (), (1, 3)),
    ("u1", (-PI / 4,), (3,)), ("cx", (), (0, 3)), ("u1", (PI / 4,), (3,)), ("cx", (), (1, 3)),
    ("u1", (-PI / 4,), (3,)), ("u2", (0.0, PI), (3,)), ("u1", (PI / 4,), (3,)), ("cx", (), (2, 3)),
    ("u1", (-PI / 4,), (3,)), ("u2", (0.0, PI), (3,)),
]
_add("rc3x", 4, 0, lambda: matrix_of_steps(_RC3X_STEPS, 4), lambda: list(_RC3X_STEPS), None,
     "3-controlled X up to relative phases, as qelib1.inc defines it.", commutation="ZZZ.")
_C3X_STEPS: list[DecompStep] = [
    ("h", (), (3,)), ("p", (PI / 8,), (0,)), ("p", (PI / 8,), (1,)), ("p", (PI / 8,), (2,)), ("p", (PI / 8,), (3,)),
    ("cx", (), (0, 1)), ("p", (-PI / 8,), (1,)), ("cx", (), (0, 1)), ("cx", (), (1, 2)), ("p", (-PI / 8,), (2,)),
    ("cx", (), (0, 2)), ("p", (PI / 8,), (2,)), ("cx", (), (1, 2)), ("p", (-PI / 8,), (2,)), ("cx", (), (0, 2)),
    ("cx", (), (2, 3)), ("p", (-PI / 8,), (3,)), ("cx", (), (1, 3)), ("p", (PI / 8,), (3,)), ("cx", (), (2, 3)),
    ("p", (-PI / 8,), (3,)), ("cx", (), (0, 3)), ("p", (PI / 8,), (3,)), ("cx", (), (2, 3)), ("p", (-PI / 8,), (3,)),
    ("cx", (), (1, 3)), ("p", (PI / 8,), (3,)), ("cx", (), (2, 3)), ("p", (-PI / 8,), (3,)), ("cx", (), (0, 3)),
    ("h", (), (3,)),
]
_add("c3x", 4, 0, lambda: controlled(X, 3), lambda: list(_C3X_STEPS), _self("c3x"), "3-controlled X.",
     self_inverse=True, commutation="ZZZX")


def _c3sqrtx_steps() -> list[DecompStep]:
    q = PI / 8
    seq: list[DecompStep] = []

    def hcu1(angle: float, c: int) -> None:
        seq.extend([("h", (), (3,)), ("cu1", (angle,), (c, 3)), ("h", (), (3,))])

    hcu1(q, 0)
    seq.append(("cx", (), (0, 1)))
    hcu1(-q, 1)
    seq.append(("cx", (), (0, 1)))
    hcu1(q, 1)
    seq.append(("cx", (), (1, 2)))
    hcu1(-q, 2)
    seq.append(("cx", (), (0, 2)))
    hcu1(q, 2)
    seq.append(("cx", (), (1, 2)))
    hcu1(-q, 2)
    seq.append(("cx", (), (0, 2)))
    hcu1(q, 2)
    return seq


_add("c3sqrtx", 4, 0, lambda: controlled(SX, 3), _c3sqrtx_steps, None, "3-controlled sqrt(X).", commutation="ZZZX")
_add("c4x", 5, 0, lambda: controlled(X, 4),
     lambda: [("h", (), (4,)), ("cu1", (PI / 2,), (3, 4)), ("h", (), (4,)), ("c3x", (), (0, 1, 2, 3)),
              ("h", (), (4,)), ("cu1", (-PI / 2,), (3, 4)), ("h", (), (4,)), ("c3x", (), (0, 1, 2, 3)),
              ("c3sqrtx", (), (0, 1, 2, 4))],
     _self("c4x"), "4-controlled X.", self_inverse=True, commutation="ZZZZX")


# --- multi-controlled gates of variable arity (pyquafu's mcx/mcy/mcz); the last qubit is the target -----------------
def _mcp_steps(n: int, lam: float) -> list[DecompStep]:
    if n == 1:
        return [("p", (lam,), (0,))]
    if n == 2:
        return [("cp", (lam,), (0, 1))]
    k = n - 1  # controls 0..k-1, target k
    last = k - 1
    rest = tuple(range(last))
    return [
        ("cp", (lam / 2,), (last, k)),
        ("mcx", (), (*rest, last)),
        ("cp", (-lam / 2,), (last, k)),
        ("mcx", (), (*rest, last)),
        ("mcp", (lam / 2,), (*rest, k)),
    ]


def _mcx_steps(n: int) -> list[DecompStep]:
    if n == 1:
        return [("x", (), (0,))]
    if n == 2:
        return [("cx", (), (0, 1))]
    if n == 3:
        return [("ccx", (), (0, 1, 2))]
    t = n - 1
    return [("h", (), (t,)), ("mcp", (PI,), tuple(range(n))), ("h", (), (t,))]


_add("mcp", None, 1, lambda n, l: controlled(phase_matrix(l), n - 1), _mcp_steps, lambda l: ("mcp", (-l,)),
     "Multi-controlled phase; the last qubit is the target.", in_qelib1=False, param_names=("lambda",), diagonal=True)
_add("mcx", None, 0, lambda n: controlled(X, n - 1), _mcx_steps, _self("mcx"),
     "Multi-controlled X (pyquafu); the last qubit is the target.", in_qelib1=False, self_inverse=True)
_add("mcy", None, 0, lambda n: controlled(Y, n - 1),
     lambda n: [("sdg", (), (n - 1,)), ("mcx", (), tuple(range(n))), ("s", (), (n - 1,))], _self("mcy"),
     "Multi-controlled Y (pyquafu); the last qubit is the target.", in_qelib1=False, self_inverse=True)
_add("mcz", None, 0, lambda n: controlled(Z, n - 1), lambda n: [("mcp", (PI,), tuple(range(n)))], _self("mcz"),
     "Multi-controlled Z (pyquafu); the last qubit is the target.", in_qelib1=False, self_inverse=True, diagonal=True)


# pyquafu's multi-controlled rotations. On the controls' all-ones branch rz(t) = e^(-it/2) p(t), so a controlled rz
# is a controlled p(t) on the target and the phase e^(-it/2) as a p(-t/2) controlled by the other controls; rx and ry
# are rz conjugated on the target (h rz h = rx, s rx sdg = ry).
def _mcrz_steps(n: int, t: float) -> list[DecompStep]:
    if n == 1:
        return [("rz", (t,), (0,))]
    if n == 2:
        return [("crz", (t,), (0, 1))]
    return [("mcp", (t,), tuple(range(n))), ("mcp", (-t / 2,), tuple(range(n - 1)))]


def _mcrx_steps(n: int, t: float) -> list[DecompStep]:
    return [("h", (), (n - 1,)), ("mcrz", (t,), tuple(range(n))), ("h", (), (n - 1,))]


def _mcry_steps(n: int, t: float) -> list[DecompStep]:
    return [("sdg", (), (n - 1,)), ("mcrx", (t,), tuple(range(n))), ("s", (), (n - 1,))]


_add("mcrx", None, 1, lambda n, t: controlled(rx_matrix(t), n - 1), _mcrx_steps, _negated("mcrx"),
     "Multi-controlled rx (pyquafu); the last qubit is the target.", in_qelib1=False, param_names=("theta",))
_add("mcry", None, 1, lambda n, t: controlled(ry_matrix(t), n - 1), _mcry_steps, _negated("mcry"),
     "Multi-controlled ry (pyquafu); the last qubit is the target.", in_qelib1=False, param_names=("theta",))
_add("mcrz", None, 1, lambda n, t: controlled(rz_matrix(t), n - 1), _mcrz_steps, _negated("mcrz"),
     "Multi-controlled rz (pyquafu); the last qubit is the target.", in_qelib1=False, param_names=("theta",),
     diagonal=True)
