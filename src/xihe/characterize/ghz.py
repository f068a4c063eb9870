"""GHZ-state fidelity for growing n, from populations and parity oscillations (the full fidelity, not a bound).

For ``|GHZ_n> = (|0…0> + |1…1>)/√2`` prepared by ``h`` and a CNOT chain along coupled ``qubits``, the fidelity is
``F = (P_0…0 + P_1…1)/2 + |ρ_{0…0,1…1}|`` (Sackett et al., Nature 404, 256, 2000; Omran et al., Science 365, 570,
2019). The populations come from one circuit measured in Z; the coherence from parity oscillations: ``rz(φ)`` on
every qubit, then ``h`` and measurement give ``<P(φ)> = 2|ρ_{0…0,1…1}| cos(nφ + φ_0)``, sampled at
``φ_j = jπ/(n+1)``, ``j = 0…2n+1``; the amplitude ``C`` is the linear least-squares fit of ``cos nφ`` and
``sin nφ``, so ``F = (P_0…0 + P_1…1)/2 + C/2``. ``F > 1/2`` witnesses genuine n-partite entanglement. No readout
mitigation: the figure includes readout error, as a user's circuit would see it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from xihe.characterize.experiment import Experiment, ExperimentResult
from xihe.characterize.fitting import Estimate
from xihe.circuit import Circuit, ClassicalRegister, QuantumRegister
from xihe.errors import XiheError
from xihe.results import Result

_Z95 = 1.959963984540054


def _phases(n: int) -> list[float]:
    return [j * math.pi / (n + 1) for j in range(2 * n + 2)]


class GHZFidelity(Experiment):
    """GHZ fidelity on the first ``n`` of a coupled chain ``qubits``, for each ``n`` in ``sizes``.

    Estimates ``fidelity[n]`` (and ``populations[n]``, ``coherence[n]``).
    """

    name = "ghz"

    def __init__(self, qubits: Sequence[int], sizes: Sequence[int] | None = None, num_qubits: int | None = None,
                 seed: int | None = None) -> None:
        super().__init__(qubits, num_qubits, seed)
        self.sizes = [int(n) for n in (sizes if sizes is not None else range(2, len(self.qubits) + 1))]
        if not self.sizes or min(self.sizes) < 2 or max(self.sizes) > len(self.qubits):
            raise XiheError(f"ghz: sizes must be between 2 and {len(self.qubits)}")

    def _prepare(self, n: int, label: str) -> Circuit:
        chain = self.qubits[:n]
        qc = Circuit(QuantumRegister("q", self.num_qubits), ClassicalRegister("c", n), name=f"ghz{n}-{label}")
        qc.h(chain[0])
        for a, b in itertools.pairwise(chain):
            qc.cx(a, b)
        qc.barrier(*chain)
        return qc

    def circuits(self) -> list[Circuit]:
        out = []
        for n in self.sizes:
            chain = list(self.qubits[:n])
            out.append(self._prepare(n, "z").measure(chain, list(range(n))))
            for j, phi in enumerate(_phases(n)):
                qc = self._prepare(n, f"parity{j}")
                for q in chain:
                    if phi:
                        qc.rz(phi, q)
                    qc.h(q)
                out.append(qc.measure(chain, list(range(n))))
        return out

    def analyse(self, results: Sequence[Result], circuits: Sequence[Circuit] | None = None) -> ExperimentResult:
        estimates: dict[str, Estimate] = {}
        data: dict[str, dict] = {}
        i = 0
        for n in self.sizes:
            pop = results[i]
            shots = sum(pop.counts.values())
            s = (pop.counts.get("0" * n, 0) + pop.counts.get("1" * n, 0)) / shots
            var_s = s * (1 - s) / shots
            phases = np.array(_phases(n))
            parity = []
            var_p = []
            for r in results[i + 1:i + 1 + len(phases)]:
                total = sum(r.counts.values())
                value = sum(cnt * (-1) ** key.count("1") for key, cnt in r.counts.items()) / total
                parity.append(value)
                var_p.append(max(1 - value**2, 1.0 / total) / total)
            i += 1 + len(phases)
            design = np.column_stack([np.cos(n * phases), np.sin(n * phases), np.ones_like(phases)])
            weights = 1 / np.array(var_p)
            cov = np.linalg.inv(design.T @ (design * weights[:, None]))
            coef = cov @ design.T @ (weights * np.array(parity))
            residual = np.array(parity) - design @ coef
            chi2 = float(residual @ (weights * residual)) / max(len(phases) - 3, 1)
            cov = cov * max(chi2, 1.0)  # as in fitting.fit_curve: mismatch widens, never narrows, the interval
            amplitude = float(math.hypot(coef[0], coef[1]))
            grad = np.array([coef[0], coef[1], 0.0]) / max(amplitude, 1e-12)
            var_c = float(grad @ cov @ grad)
            fidelity = s / 2 + amplitude / 2
            stderr = math.sqrt(var_s / 4 + var_c / 4)
            estimates[f"fidelity[{n}]"] = Estimate(fidelity, stderr, fidelity - _Z95 * stderr,
                                                   fidelity + _Z95 * stderr)
            estimates[f"populations[{n}]"] = Estimate(s, math.sqrt(var_s), s - _Z95 * math.sqrt(var_s),
                                                      s + _Z95 * math.sqrt(var_s))
            estimates[f"coherence[{n}]"] = Estimate(amplitude, math.sqrt(var_c), amplitude - _Z95 * math.sqrt(var_c),
                                                    amplitude + _Z95 * math.sqrt(var_c))
            data[str(n)] = {"phases": phases.tolist(), "parity": parity,
                            "parity_err": [math.sqrt(v) for v in var_p],
                            "fit": [float(c) for c in coef]}
        return ExperimentResult(
            self.name, self.qubits, estimates,
            data={"sizes": self.sizes, "per_size": data,
                  "fidelity": [estimates[f"fidelity[{n}]"].value for n in self.sizes],
                  "fidelity_err": [estimates[f"fidelity[{n}]"].stderr for n in self.sizes]},
            metadata={"method": "populations + parity oscillations (full fidelity)", "readout_mitigated": False},
        )
