"""Coherence times from delay scans: T1 (relaxation), T2 Ramsey (free induction) and T2 echo (Hahn echo).

The circuits follow Qiskit Experiments' ``T1``, ``T2Ramsey`` and ``T2Hahn``, all qubits of the experiment scanned
at once:

- T1: ``x``, ``delay(t)``, measure; ``P(1) = A exp(-t/T1) + B``.
- T2 Ramsey: ``h``, ``delay(t)``, ``rz(2 pi f t)`` (a virtual detuning ``f`` so the fringes oscillate and the fit
  can tell decay from phase), ``h``, measure; ``P(1) = A exp(-t/T2*) cos(2 pi f' t + phi) + B``.
- T2 echo: ``h``, ``delay(t/2)``, ``x``, ``delay(t/2)``, ``h``, measure; ``P(1) = A exp(-t/T2) + B``
  (the echo refocuses static detuning, so no oscillation).

Times are in ns in the circuits and reported in µs. When the scan shows no decay (an ideal backend), the fit's
upper bound is reached and the estimate says ``resolved = False`` in the metadata: the time is longer than the scan
can tell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from xihe.characterize.experiment import Experiment, ExperimentResult, bit_probabilities, fit_data
from xihe.characterize.fitting import Estimate, Fit, FitError, binomial_sigma, damped_cosine, fit_curve
from xihe.circuit import Circuit
from xihe.results import Result

DEFAULT_TIME_NS = 30_000.0
# A decay time fitted beyond this multiple of the longest delay is not resolved by the scan.
_UNRESOLVED_FACTOR = 50.0


def default_delays(expected_ns: float, points: int = 13, span: float = 4.0) -> list[float]:
    """``points`` delays from 0 to ``span`` times the expected decay time (ns), rounded to 1 ns."""
    return [float(round(t)) for t in np.linspace(0.0, span * expected_ns, points)]


class _DelayScan(Experiment):
    """A scan over delays (ns); one circuit per delay measures every qubit."""

    unit = "us"

    def __init__(self, qubits: Sequence[int], delays_ns: Sequence[float] | None = None,
                 expected_ns: float = DEFAULT_TIME_NS, num_qubits: int | None = None,
                 seed: int | None = None) -> None:
        super().__init__(qubits, num_qubits, seed)
        self.delays_ns = [float(t) for t in (delays_ns if delays_ns is not None else default_delays(expected_ns))]
        if len(self.delays_ns) < 5:
            from xihe.errors import XiheError

            raise XiheError(f"{self.name}: give at least 5 delays")

    def analyse(self, results: Sequence[Result], circuits: Sequence[Circuit] | None = None) -> ExperimentResult:
        n = len(self.qubits)
        shots = np.array([sum(r.counts.values()) for r in results], dtype=float)
        p1 = np.array([bit_probabilities(r, n) for r in results])  # (delays, qubits)
        x = np.asarray(self.delays_ns)
        estimates: dict[str, Estimate] = {}
        fits: dict[str, dict] = {}
        resolved: dict[str, bool] = {}
        x_curve = np.linspace(0, x.max(), 200)
        for i, q in enumerate(self.qubits):
            y = p1[:, i]
            sigma = binomial_sigma(y, shots)
            try:
                fit = self.fit_one(x, y, sigma)
            except FitError as exc:
                resolved[str(q)] = False
                fits[str(q)] = {"error": str(exc)}
                continue
            est = fit.estimate("tau").scaled(1e-3, "us")
            amplitude = fit.estimate("A")
            resolved[str(q)] = bool(abs(amplitude.value) > 3 * amplitude.stderr
                                    and est.value < _UNRESOLVED_FACTOR * x.max() * 1e-3
                                    and est.stderr < est.value / 2)
            estimates[f"{self.quantity}[{q}]"] = est
            fits[str(q)] = fit_data(fit, x_curve)
        return ExperimentResult(
            self.name, self.qubits, estimates,
            data={"x": list(map(float, x)), "x_unit": "ns", "y": p1.T.tolist(), "ylabel": "P(1)",
                  "yerr": [list(map(float, binomial_sigma(p1[:, i], shots))) for i in range(n)]},
            fit={"per_qubit": fits},
            metadata={"resolved": resolved, "quantity": self.quantity},
        )

    quantity = "tau"

    def circuits(self) -> list[Circuit]:
        out = []
        for t in self.delays_ns:
            qc = self.new_circuit(f"{t:g}ns")
            self.sequence(qc, t)
            out.append(self.measure(qc))
        return out

    def sequence(self, qc: Circuit, t: float) -> None:
        """Append the experiment's gates and delays for total delay ``t`` (ns), before the measurement."""
        raise NotImplementedError

    def idle(self, qc: Circuit, duration_ns: float) -> None:
        """Every scanned qubit waits ``duration_ns``, fenced by barriers so that compiling neither moves gates
        across the wait nor drops it."""
        qc.barrier(*self.qubits)
        if duration_ns > 0:
            qc.delay(duration_ns, list(self.qubits))
        qc.barrier(*self.qubits)

    def fit_one(self, x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> Fit:
        raise NotImplementedError


def _exp_fit(model: str, x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> Fit:
    """``A exp(-t/tau) + B`` with ``tau`` in ns; starting values from the data's ends."""
    a0 = y[0] - y[-1]
    b0 = y[-1]
    target = b0 + a0 / math.e
    idx = int(np.argmin(np.abs(y - target)))
    tau0 = max(x[idx], x[1]) if x[idx] > 0 else x.max() / 3
    upper_tau = _UNRESOLVED_FACTOR * 10 * x.max()
    return fit_curve(model, lambda t, a, tau, b: a * np.exp(-t / tau) + b, x, y, sigma, (a0, tau0, b0),
                     ("A", "tau", "B"), bounds=([-1.5, x[1] / 10, -0.5], [1.5, upper_tau, 1.5]))


class T1(_DelayScan):
    """Energy relaxation time of each qubit (estimates ``t1[q]`` in µs)."""

    name = "t1"
    quantity = "t1"

    def sequence(self, qc: Circuit, t: float) -> None:
        for q in self.qubits:
            qc.x(q)
        self.idle(qc, t)

    def fit_one(self, x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> Fit:
        return _exp_fit("A exp(-t/T1) + B", x, y, sigma)


class T2Echo(_DelayScan):
    """Hahn-echo coherence time of each qubit (estimates ``t2_echo[q]`` in µs); ``t`` is the total delay."""

    name = "t2_echo"
    quantity = "t2_echo"

    def sequence(self, qc: Circuit, t: float) -> None:
        for q in self.qubits:
            qc.h(q)
        self.idle(qc, t / 2)
        for q in self.qubits:
            qc.x(q)
        self.idle(qc, t / 2)
        for q in self.qubits:
            qc.h(q)

    def fit_one(self, x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> Fit:
        return _exp_fit("A exp(-t/T2) + B", x, y, sigma)


class T2Ramsey(_DelayScan):
    """Ramsey (free-induction) dephasing time T2* of each qubit (estimates ``t2_ramsey[q]`` in µs).

    ``detuning_hz`` defaults to a few fringes over the scan (Qiskit Experiments sets ``osc_freq`` the same way).
    """

    name = "t2_ramsey"
    quantity = "t2_ramsey"

    def __init__(self, qubits: Sequence[int], delays_ns: Sequence[float] | None = None,
                 expected_ns: float = DEFAULT_TIME_NS, detuning_hz: float | None = None,
                 num_qubits: int | None = None, seed: int | None = None) -> None:
        if delays_ns is None:
            delays_ns = default_delays(expected_ns, points=31, span=3.0)
        super().__init__(qubits, delays_ns, expected_ns, num_qubits, seed)
        span_ns = max(self.delays_ns)
        self.detuning_hz = float(detuning_hz) if detuning_hz is not None else 4.0 / (span_ns * 1e-9)

    def sequence(self, qc: Circuit, t: float) -> None:
        for q in self.qubits:
            qc.h(q)
        self.idle(qc, t)
        angle = math.remainder(2 * math.pi * self.detuning_hz * t * 1e-9, 2 * math.pi)
        for q in self.qubits:
            if angle:
                qc.rz(angle, q)
            qc.h(q)

    def fit_one(self, x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> Fit:
        f0 = self.detuning_hz * 1e-9  # cycles per ns
        b0 = float(np.mean(y))
        a0 = float(max(y.max() - y.min(), 0.1) / 2)
        upper_tau = _UNRESOLVED_FACTOR * 10 * x.max()
        best: Fit | None = None
        for phase0 in (0.0, math.pi):
            for tau0 in (x.max() / 3, x.max()):
                try:
                    fit = fit_curve(
                        "A exp(-t/T2*) cos(2 pi f t + phi) + B",
                        lambda t, a, tau, f, ph, b: damped_cosine(t, a, 1 / tau, f, ph, b),
                        x, y, sigma, (a0, tau0, f0, phase0, b0), ("A", "tau", "f", "phi", "B"),
                        bounds=([0.0, x[1] / 10, 0.5 * f0, -2 * math.pi, -0.5],
                                [1.0, upper_tau, 1.5 * f0, 2 * math.pi, 1.5]),
                    )
                except FitError:
                    continue
                if best is None or fit.reduced_chi2 < best.reduced_chi2:
                    best = fit
        if best is None:
            raise FitError("T2 Ramsey: no starting point converged")
        return best
