"""Zero-noise extrapolation: values measured at noise factors ``lambda_i`` -> the value at ``lambda = 0``.

- ``richardson``: the polynomial through all points (degree ``n - 1``), read at 0. The result is a fixed linear
  combination ``sum_i gamma_i E_i`` with ``gamma_i = prod_{j != i} lambda_j / (lambda_j - lambda_i)``, so its
  variance is ``sum_i gamma_i^2 var_i`` exactly.
- ``exponential``: ``E(lambda) = a exp(-b lambda)`` (decay to 0, as a Pauli expectation under depolarizing-like
  noise), fitted by weighted least squares on ``ln |E|`` (weights ``E^2 / var``; equal weights when exact); the
  variance by the delta method. Where the values do not share one sign (no such curve) it falls back to
  Richardson and says so.

Both agree with mitiq's ``RichardsonFactory`` and ``ExpFactory(asymptote=0)`` (tests/mitigation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Extrapolated:
    """The zero-noise value, its variance, and the method actually used."""

    value: float
    variance: float
    method: str


def richardson(scales: Sequence[float], values: Sequence[float], variances: Sequence[float]) -> Extrapolated:
    """Richardson extrapolation through all points.

    >>> r = richardson([1, 3], [0.8, 0.4], [0.0, 0.0])
    >>> round(r.value, 12), r.variance
    (1.0, 0.0)
    """
    lam = [float(s) for s in scales]
    gammas = [math.prod(lam[j] / (lam[j] - lam[i]) for j in range(len(lam)) if j != i) for i in range(len(lam))]
    value = sum(g * float(v) for g, v in zip(gammas, values, strict=True))
    variance = sum(g * g * float(v) for g, v in zip(gammas, variances, strict=True))
    return Extrapolated(value, variance, "richardson")


def exponential(scales: Sequence[float], values: Sequence[float], variances: Sequence[float]) -> Extrapolated:
    """Fit ``a exp(-b lambda)``; read ``a``.

    >>> r = exponential([1, 3, 5], [0.5 * math.exp(-0.1 * s) for s in (1, 3, 5)], [0.0] * 3)
    >>> round(r.value, 12)
    0.5
    """
    vals = np.asarray(values, dtype=float)
    if np.any(vals == 0.0) or not (np.all(vals > 0) or np.all(vals < 0)):
        fallback = richardson(scales, values, variances)
        return Extrapolated(fallback.value, fallback.variance, "richardson (exponential fit impossible: the values "
                            "change sign)")
    sign = 1.0 if vals[0] > 0 else -1.0
    y = np.log(np.abs(vals))
    var_y = np.asarray(variances, dtype=float) / vals**2
    design = np.column_stack([np.ones(len(vals)), -np.asarray(scales, dtype=float)])
    exact = bool(np.any(var_y <= 0.0))
    weights = np.ones(len(vals)) if exact else 1.0 / var_y
    normal = design.T @ (weights[:, None] * design)
    inverse = np.linalg.inv(normal)
    coef = inverse @ (design.T @ (weights * y))
    value = sign * float(np.exp(coef[0]))
    variance = 0.0 if exact else value * value * float(inverse[0, 0])  # exact inputs have no spread
    return Extrapolated(value, variance, "exponential")


EXTRAPOLATORS: dict[str, Callable[[Sequence[float], Sequence[float], Sequence[float]], Extrapolated]] = {
    "richardson": richardson,
    "exponential": exponential,
}


def extrapolate(method: str, scales: Sequence[float], values: Sequence[float],
                variances: Sequence[float]) -> Extrapolated:
    """The zero-noise value by ``method`` (a key of :data:`EXTRAPOLATORS`)."""
    try:
        fit = EXTRAPOLATORS[method]
    except KeyError:
        raise ValueError(f"unknown extrapolation '{method}'; choose one of {sorted(EXTRAPOLATORS)}") from None
    return fit(scales, values, variances)
