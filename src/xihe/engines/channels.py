"""Quantum channels as Kraus operators: depolarizing, damping, thermal relaxation, Pauli channels.

Conventions follow Qiskit Aer's noise library so that a Xihe noise model and the "equivalent" Aer one give the
same density matrices: ``depolarizing(p, n)`` is ``rho -> (1 - p) rho + p I / 2^n``; thermal relaxation over
``duration`` ns decays populations with ``T1`` and coherences with ``T2`` (``T2 <= 2 T1``), which is amplitude
damping with ``gamma = 1 - exp(-t/T1)`` followed by pure dephasing for the rest of the ``T2`` decay. Matrices are
big-endian like gates (the channel's first qubit is the most significant index bit).

>>> round(depolarizing(0.01, 1).average_gate_fidelity(), 6)
0.995
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np

from xihe.errors import XiheError

_PAULIS = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


class NoiseError(XiheError):
    """A channel or noise model parameter is out of range."""

    stage = "validate"


def pauli_matrix(label: str) -> np.ndarray:
    """The matrix of a Pauli string such as ``"XZ"`` (first letter on the first qubit)."""
    out = np.ones((1, 1), dtype=complex)
    for ch in label:
        out = np.kron(out, _PAULIS[ch])
    return out


class Channel:
    """A completely positive trace-preserving map given by Kraus operators on ``num_qubits`` qubits."""

    def __init__(self, kraus: Sequence[np.ndarray], name: str = "channel", check: bool = True) -> None:
        ops = [np.asarray(k, dtype=np.complex128) for k in kraus]
        if not ops:
            raise NoiseError("a channel needs at least one Kraus operator")
        dim = ops[0].shape[0]
        if dim & (dim - 1) or any(k.shape != (dim, dim) for k in ops):
            raise NoiseError("Kraus operators must be square matrices of one size 2^n")
        if check:
            total = sum(k.conj().T @ k for k in ops)
            if not np.allclose(total, np.eye(dim), atol=1e-9):
                raise NoiseError(f"the Kraus operators of '{name}' are not trace preserving")
        self.kraus = [k for k in ops if np.abs(k).max() > 1e-15] or ops[:1]
        self.name = name
        self.num_qubits = dim.bit_length() - 1

    def __repr__(self) -> str:
        return f"Channel({self.name!r}, num_qubits={self.num_qubits}, kraus={len(self.kraus)})"

    def compose(self, other: Channel) -> Channel:
        """This channel followed by ``other`` (on the same qubits)."""
        if other.num_qubits != self.num_qubits:
            raise NoiseError(f"cannot compose a {self.num_qubits}-qubit channel with a {other.num_qubits}-qubit one")
        kraus = [b @ a for a in self.kraus for b in other.kraus]
        return Channel(kraus, f"{self.name}+{other.name}", check=False)

    def tensor(self, other: Channel) -> Channel:
        """This channel on the first qubits and ``other`` on the next ones."""
        return Channel([np.kron(a, b) for a in self.kraus for b in other.kraus], f"{self.name}*{other.name}",
                       check=False)

    @cached_property
    def superoperator(self) -> np.ndarray:
        """``sum_k K (x) conj(K)``: acts on a density matrix flattened row-major (row qubits, then column)."""
        return np.ascontiguousarray(sum(np.kron(k, k.conj()) for k in self.kraus))

    def apply(self, rho: np.ndarray) -> np.ndarray:
        """The channel applied to a density matrix on exactly its qubits (for tests and small uses)."""
        return sum(k @ rho @ k.conj().T for k in self.kraus)

    def average_gate_fidelity(self) -> float:
        """Average gate fidelity to the identity: ``(d F_pro + 1) / (d + 1)``, ``F_pro = sum |Tr K|^2 / d^2``."""
        d = 1 << self.num_qubits
        f_pro = sum(abs(np.trace(k)) ** 2 for k in self.kraus) / d**2
        return float((d * f_pro + 1) / (d + 1))

    @cached_property
    def mixture(self) -> list[tuple[float, np.ndarray]] | None:
        """``[(p, U)]`` when every Kraus operator is ``sqrt(p) U`` with ``U`` unitary, else ``None``.

        Such a channel's branch probabilities do not depend on the state, so trajectories sample them directly.
        """
        d = 1 << self.num_qubits
        out = []
        for k in self.kraus:
            kk = k.conj().T @ k
            p = float(np.real(np.trace(kk))) / d
            if not np.allclose(kk, p * np.eye(d), atol=1e-10):
                return None
            out.append((p, k / math.sqrt(p)))
        return out

    @cached_property
    def sampling_table(self) -> tuple[np.ndarray, list[np.ndarray | None]] | None:
        """For a mixture of unitaries: cumulative probabilities and each unitary (``None`` for the identity)."""
        mix = self.mixture
        if mix is None:
            return None
        cumulative = np.cumsum([p for p, _ in mix])
        unitaries: list[np.ndarray | None] = []
        for _, u in mix:
            is_identity = np.allclose(u, np.eye(u.shape[0]) * u[0, 0], atol=1e-14)
            unitaries.append(None if is_identity else np.ascontiguousarray(u))
        return cumulative, unitaries

    @cached_property
    def pauli_probabilities(self) -> dict[str, float] | None:
        """``{pauli string: probability}`` when this is a Pauli channel (as stim needs), else ``None``."""
        mix = self.mixture
        if mix is None:
            return None
        labels = ["".join(t) for t in itertools.product("IXYZ", repeat=self.num_qubits)]
        out: dict[str, float] = {}
        for p, u in mix:
            for label in labels:
                pm = pauli_matrix(label)
                overlap = np.trace(pm.conj().T @ u) / pm.shape[0]
                if abs(abs(overlap) - 1) < 1e-9:
                    out[label] = out.get(label, 0.0) + p
                    break
            else:
                return None
        return out

    def is_pauli(self) -> bool:
        return self.pauli_probabilities is not None

    @cached_property
    def identity_split(self) -> tuple[float, list[np.ndarray]]:
        """``(w, F)`` with this channel ``E = (1 - w) Id + w F``, ``w`` as small as possible and ``F`` (Kraus
        operators, trace preserving) a channel.

        Trajectories of a channel that is no mixture of unitaries (relaxation) can then draw *whether* it acts
        before knowing the state (probability ``w``, about the channel's error rate), and only a shot that drew it
        picks a Kraus operator of ``F`` from its state. The identity weight ``1 - w`` is the largest ``l`` with
        ``J - l |I>><<I|`` positive semidefinite (``J`` the Choi matrix): ``1 / <<I| J^+ |I>>`` when ``|I>>`` lies
        in ``J``'s range, else 0 (then ``w = 1`` and ``F = E``).
        """
        d = 1 << self.num_qubits
        vecs = np.array([k.reshape(-1) for k in self.kraus])
        choi = vecs.T @ vecs.conj()  # sum_k |vec K_k>><<vec K_k|, row-major vec
        values, vectors = np.linalg.eigh(choi)
        keep = values > 1e-12 * values.max()
        ident = np.eye(d, dtype=np.complex128).reshape(-1)
        coeff = vectors[:, keep].conj().T @ ident
        outside = np.linalg.norm(ident - vectors[:, keep] @ coeff)
        stay = 0.0 if outside > 1e-9 else float(1.0 / np.sum(np.abs(coeff) ** 2 / values[keep]))
        stay = min(max(stay * (1.0 - 1e-12), 0.0), 1.0)  # a hair inside, so the remainder stays positive
        if stay >= 1.0 - 1e-15:
            return 0.0, [np.eye(d, dtype=np.complex128)]
        w = 1.0 - stay
        rest_values, rest_vectors = np.linalg.eigh((choi - stay * np.outer(ident, ident.conj())) / w)
        kraus = [math.sqrt(v) * rest_vectors[:, i].reshape(d, d) for i, v in enumerate(rest_values)
                 if v > 1e-14 * rest_values.max()]
        return w, kraus

    @cached_property
    def outcome_matrix(self) -> np.ndarray | None:
        """``T[b, a] = <b| E(|a><a|) |b>`` when the channel's effect on computational-basis outcomes depends only on
        the outcomes (no coherence ``|a><a'|`` reaches a diagonal entry: Pauli, damping and relaxation channels),
        else ``None``. Such a channel right before the measurement of its qubits is a classical confusion ``T``."""
        d = 1 << self.num_qubits
        gram = np.zeros((d, d, d), dtype=np.complex128)  # gram[b] = sum_k conj(K[b, :])^T K[b, :]... per row b
        for k in self.kraus:
            gram += np.einsum("ba,bc->bac", k, k.conj())
        off = gram - np.einsum("bac,ac->bac", gram, np.eye(d))
        if np.abs(off).max() > 1e-12:
            return None
        return np.ascontiguousarray(np.einsum("baa->ba", gram).real)


def _check_probability(name: str, value: float, upper: float = 1.0) -> float:
    value = float(value)
    if not 0.0 <= value <= upper + 1e-12:
        raise NoiseError(f"{name} must be in [0, {upper:g}], not {value}")
    return min(value, upper)


def depolarizing(p: float, num_qubits: int = 1) -> Channel:
    """``rho -> (1 - p) rho + p Tr(rho) I / 2^n`` (Qiskit's ``depolarizing_error(p, n)``)."""
    d2 = 4**num_qubits
    p = _check_probability("depolarizing probability", p, d2 / (d2 - 1))
    labels = ["".join(t) for t in itertools.product("IXYZ", repeat=num_qubits)]
    probs = {label: p / d2 for label in labels}
    probs["I" * num_qubits] = 1 - p + p / d2
    return pauli_channel(probs, name=f"depolarizing({p:g})")


def pauli_channel(probabilities: Mapping[str, float] | None = None, *, px: float = 0.0, py: float = 0.0,
                  pz: float = 0.0, name: str = "pauli") -> Channel:
    """A Pauli channel from ``{"X": 0.01, "ZZ": ...}`` (identity gets the rest) or single-qubit ``px, py, pz``."""
    probs = dict(probabilities) if probabilities is not None else {"X": px, "Y": py, "Z": pz}
    widths = {len(k) for k in probs}
    if len(widths) != 1 or any(set(k) - set("IXYZ") for k in probs):
        raise NoiseError("Pauli labels must be strings of I, X, Y, Z of one length")
    n = widths.pop()
    identity = "I" * n
    rest = sum(_check_probability(f"probability of {k}", v) for k, v in probs.items() if k != identity)
    probs[identity] = probs.get(identity, 0.0) if identity in probs else 1.0 - rest
    if abs(sum(probs.values()) - 1.0) > 1e-9 or probs[identity] < -1e-12:
        raise NoiseError("Pauli channel probabilities must sum to 1")
    kraus = [math.sqrt(max(v, 0.0)) * pauli_matrix(k) for k, v in probs.items() if v > 0]
    return Channel(kraus, name)


def amplitude_damping(gamma: float) -> Channel:
    """Energy loss: ``|1> -> |0>`` with probability ``gamma``."""
    g = _check_probability("amplitude damping gamma", gamma)
    return Channel([np.array([[1, 0], [0, math.sqrt(1 - g)]]), np.array([[0, math.sqrt(g)], [0, 0]])],
                   f"amplitude_damping({g:g})")


def phase_damping(gamma: float) -> Channel:
    """Pure dephasing: coherences shrink by ``sqrt(1 - gamma)``."""
    g = _check_probability("phase damping gamma", gamma)
    return Channel([np.array([[1, 0], [0, math.sqrt(1 - g)]]), np.array([[0, 0], [0, math.sqrt(g)]])],
                   f"phase_damping({g:g})")


def thermal_relaxation(t1_ns: float, t2_ns: float, duration_ns: float) -> Channel:
    """Relaxation over ``duration_ns`` for a qubit with ``T1`` and ``T2`` (ns, ``T2 <= 2 T1``), at zero temperature."""
    t1, t2, t = float(t1_ns), float(t2_ns), float(duration_ns)
    if t1 <= 0 or t2 <= 0:
        raise NoiseError(f"T1 and T2 must be positive, not T1={t1}, T2={t2}")
    if t2 > 2 * t1 * (1 + 1e-12):
        raise NoiseError(f"T2 ({t2} ns) cannot exceed 2 T1 ({2 * t1} ns)")
    if t < 0:
        raise NoiseError(f"duration must be >= 0, not {t}")
    gamma1 = 1.0 - math.exp(-t / t1)
    # Amplitude damping already shrinks coherences by exp(-t / 2T1); dephasing supplies the rest of exp(-t/T2).
    rest = max(1.0 / t2 - 0.5 / t1, 0.0)
    gamma_phi = 1.0 - math.exp(-2.0 * t * rest)
    ch = amplitude_damping(gamma1).compose(phase_damping(gamma_phi))
    ch.name = f"thermal_relaxation(T1={t1:g}, T2={t2:g}, t={t:g})"
    return ch


def identity(num_qubits: int = 1) -> Channel:
    return Channel([np.eye(1 << num_qubits)], "identity")
