"""Quantum volume: the heavy-output test on random SU(4) model circuits (Cross et al., PRA 100, 032328, 2019).

A width-``n`` model circuit has ``n`` layers; each layer pairs the qubits by a random permutation and applies a
Haar-random SU(4) to each pair (synthesised exactly with three CNOTs, :mod:`xihe.characterize.su4`). The heavy
outputs of a circuit are the bitstrings whose ideal probability exceeds the median. The backend passes width ``n``
when the mean heavy-output frequency over ``trials`` circuits exceeds 2/3 by two standard errors,
``h̄ − 2 sqrt(h̄ (1 − h̄) / trials) > 2/3`` (a one-sided 97.7% confidence, as Cross et al. and Qiskit
Experiments use). Quantum volume is ``2^n`` for the largest ``n`` that passes with every smaller width passing too.
The circuits are logical: the backend's compiler lays them out and routes them (``needs_compiler``), as for any user.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from xihe.characterize.experiment import Experiment, ExperimentResult
from xihe.characterize.fitting import Estimate
from xihe.characterize.ideal import ideal_probabilities
from xihe.characterize.su4 import haar_unitary, su4_operations
from xihe.circuit import Circuit
from xihe.errors import XiheError
from xihe.results import Result

THRESHOLD = 2.0 / 3.0
#: Asymptotic ideal heavy-output probability of Porter-Thomas distributions, (1 + ln 2)/2.
IDEAL_HOP_LIMIT = (1 + math.log(2)) / 2


def model_circuit(n: int, rng: np.random.Generator, name: str = "qv") -> Circuit:
    """One width-``n``, depth-``n`` quantum-volume model circuit (without measurements)."""
    qc = Circuit(n, n, name=name)
    for _ in range(n):
        perm = rng.permutation(n)
        for k in range(n // 2):
            a, b = int(perm[2 * k]), int(perm[2 * k + 1])
            for gate, params, qubits in su4_operations(haar_unitary(4, rng), a, b):
                qc.append(gate, qubits, params)
    return qc


def heavy_outputs(probabilities: np.ndarray) -> np.ndarray:
    """Indices of the outcomes with probability above the median."""
    return np.flatnonzero(probabilities > np.median(probabilities))


class QuantumVolume(Experiment):
    """The heavy-output test at width ``n``: estimate ``heavy_output_probability``, metadata ``passed``."""

    name = "quantum_volume"
    needs_compiler = True

    def __init__(self, n: int, trials: int = 100, seed: int | None = None) -> None:
        if n < 2:
            raise XiheError("quantum volume: the width n must be at least 2")
        super().__init__(range(n), n, seed)
        self.n = int(n)
        self.trials = int(trials)
        self._ideal: list[np.ndarray] = []

    def circuits(self) -> list[Circuit]:
        rng = np.random.default_rng(self.seed)
        out = []
        self._ideal = []
        for k in range(self.trials):
            qc = model_circuit(self.n, rng, name=f"qv{self.n}-{k}")
            self._ideal.append(ideal_probabilities(qc))
            out.append(qc.measure(list(range(self.n)), list(range(self.n))))
        return out

    def analyse(self, results: Sequence[Result], circuits: Sequence[Circuit] | None = None) -> ExperimentResult:
        if not self._ideal:
            self.circuits()
        hops = []
        ideal_hops = []
        for probs, result in zip(self._ideal, results, strict=True):
            heavy = {format(int(i), f"0{self.n}b") for i in heavy_outputs(probs)}
            total = sum(result.counts.values())
            hops.append(sum(c for k, c in result.counts.items() if k.replace(" ", "") in heavy) / total)
            ideal_hops.append(float(probs[heavy_outputs(probs)].sum()))
        predicted = _predicted_hop(results, ideal_hops)
        mean = float(np.mean(hops))
        sigma = math.sqrt(mean * (1 - mean) / self.trials)
        passed = mean - 2 * sigma > THRESHOLD
        confidence = float(stats.norm.cdf((mean - THRESHOLD) / sigma)) if sigma > 0 else float(mean > THRESHOLD)
        estimate = Estimate(mean, sigma, mean - 1.959963984540054 * sigma, mean + 1.959963984540054 * sigma)
        ideal_mean = float(np.mean(ideal_hops))
        return ExperimentResult(
            self.name, self.qubits, {"heavy_output_probability": estimate},
            data={"hops": hops, "ideal_hops": ideal_hops, "x_label": "circuit", "ylabel": "heavy-output frequency"},
            metadata={"n": self.n, "trials": self.trials, "passed": bool(passed), "confidence": confidence,
                      "threshold": THRESHOLD, "ideal_mean": ideal_mean,
                      "two_qubit_gates_per_circuit": 3 * self.n * (self.n // 2),
                      "predicted_hop": predicted},
        )


def _predicted_hop(results: Sequence[Result], ideal_hops: Sequence[float]) -> float | None:
    """Heavy-output probability the calibration predicts: ``ESP h_ideal + (1 - ESP)/2`` averaged over circuits.

    ``ESP`` is the compiler's estimated success probability of each compiled circuit (product of its gates' and
    readouts' fidelities); an error anywhere is assumed to scramble the output, which then lands in the heavy half
    with probability 1/2 (the premise of XEB and QV for random circuits). ``None`` without compiler statistics.
    """
    values = []
    for result, ideal in zip(results, ideal_hops, strict=True):
        stats_ = result.metadata.get("compiled_stats") or {}
        esp = stats_.get("estimated_success_probability")
        if esp is None:
            return None
        values.append(float(esp) * ideal + (1 - float(esp)) / 2)
    return float(np.mean(values)) if values else None


def pass_probability(expected_hop: float, trials: int) -> float:
    """Chance that a backend whose mean heavy-output probability is ``expected_hop`` passes the 2-sigma rule with
    ``trials`` circuits (normal approximation, the rule's own binomial sigma): how far from a coin flip a width is.

    >>> round(pass_probability(0.762, 100), 2), round(pass_probability(0.762, 300), 2)
    (0.59, 0.97)
    """
    sigma = math.sqrt(expected_hop * (1 - expected_hop) / trials)
    return float(stats.norm.cdf((expected_hop - THRESHOLD) / sigma - 2.0))


def quantum_volume(results: Sequence[ExperimentResult]) -> int:
    """``2^n`` for the largest width ``n`` that passed with all smaller tested widths passing (1 if none)."""
    best = 0
    for r in sorted(results, key=lambda r: int(r.metadata["n"])):
        if not r.metadata["passed"]:
            break
        best = int(r.metadata["n"])
    return 2**best if best else 1
