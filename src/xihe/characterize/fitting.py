"""Least-squares fits with covariance, and 95% confidence intervals for fitted and derived quantities.

Fits use :func:`scipy.optimize.curve_fit` with the binomial shot-noise standard error of each point as ``sigma``.
The covariance is scaled by the reduced chi-square when that exceeds 1 (the Particle Data Group's scale factor),
so model mismatch widens the intervals rather than hiding behind shot noise; intervals use Student's t quantile
for the fit's degrees of freedom. Derived quantities (T1 from a rate, error per Clifford from ``p``) carry their
uncertainty by the delta method.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats

from xihe.errors import XiheError


class FitError(XiheError):
    """A fit did not converge or the data cannot constrain it."""

    stage = "characterize"


@dataclass(frozen=True)
class Estimate:
    """A measured quantity: value, standard error and 95% confidence interval, in ``unit``."""

    value: float
    stderr: float
    ci_low: float
    ci_high: float
    unit: str = ""

    def contains(self, x: float) -> bool:
        return self.ci_low <= x <= self.ci_high

    def scaled(self, factor: float, unit: str | None = None) -> Estimate:
        lo, hi = sorted((self.ci_low * factor, self.ci_high * factor))
        return Estimate(self.value * factor, abs(self.stderr * factor), lo, hi, self.unit if unit is None else unit)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "stderr": self.stderr, "ci95": [self.ci_low, self.ci_high], "unit": self.unit}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        return cls(float(data["value"]), float(data["stderr"]), float(data["ci95"][0]), float(data["ci95"][1]),
                   str(data.get("unit", "")))

    def __str__(self) -> str:
        return f"{self.value:.4g} ± {self.stderr:.2g} {self.unit} (95% CI [{self.ci_low:.4g}, {self.ci_high:.4g}])"


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameter values, covariance, and the data it was fitted to."""

    model: str
    names: tuple[str, ...]
    values: np.ndarray
    covariance: np.ndarray
    dof: int
    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    reduced_chi2: float
    function: Callable[..., np.ndarray] = field(repr=False, compare=False)

    @property
    def t95(self) -> float:
        """Two-sided 95% quantile of Student's t for this fit's degrees of freedom."""
        return float(stats.t.ppf(0.975, max(self.dof, 1)))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def estimate(self, name: str, unit: str = "") -> Estimate:
        i = self.index(name)
        return self._interval(float(self.values[i]), float(math.sqrt(max(self.covariance[i, i], 0.0))), unit)

    def derived(self, function: Callable[[np.ndarray], float], unit: str = "") -> Estimate:
        """A function of the parameters, with its standard error by the delta method (numerical gradient)."""
        value = float(function(self.values))
        grad = np.zeros(len(self.values))
        for i, v in enumerate(self.values):
            h = 1e-6 * max(abs(v), 1e-9)
            up, down = self.values.copy(), self.values.copy()
            up[i] += h
            down[i] -= h
            grad[i] = (function(up) - function(down)) / (2 * h)
        var = float(grad @ self.covariance @ grad)
        return self._interval(value, math.sqrt(max(var, 0.0)), unit)

    def _interval(self, value: float, stderr: float, unit: str) -> Estimate:
        half = self.t95 * stderr
        return Estimate(value, stderr, value - half, value + half, unit)

    def curve(self, x: np.ndarray) -> np.ndarray:
        return self.function(np.asarray(x, dtype=float), *self.values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "parameters": dict(zip(self.names, map(float, self.values), strict=True)),
            "covariance": self.covariance.tolist(),
            "dof": self.dof,
            "reduced_chi2": self.reduced_chi2,
        }


def binomial_sigma(p: np.ndarray, shots: int | np.ndarray) -> np.ndarray:
    """Standard error of a probability estimated from ``shots`` samples, floored at one count (never zero)."""
    p = np.asarray(p, dtype=float)
    shots_arr = np.asarray(shots, dtype=float)
    floor = 1.0 / (shots_arr + 2)
    clipped = np.clip(p, floor, 1 - floor)
    return np.sqrt(clipped * (1 - clipped) / shots_arr)


def fit_curve(
    model: str,
    function: Callable[..., np.ndarray],
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    sigma: Sequence[float] | np.ndarray,
    p0: Sequence[float],
    names: Sequence[str],
    bounds: tuple[Sequence[float], Sequence[float]] | None = None,
) -> Fit:
    """Weighted least squares of ``function(x, *params)`` to ``y``; raises :class:`FitError` when it cannot."""
    xa, ya, sa = (np.asarray(v, dtype=float) for v in (x, y, sigma))
    dof = len(xa) - len(p0)
    if dof < 1:
        raise FitError(f"{model}: {len(xa)} points cannot fit {len(p0)} parameters")
    lower, upper = bounds if bounds is not None else ([-np.inf] * len(p0), [np.inf] * len(p0))
    start = np.clip(np.asarray(p0, dtype=float), np.asarray(lower, float) + 1e-12, np.asarray(upper, float) - 1e-12)
    try:
        values, cov = optimize.curve_fit(function, xa, ya, p0=start, sigma=sa, absolute_sigma=True,
                                         bounds=(lower, upper), maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise FitError(f"{model}: the fit did not converge ({exc})") from exc
    if not np.all(np.isfinite(cov)):
        raise FitError(f"{model}: the data do not constrain every parameter (infinite covariance)")
    residuals = (ya - function(xa, *values)) / sa
    chi2 = float(residuals @ residuals) / dof
    cov = cov * max(chi2, 1.0)
    return Fit(model, tuple(names), np.asarray(values), np.asarray(cov), dof, xa, ya, sa, chi2, function)


def exponential_decay(x: np.ndarray, a: float, rate: float, b: float) -> np.ndarray:
    """``a exp(-rate x) + b``."""
    return a * np.exp(-rate * x) + b


def power_decay(m: np.ndarray, a: float, p: float, b: float) -> np.ndarray:
    """``a p^m + b`` (randomized benchmarking, XEB)."""
    return a * np.power(p, m) + b


def damped_cosine(x: np.ndarray, a: float, rate: float, freq: float, phase: float, b: float) -> np.ndarray:
    """``a exp(-rate x) cos(2 pi freq x + phase) + b`` (Ramsey fringes)."""
    return a * np.exp(-rate * x) * np.cos(2 * np.pi * freq * x + phase) + b
