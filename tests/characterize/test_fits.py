"""Fits on synthetic data with known parameters (seeded): the 95% intervals contain the truth."""

from __future__ import annotations

import math

import numpy as np

from xihe.characterize.coherence import T1, T2Echo, T2Ramsey
from xihe.characterize.fitting import Estimate, binomial_sigma, fit_curve, power_decay
from xihe.characterize.rb import RandomizedBenchmarking
from xihe.characterize.readout import ReadoutFidelity

from .helpers import bit_result, sampled_result


def test_t1_interval_contains_the_true_value() -> None:
    rng = np.random.default_rng(0)
    exp = T1([3], expected_ns=40_000, num_qubits=5)
    probs = [0.93 * math.exp(-t / 40_000) + 0.03 for t in exp.delays_ns]
    result = exp.analyse([bit_result(p, 2000, rng) for p in probs])
    assert result["t1[3]"].contains(40.0)
    assert result["t1[3]"].unit == "us"
    assert result.metadata["resolved"]["3"]


def test_echo_and_ramsey_recover_t2() -> None:
    rng = np.random.default_rng(1)
    echo = T2Echo([0], expected_ns=25_000)
    probs = [0.5 - 0.46 * math.exp(-t / 25_000) for t in echo.delays_ns]
    assert echo.analyse([bit_result(p, 2000, rng) for p in probs])["t2_echo[0]"].contains(25.0)
    ramsey = T2Ramsey([0], expected_ns=15_000)
    f = ramsey.detuning_hz * 1e-9
    probs = [0.5 - 0.47 * math.exp(-t / 15_000) * math.cos(2 * math.pi * f * t) for t in ramsey.delays_ns]
    assert ramsey.analyse([bit_result(p, 2000, rng) for p in probs])["t2_ramsey[0]"].contains(15.0)


def test_unresolved_decay_is_flagged_on_a_flat_scan() -> None:
    rng = np.random.default_rng(2)
    exp = T1([0], delays_ns=[0, 1000, 2000, 3000, 4000, 5000])
    result = exp.analyse([bit_result(1.0, 500, rng) for _ in exp.delays_ns])
    assert not result.metadata["resolved"]["0"]


def test_readout_intervals_contain_the_confusion() -> None:
    rng = np.random.default_rng(3)
    exp = ReadoutFidelity([0, 1])
    zero = sampled_result({"00": 0.98 * 0.97, "10": 0.02 * 0.97, "01": 0.98 * 0.03, "11": 0.02 * 0.03}, 4000, rng)
    one = sampled_result({"11": 0.95 * 0.9, "01": 0.05 * 0.9, "10": 0.95 * 0.1, "00": 0.05 * 0.1}, 4000, rng)
    result = exp.analyse([zero, one])
    assert result["p1_given_0[0]"].contains(0.02) and result["p1_given_0[1]"].contains(0.03)
    assert result["p0_given_1[0]"].contains(0.05) and result["p0_given_1[1]"].contains(0.10)
    assert result["fidelity[1]"].contains(1 - (0.03 + 0.10) / 2)


def test_rb_recovers_error_per_clifford_from_its_decay() -> None:
    rng = np.random.default_rng(4)
    exp = RandomizedBenchmarking([0], lengths=[1, 20, 50, 100, 200, 400], samples=5, seed=1)
    circuits = exp.circuits()
    p = 0.995
    results = [bit_result(1 - (0.47 * p**m + 0.5), 1000, rng) for _, m, _ in exp.layout]
    out = exp.analyse(results, circuits)
    assert out["epc[0]"].contains((1 - p) / 2)
    assert out["alpha[0]"].contains(p)
    per_clifford = out.data["groups"]["0"]["gates_per_clifford"]["1q"]
    assert 0.8 < per_clifford < 1.0  # one u3 per Clifford, none for the identity
    assert math.isclose(out["epg[0]"].value, out["epc[0]"].value / per_clifford)


def test_coverage_of_the_intervals_is_about_95_percent() -> None:
    rng = np.random.default_rng(5)
    x = np.arange(0, 200, 20.0)
    hits = 0
    trials = 200
    for _ in range(trials):
        truth = 0.7 * 0.99**x + 0.25
        y = rng.binomial(500, truth) / 500
        fit = fit_curve("rb", power_decay, x, y, binomial_sigma(y, 500), (0.7, 0.98, 0.25), ("A", "p", "B"))
        hits += fit.estimate("p").contains(0.99)
    assert 0.88 <= hits / trials <= 0.995


def test_estimate_round_trips_through_a_dict() -> None:
    e = Estimate(1.5, 0.1, 1.3, 1.7, "us")
    assert Estimate.from_dict(e.to_dict()) == e
