"""The checks of xihe.testing catch what they promise to catch, and random_circuit is seeded."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from xihe import qasm
from xihe.circuit import Circuit, Gate, gate_spec
from xihe.circuit import gate as gate_module
from xihe.testing import (
    assert_circuits_equivalent,
    assert_gate_consistent,
    circuit_unitary,
    outcome_probabilities,
    random_circuit,
)


def test_equivalent_circuits_pass_and_different_ones_fail() -> None:
    assert_circuits_equivalent(Circuit(2).swap(0, 1), Circuit(2).cx(0, 1).cx(1, 0).cx(0, 1))
    with pytest.raises(AssertionError, match="unitaries differ"):
        assert_circuits_equivalent(Circuit(2).cx(0, 1), Circuit(2).cx(1, 0))


def test_global_phase_matters_only_when_asked() -> None:
    a, b = Circuit(1).rz(0.4, 0), Circuit(1).p(0.4, 0)  # equal up to a phase of e^{-0.2i}
    assert_circuits_equivalent(a, b)
    with pytest.raises(AssertionError):
        assert_circuits_equivalent(a, b, up_to_phase=False)


def test_wide_circuits_are_compared_by_their_states() -> None:
    a = random_circuit(12, 3, seed=5, gates=["h", "cx", "rz", "t"])
    assert_circuits_equivalent(a, a.inverse().inverse())
    with pytest.raises(AssertionError, match="different states"):
        assert_circuits_equivalent(a, a.copy().x(11))


def test_measured_circuits_are_compared_by_outcome_distributions() -> None:
    bell = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    assert np.allclose(outcome_probabilities(bell), [0.5, 0, 0, 0.5])
    swapped = Circuit(2, 2).h(1).cx(1, 0).measure([1, 0], [1, 0])
    assert_circuits_equivalent(bell, swapped)
    skewed = Circuit(2, 2).ry(1.0, 0).cx(0, 1).measure([0, 1], [0, 1])
    with pytest.raises(AssertionError, match="distributions differ"):
        assert_circuits_equivalent(bell, skewed)
    # c[0] is the most significant bit of the outcome index.
    assert np.allclose(outcome_probabilities(Circuit(2, 2).x(1).measure([0, 1], [0, 1])), [0, 1, 0, 0])


def test_mid_circuit_measurement_is_beyond_the_reference() -> None:
    c = Circuit(1, 1).measure(0, 0).x(0)
    with pytest.raises(AssertionError, match="terminal"):
        outcome_probabilities(c)


def test_circuit_unitary_is_big_endian() -> None:
    cx = circuit_unitary(Circuit(2).cx(0, 1))
    assert np.allclose(cx, np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]))


def test_gate_check_catches_a_wrong_decomposition(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = gate_spec("s")
    assert spec is not None
    broken = dataclasses.replace(spec, decomposition=lambda: [("t", (), (0,))])
    monkeypatch.setitem(gate_module._REGISTRY, "s", broken)
    with pytest.raises(AssertionError, match="decomposition"):
        assert_gate_consistent(Gate("s"))


def test_gate_check_catches_a_wrong_inverse(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = gate_spec("t")
    assert spec is not None
    monkeypatch.setitem(gate_module._REGISTRY, "t", dataclasses.replace(spec, inverse=lambda: ("t", ())))
    with pytest.raises(AssertionError, match="inverse"):
        assert_gate_consistent(Gate("t"))


def test_gate_check_refuses_instructions() -> None:
    with pytest.raises(AssertionError, match="instruction"):
        assert_gate_consistent(Gate("measure"))


def test_random_circuit_is_seeded() -> None:
    a = random_circuit(5, 10, seed=3)
    assert a == random_circuit(5, 10, seed=3)
    assert a != random_circuit(5, 10, seed=4)
    assert a.depth() >= 10


def test_random_circuit_options() -> None:
    clifford = random_circuit(4, 8, seed=1, clifford=True)
    assert all(gate_spec(op.name).clifford for op in clifford)  # type: ignore[union-attr]
    chosen = random_circuit(3, 5, seed=2, gates=["h", "cx"])
    assert set(chosen.count_ops()) <= {"h", "cx"}
    swept = random_circuit(3, 6, seed=2, parameters=["theta"], gates=["rz", "rx", "cx"])
    assert swept.parameters == {"theta"}
    measured = random_circuit(3, 6, seed=5, measure=True, conditional=True)
    assert measured.count_ops()["measure"] == 4
    assert any(op.condition is not None for op in measured)
    assert qasm.loads(qasm.dumps(measured)) == measured
    with pytest.raises(ValueError, match="unknown gate"):
        random_circuit(2, 2, seed=0, gates=["nope"])


def test_random_circuits_round_trip_and_invert() -> None:
    for seed in range(10):
        c = random_circuit(4, 6, seed=seed, max_arity=4)
        assert qasm.loads(qasm.dumps(c)) == c
        assert_circuits_equivalent(c.inverse().inverse(), c)
        product = circuit_unitary(c.inverse()) @ circuit_unitary(c)
        assert np.allclose(product, np.eye(16), atol=1e-8)
    assert math.isfinite(random_circuit(1, 1, seed=0).depth())
