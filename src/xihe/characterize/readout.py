"""Readout assignment fidelity per qubit: prepare all 0s, then all 1s, and count how often each qubit reads wrong.

As Qiskit Experiments' ``LocalReadoutError``: two circuits measure every chosen qubit at once, giving each qubit's
``P(1|0)`` and ``P(0|1)`` and its assignment fidelity ``1 - (P(1|0) + P(0|1))/2``. Intervals are Wilson score
intervals (exact enough near 0, where readout errors live); the fidelity's interval is the normal one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from xihe.characterize.experiment import Experiment, ExperimentResult, bit_probabilities
from xihe.characterize.fitting import Estimate
from xihe.circuit import Circuit
from xihe.results import Result

_Z95 = float(stats.norm.ppf(0.975))


def wilson(successes: float, trials: int, unit: str = "") -> Estimate:
    """A binomial proportion with its Wilson score 95% interval."""
    p = successes / trials
    z2 = _Z95**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = _Z95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
    low = max(0.0, centre - half) if successes > 0 else 0.0
    high = min(1.0, centre + half) if successes < trials else 1.0
    return Estimate(p, math.sqrt(p * (1 - p) / trials), low, high, unit)


class ReadoutFidelity(Experiment):
    """Assignment errors ``P(1|0)``, ``P(0|1)`` and fidelity of each qubit (estimates ``p1_given_0[q]`` ...)."""

    name = "readout"

    def circuits(self) -> list[Circuit]:
        zero = self.measure(self.new_circuit("prep0"))
        one = self.new_circuit("prep1")
        for q in self.qubits:
            one.x(q)
        return [zero, self.measure(one)]

    def analyse(self, results: Sequence[Result], circuits: Sequence[Circuit] | None = None) -> ExperimentResult:
        n = len(self.qubits)
        shots0, shots1 = (sum(r.counts.values()) for r in results)
        p1_0 = bit_probabilities(results[0], n)
        p1_1 = bit_probabilities(results[1], n)
        estimates: dict[str, Estimate] = {}
        for i, q in enumerate(self.qubits):
            e10 = wilson(p1_0[i] * shots0, shots0)
            e01 = wilson((1 - p1_1[i]) * shots1, shots1)
            fid = 1 - (e10.value + e01.value) / 2
            err = math.sqrt(e10.stderr**2 + e01.stderr**2) / 2
            estimates[f"p1_given_0[{q}]"] = e10
            estimates[f"p0_given_1[{q}]"] = e01
            # Conservative: both error rates at their Wilson bounds at once (stays sensible at zero errors).
            estimates[f"fidelity[{q}]"] = Estimate(fid, err, 1 - (e10.ci_high + e01.ci_high) / 2,
                                                   1 - (e10.ci_low + e01.ci_low) / 2)
        return ExperimentResult(
            self.name, self.qubits, estimates,
            data={"qubits": list(self.qubits), "p1_given_0": list(map(float, p1_0)),
                  "p0_given_1": list(map(float, 1 - p1_1)), "shots": [shots0, shots1]},
            metadata={"median_error": float(np.median([1 - estimates[f"fidelity[{q}]"].value
                                                       for q in self.qubits]))},
        )
