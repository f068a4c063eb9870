"""Writing an experiment's circuits in a backend's native gates, on the physical qubits the experiment chose.

Characterization must run on the qubits it names, gate for gate, so its circuits go to a backend verbatim
(``compile=False``) rather than through the optimising compiler, which would move them to other qubits and cancel
a benchmarking sequence down to nothing. This module is the only translation they need: any one-qubit gate becomes
the Euler form of the backend's one-qubit basis (``u3``; ``rz ry rz``; ``rz rx rz``; ``rz sx rz sx rz``; or, on a
Clifford-only backend, the table word of that Clifford), and ``cx``/``cz`` are turned around or converted to the
native two-qubit gate of the coupled pair. Barriers, delays and measurements are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from xihe.characterize.clifford import clifford_group
from xihe.characterize.su4 import u3_angles
from xihe.circuit import Circuit, Gate, Operation
from xihe.circuit.protocols import unitary
from xihe.circuit.standard_gates import H, phase_matrix
from xihe.errors import ValidationError

_TWO_PI = 2 * math.pi
_INSTRUCTIONS = frozenset({"measure", "barrier", "delay", "reset"})


def _is_zero_angle(angle: float) -> bool:
    return abs(math.remainder(angle, _TWO_PI)) < 1e-10


@cache
def _clifford_matrices() -> list[np.ndarray]:
    """The 24 one-qubit Clifford matrices, in the order of :func:`clifford_group` ``(1)``."""
    out = []
    for word in clifford_group(1).words:
        m = np.eye(2, dtype=complex)
        for name, _ in word:
            m = (H if name == "h" else phase_matrix(math.pi / 2)) @ m
        out.append(m)
    return out


def clifford_index(m: np.ndarray) -> int | None:
    """The element of the one-qubit Clifford group equal to ``m`` up to phase, or ``None``."""
    for i, c in enumerate(_clifford_matrices()):
        if abs(abs(np.trace(c.conj().T @ m)) - 2) < 1e-9:
            return i
    return None


@dataclass(frozen=True)
class NativeGates:
    """A backend's native gate names and, when it has a topology, its directed coupled pairs."""

    names: frozenset[str]
    pairs: frozenset[tuple[int, int]] | None = None

    @classmethod
    def from_device(cls, device: Any) -> NativeGates:
        """From a :class:`xihe.devices.Device` (its ``native_gates`` and ``coupling_map``)."""
        pairs = getattr(device, "coupling_map", None)
        return cls(frozenset(device.native_gates),
                   frozenset((int(a), int(b)) for a, b in pairs) if pairs else None)

    @property
    def two_qubit_gate(self) -> str:
        for name in ("cx", "cz"):
            if name in self.names:
                return name
        raise ValidationError(f"no cx or cz among the native gates {sorted(self.names)}")

    def oriented(self, a: int, b: int) -> tuple[int, int]:
        """``(a, b)`` if that direction is coupled, else ``(b, a)`` if that one is; raises otherwise."""
        if self.pairs is None or (a, b) in self.pairs:
            return (a, b)
        if (b, a) in self.pairs:
            return (b, a)
        raise ValidationError(f"qubits {a} and {b} are not coupled on this backend")

    def __call__(self, circuit: Circuit) -> Circuit:
        return self.translate(circuit)

    def translate(self, circuit: Circuit) -> Circuit:
        """The same circuit in native gates (equal up to global phase), on the same qubits."""
        out = circuit.copy_empty()
        for op in circuit:
            out.operations.extend(self.translate_operation(op))
        return out

    def translate_operation(self, op: Operation) -> list[Operation]:
        name = op.gate.name
        if name in _INSTRUCTIONS:
            return [op]
        if len(op.qubits) == 1:
            if name in self.names:
                return [op]
            return [Operation(g, op.qubits) for g in self.one_qubit_gates(unitary(op.gate))]
        if len(op.qubits) == 2 and name in ("cx", "cz"):
            return self._two_qubit(name, *op.qubits)
        raise ValidationError(f"'{name}' on qubits {list(op.qubits)}: characterization circuits use 1q gates, "
                              "cx and cz only")

    def one_qubit_gates(self, m: np.ndarray) -> list[Gate]:
        """Native gates whose product is ``m`` up to phase (first gate applied first)."""
        theta, phi, lam = u3_angles(m)
        names = self.names
        if "u3" in names or "u" in names:
            return [Gate("u3" if "u3" in names else "u", (theta, phi, lam))]
        if "rz" in names and "ry" in names:
            seq: list[tuple[str, float]] = [("rz", lam), ("ry", theta), ("rz", phi)]
        elif "rz" in names and "rx" in names:
            seq = [("rz", lam - math.pi / 2), ("rx", theta), ("rz", phi + math.pi / 2)]
        elif "rz" in names and "sx" in names:
            seq = [("rz", lam), ("sx", math.nan), ("rz", theta + math.pi), ("sx", math.nan), ("rz", phi + math.pi)]
        else:
            return self._clifford_word(m)
        if _is_zero_angle(theta):
            seq = [("rz", phi + lam)]
        gates = []
        for gate_name, angle in seq:
            if gate_name == "sx":
                gates.append(Gate("sx"))
            elif not _is_zero_angle(angle):
                gates.append(Gate(gate_name, (math.remainder(angle, _TWO_PI),)))
        return gates

    def _clifford_word(self, m: np.ndarray) -> list[Gate]:
        if not {"h", "s"} <= self.names:
            raise ValidationError(f"cannot write a one-qubit gate in the native gates {sorted(self.names)}")
        index = clifford_index(m)
        if index is None:
            raise ValidationError("this backend runs Clifford gates only, and the circuit has a non-Clifford gate")
        return [Gate(name) for name, _ in clifford_group(1).words[index]]

    def _hadamards(self, qubits: Iterable[int]) -> list[Operation]:
        return [Operation(g, (q,)) for q in qubits for g in ([Gate("h")] if "h" in self.names
                                                               else self.one_qubit_gates(H))]

    def _two_qubit(self, name: str, a: int, b: int) -> list[Operation]:
        native = self.two_qubit_gate
        c, t = self.oriented(a, b)
        if name == "cz":
            if native == "cz":
                return [Operation(Gate("cz"), (c, t))]
            return [*self._hadamards([t]), Operation(Gate("cx"), (c, t)), *self._hadamards([t])]
        # cx(a, b)
        if native == "cz":
            return [*self._hadamards([b]), Operation(Gate("cz"), (c, t)), *self._hadamards([b])]
        if (c, t) == (a, b):
            return [Operation(Gate("cx"), (a, b))]
        return [*self._hadamards([a, b]), Operation(Gate("cx"), (b, a)), *self._hadamards([a, b])]
