"""Translation of experiment circuits to each backend's native gates keeps the unitary and the qubits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xihe.characterize.native import NativeGates
from xihe.characterize.su4 import haar_unitary, u3_angles
from xihe.circuit import Circuit
from xihe.errors import ValidationError

from .helpers import circuit_matrix, equal_up_to_phase

BASES = [
    ({"u3", "cx"}, None),
    ({"rz", "ry", "rx", "h", "cx", "id"}, {(0, 1), (1, 2)}),  # line10
    ({"rz", "ry", "rx", "h", "cz"}, {(1, 0), (2, 1)}),  # dongling
    ({"rz", "sx", "x", "cx"}, {(1, 0)}),
    ({"rz", "rx", "cz"}, {(0, 1)}),
]


@pytest.mark.parametrize(("names", "pairs"), BASES)
def test_random_circuits_translate_exactly(names: set[str], pairs: set[tuple[int, int]] | None) -> None:
    native = NativeGates(frozenset(names), frozenset(pairs) if pairs else None)
    rng = np.random.default_rng(1)
    for _ in range(10):
        qc = Circuit(2)
        for _ in range(3):
            qc.u3(*u3_angles(haar_unitary(2, rng)), 0).u3(*u3_angles(haar_unitary(2, rng)), 1)
            qc.cx(0, 1).cz(1, 0).cx(1, 0).h(0).x(1).rz(0.3, 0)
        out = native(qc)
        assert set(out.count_ops()) <= names
        assert equal_up_to_phase(circuit_matrix(qc), circuit_matrix(out))
        if pairs:
            assert all(op.qubits in pairs for op in out if len(op.qubits) == 2)


def test_clifford_only_backend_gets_h_s_words() -> None:
    native = NativeGates(frozenset({"h", "s", "sdg", "x", "cx"}))
    qc = Circuit(1).u3(math.pi / 2, 0.0, math.pi, 0).u3(0.0, 0.0, math.pi / 2, 0).u3(math.pi, 0, math.pi, 0)
    out = native(qc)
    assert set(out.count_ops()) <= {"h", "s"}
    assert equal_up_to_phase(circuit_matrix(qc), circuit_matrix(out))
    with pytest.raises(ValidationError, match="Clifford"):
        native(Circuit(1).rz(0.1, 0))


def test_uncoupled_pair_is_refused() -> None:
    native = NativeGates(frozenset({"rz", "ry", "cx"}), frozenset({(0, 1)}))
    with pytest.raises(ValidationError, match="not coupled"):
        native(Circuit(3).cx(0, 2))


def test_instructions_are_kept() -> None:
    native = NativeGates(frozenset({"rz", "ry", "cx"}))
    qc = Circuit(1, 1).x(0).barrier(0).delay(100.0, [0]).measure(0, 0)
    assert [op.gate.name for op in native(qc)][-3:] == ["barrier", "delay", "measure"]
