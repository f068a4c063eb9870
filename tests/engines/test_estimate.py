"""Expectation values of Pauli strings and sums, exact and from shots, ideal and noisy."""

from __future__ import annotations

import math

import pytest

from xihe.circuit import Circuit
from xihe.engines import NoiseModel, estimate
from xihe.engines.channels import depolarizing
from xihe.errors import ExecutionError


def bell() -> Circuit:
    qc = Circuit(2, 2)
    qc.h(0).cx(0, 1).measure([0, 1], [0, 1])
    return qc


def test_exact_pauli_strings_on_a_bell_state() -> None:
    assert estimate(bell(), "ZZ") == pytest.approx(1.0)
    assert estimate(bell(), "XX") == pytest.approx(1.0)
    assert estimate(bell(), "YY") == pytest.approx(-1.0)
    assert estimate(bell(), "ZI") == pytest.approx(0.0, abs=1e-12)


def test_qubit_zero_is_the_leftmost_letter() -> None:
    qc = Circuit(2)
    qc.x(0)
    assert estimate(qc, "ZI") == pytest.approx(-1.0)
    assert estimate(qc, "IZ") == pytest.approx(1.0)


def test_weighted_sum() -> None:
    assert estimate(bell(), {"ZZ": 0.5, "XX": 1.0, "II": -0.25}) == pytest.approx(1.25)


def test_sampled_estimate_is_close_and_seeded() -> None:
    qc = Circuit(1)
    qc.ry(1.0, 0)
    a = estimate(qc, {"Z": 1.0, "X": 0.5}, shots=20000, seed=3)
    b = estimate(qc, {"Z": 1.0, "X": 0.5}, shots=20000, seed=3)
    assert a == b
    assert a == pytest.approx(math.cos(1.0) + 0.5 * math.sin(1.0), abs=0.03)


def test_noisy_exact_estimate_uses_the_density_matrix() -> None:
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.2, 1), "x")
    qc = Circuit(1)
    qc.x(0)
    # <Z> of (1 - p)|1><1| + p I/2 is -(1 - p).
    assert estimate(qc, "Z", noise=nm) == pytest.approx(-0.8)


def test_bad_observable_is_refused() -> None:
    with pytest.raises(ExecutionError, match="letters"):
        estimate(bell(), "ZQ")
    with pytest.raises(ExecutionError, match="letters"):
        estimate(bell(), "ZZZ")
