"""A noise model: which channel follows which gate on which qubits, relaxation on idle time, readout confusion.

Rules (as Qiskit Aer's ``NoiseModel``): an error added for specific qubits applies when a gate acts on exactly
those qubits, and replaces the all-qubit error for that gate there; several errors added for the same gate and
qubits apply one after the other. A one-qubit channel added for all qubits of a multi-qubit gate applies to each
of its qubits. ``set_relaxation`` attaches T1/T2 to a qubit and is applied on ``delay`` operations for their
duration, so a scheduled circuit with explicit delays gets idle noise.

>>> from xihe.engines.channels import depolarizing
>>> nm = NoiseModel()
>>> nm.add_gate_error(depolarizing(0.01, 2), "cx")
>>> nm.add_readout_error(0.02, 0.05, qubit=0)
>>> nm.is_pauli(), nm.is_ideal()
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence

from xihe.engines.channels import Channel, NoiseError, thermal_relaxation

ALL_GATES = "*"


class NoiseModel:
    """Per-gate and per-qubit channels, qubit relaxation (T1, T2) and readout confusion."""

    def __init__(self) -> None:
        self._all_qubits: dict[str, list[Channel]] = {}
        self._local: dict[tuple[str, tuple[int, ...]], list[Channel]] = {}
        self._readout: dict[int, tuple[float, float]] = {}
        self._relaxation: dict[int, tuple[float, float]] = {}

    def __repr__(self) -> str:
        return (f"NoiseModel(gates={sorted(self.noisy_gates)}, readout_qubits={sorted(self._readout)}, "
                f"relaxation_qubits={sorted(self._relaxation)})")

    @property
    def noisy_gates(self) -> set[str]:
        return set(self._all_qubits) | {g for g, _ in self._local}

    def add_gate_error(self, channel: Channel, gates: str | Sequence[str],
                       qubits: tuple[int, ...] | None = None) -> None:
        """Apply ``channel`` after each of ``gates`` (``"*"``: every gate), on ``qubits`` only or on all."""
        names = [gates] if isinstance(gates, str) else list(gates)
        if not names:
            raise NoiseError("give at least one gate name")
        for name in names:
            if qubits is None:
                self._all_qubits.setdefault(name, []).append(channel)
            else:
                key = tuple(int(q) for q in qubits)
                if channel.num_qubits != len(key) and channel.num_qubits != 1:
                    raise NoiseError(f"a {channel.num_qubits}-qubit channel cannot act on qubits {key}")
                self._local.setdefault((name, key), []).append(channel)

    def add_readout_error(self, p1_given_0: float, p0_given_1: float, qubit: int) -> None:
        """Measuring ``qubit`` records 1 for a 0 with probability ``p1_given_0`` (and 0 for a 1 likewise)."""
        for label, p in (("p1_given_0", p1_given_0), ("p0_given_1", p0_given_1)):
            if not 0.0 <= p <= 1.0:
                raise NoiseError(f"{label} must be in [0, 1], not {p}")
        self._readout[int(qubit)] = (float(p1_given_0), float(p0_given_1))

    def set_relaxation(self, qubit: int, t1_ns: float, t2_ns: float) -> None:
        """T1 and T2 (ns) of ``qubit``, applied on its ``delay`` operations."""
        thermal_relaxation(t1_ns, t2_ns, 0.0)  # validates T2 <= 2 T1
        self._relaxation[int(qubit)] = (float(t1_ns), float(t2_ns))

    def relaxation(self, qubit: int) -> tuple[float, float] | None:
        return self._relaxation.get(qubit)

    def readout(self, qubit: int) -> tuple[float, float] | None:
        """``(p1_given_0, p0_given_1)`` of ``qubit``, or ``None`` for a perfect readout."""
        return self._readout.get(qubit)

    def readout_errors(self) -> dict[int, tuple[float, float]]:
        return dict(self._readout)

    def channels_after(self, gate: str, qubits: tuple[int, ...]) -> list[tuple[Channel, tuple[int, ...]]]:
        """The channels to apply after ``gate`` on ``qubits``, each with the qubits it acts on, in order."""
        for name in (gate, ALL_GATES):
            local = self._local.get((name, qubits))
            if local is not None:
                return [pair for ch in local for pair in _placed(ch, qubits)]
        if gate in ("measure", "reset", "barrier", "delay"):
            return []
        chans = self._all_qubits.get(gate) or self._all_qubits.get(ALL_GATES) or []
        return [pair for ch in chans for pair in _placed(ch, qubits)]

    def delay_channel(self, qubit: int, duration_ns: float) -> Channel | None:
        """Thermal relaxation over an idle period, or ``None`` if the qubit has no T1/T2 or the delay is 0."""
        rel = self._relaxation.get(qubit)
        if rel is None or duration_ns <= 0:
            return None
        return thermal_relaxation(rel[0], rel[1], duration_ns)

    def gate_channels(self) -> list[Channel]:
        return [ch for chans in (*self._all_qubits.values(), *self._local.values()) for ch in chans]

    def is_ideal(self) -> bool:
        """True when the model adds no noise at all."""
        return not (self._all_qubits or self._local or self._readout or self._relaxation)

    def has_quantum_noise(self) -> bool:
        """True when the model changes the state (gate errors or relaxation), not only the readout."""
        return bool(self._all_qubits or self._local or self._relaxation)

    def is_pauli(self) -> bool:
        """True when every gate error is a Pauli channel and nothing relaxes (what the stabilizer engine takes)."""
        return not self._relaxation and all(ch.is_pauli() for ch in self.gate_channels())


def _placed(channel: Channel, qubits: tuple[int, ...]) -> list[tuple[Channel, tuple[int, ...]]]:
    if channel.num_qubits == len(qubits):
        return [(channel, qubits)]
    if channel.num_qubits == 1:
        return [(channel, (q,)) for q in qubits]
    raise NoiseError(f"a {channel.num_qubits}-qubit channel was attached to a gate on {len(qubits)} qubit(s) "
                     f"{qubits}")
