"""Cross-entropy benchmarking (XEB): layers of random one-qubit gates and two-qubit gates, fidelity vs depth.

Following Google's method (Arute et al., Nature 574, 505, 2019; Cirq's ``cirq.experiments.xeb``): each cycle applies
a random gate from {√X, √Y, √W} to every qubit (never the same one twice in a row on a qubit), then the two-qubit
gate on alternating pairs of the chain; a final one-qubit layer precedes measurement. For each circuit ``U`` with
ideal distribution ``p_U`` over ``D = 2^n`` outcomes, ``e_U = D Σ p_U² − 1`` and ``m_U = D ⟨p_U(x)⟩_samples − 1``;
the fidelity at a depth is the least-squares estimate ``F = Σ e_U m_U / Σ e_U²`` (Cirq's estimator, unbiased for
finite ``D``), with a jackknife standard error over circuits. ``F(d) = A p^d`` gives the depolarizing fidelity per
cycle ``p``; the Pauli error per cycle is ``(1 − p)(1 − 1/D²)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from xihe.characterize.experiment import Experiment, ExperimentResult, fit_data
from xihe.characterize.fitting import Estimate, fit_curve
from xihe.characterize.ideal import ideal_probabilities
from xihe.characterize.su4 import u3_angles
from xihe.circuit import Circuit
from xihe.circuit.standard_gates import SX, SY
from xihe.errors import XiheError
from xihe.results import Result

_SQRT_W = np.array([[1, -1j * np.exp(-1j * math.pi / 4)], [-1j * np.exp(1j * math.pi / 4), 1]]) / math.sqrt(2)
#: √X, √Y, √W as u3 angles (√W = exp(-i π/4 W) up to phase).
ONE_QUBIT_SET = tuple(u3_angles(m) for m in (SX, SY, _SQRT_W))

DEFAULT_DEPTHS = (1, 5, 10, 20, 40, 60, 80)


def _xeb_terms(probs: np.ndarray, result: Result, n: int) -> tuple[float, float]:
    d = probs.size
    total = sum(result.counts.values())
    sampled = sum(cnt * probs[int(key.replace(" ", "")[:n], 2)] for key, cnt in result.counts.items()) / total
    return d * float(probs @ probs) - 1, d * sampled - 1


class XEB(Experiment):
    """Linear XEB on a chain of ``qubits``; estimates ``fidelity_per_cycle`` and ``pauli_error_per_cycle``."""

    name = "xeb"

    def __init__(self, qubits: Sequence[int], depths: Sequence[int] = DEFAULT_DEPTHS, circuits_per_depth: int = 12,
                 two_qubit_gate: str = "cz", num_qubits: int | None = None, seed: int | None = None) -> None:
        super().__init__(qubits, num_qubits, seed)
        if len(self.qubits) < 2:
            raise XiheError("xeb: give a chain of at least 2 qubits")
        if two_qubit_gate not in ("cz", "cx"):
            raise XiheError("xeb: the two-qubit gate is 'cz' or 'cx'")
        self.depths = [int(d) for d in depths]
        if len(self.depths) < 3:
            raise XiheError("xeb: give at least 3 depths")
        self.circuits_per_depth = int(circuits_per_depth)
        self.two_qubit_gate = two_qubit_gate
        self.layout: list[int] = []

    def circuits(self) -> list[Circuit]:
        rng = np.random.default_rng(self.seed)
        out: list[Circuit] = []
        self.layout = []
        n = len(self.qubits)
        for depth in self.depths:
            for k in range(self.circuits_per_depth):
                qc = self.new_circuit(f"d{depth}-{k}")
                last = [-1] * n
                for cycle in range(depth + 1):
                    for i, q in enumerate(self.qubits):
                        choice = int(rng.choice([g for g in range(3) if g != last[i]]))
                        last[i] = choice
                        qc.u3(*ONE_QUBIT_SET[choice], q)
                    if cycle == depth:
                        break
                    for i in range(cycle % 2 if n > 2 else 0, n - 1, 2):
                        getattr(qc, self.two_qubit_gate)(self.qubits[i], self.qubits[i + 1])
                    qc.barrier(*self.qubits)
                out.append(self.measure(qc))
                self.layout.append(depth)
        return out

    def analyse(self, results: Sequence[Result], circuits: Sequence[Circuit] | None = None) -> ExperimentResult:
        logical = self.circuits()  # the same seeded circuits: ideal probabilities come from the logical ones
        n = len(self.qubits)
        terms = np.array([_xeb_terms(ideal_probabilities(c, list(self.qubits)), r, n)
                          for c, r in zip(logical, results, strict=True)])
        xs, ys, errs = [], [], []
        for depth in self.depths:
            idx = [i for i, d in enumerate(self.layout) if d == depth]
            e, m = terms[idx, 0], terms[idx, 1]
            fid = float(e @ m / (e @ e))
            jack = [float(np.delete(e, j) @ np.delete(m, j) / (np.delete(e, j) @ np.delete(e, j)))
                    for j in range(len(idx))]
            k = len(idx)
            stderr = math.sqrt((k - 1) / k * sum((f - np.mean(jack)) ** 2 for f in jack)) if k > 1 else 0.0
            xs.append(float(depth))
            ys.append(fid)
            errs.append(max(stderr, 1e-3))
        x, y, s = np.array(xs), np.array(ys), np.array(errs)
        p0 = float(np.clip((max(y[-1], 1e-3) / max(y[0], 1e-3)) ** (1 / max(x[-1] - x[0], 1)), 0.5, 0.9999))
        fit = fit_curve("A p^d", lambda d, a, p: a * np.power(p, d), x, y, s, (max(y[0], 0.1), p0), ("A", "p"),
                        bounds=([0.0, 0.0], [1.5, 1.0]))
        dim = 2**n
        estimates: dict[str, Estimate] = {
            "fidelity_per_cycle": fit.estimate("p"),
            "pauli_error_per_cycle": fit.derived(lambda v: (1 - float(v[1])) * (1 - 1 / dim**2)),
        }
        return ExperimentResult(
            self.name, self.qubits, estimates,
            data={"x": xs, "y": ys, "yerr": errs, "x_label": "cycles", "ylabel": "XEB fidelity"},
            fit=fit_data(fit, np.linspace(0, max(xs), 200)),
            metadata={"two_qubit_gate": self.two_qubit_gate, "circuits_per_depth": self.circuits_per_depth},
        )
