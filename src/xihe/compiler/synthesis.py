"""Single-qubit synthesis: a 2x2 unitary as Euler rotations in a device's one-qubit basis.

ZYZ: ``U = e^{ia} Rz(phi) Ry(theta) Rz(lam)``, emitted in circuit order ``rz(lam) ry(theta) rz(phi)`` (one physical
pulse, the ``rz`` being virtual). ZXZ follows from ``Ry(t) = Rz(pi/2) Rx(t) Rz(-pi/2)``. Angles that vanish are
left out, so an identity becomes no operation at all.

>>> import numpy as np
>>> [name for name, _ in euler_ops(np.array([[0, 1], [1, 0]], dtype=complex), frozenset({"rz", "ry"}))]
['ry', 'rz']
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Iterable

import numpy as np

from xihe.errors import CompileError

ANGLE_TOLERANCE = 1e-11


def _wrap(angle: float) -> float:
    """The angle in (-pi, pi]."""
    a = math.remainder(angle, 2 * math.pi)
    return math.pi if a <= -math.pi + 1e-15 else a


def zyz_angles(u: np.ndarray) -> tuple[float, float, float]:
    """``(theta, phi, lam)`` with ``u = e^{ia} Rz(phi) Ry(theta) Rz(lam)`` (scalar arithmetic: this runs a lot)."""
    a, b, c, d = complex(u[0, 0]), complex(u[0, 1]), complex(u[1, 0]), complex(u[1, 1])
    root = cmath.sqrt(a * d - b * c)
    c, d, a = c / root, d / root, a / root
    theta = 2 * math.atan2(abs(c), abs(a))
    sum_half = cmath.phase(d)
    diff_half = cmath.phase(c)
    return theta, sum_half + diff_half, sum_half - diff_half


def _nonzero(angle: float) -> bool:
    return abs(_wrap(angle)) > ANGLE_TOLERANCE


def euler_ops(u: np.ndarray, basis: Iterable[str]) -> list[tuple[str, tuple[float, ...]]]:
    """Gate names and parameters, in circuit order, whose product equals ``u`` up to global phase."""
    basis = frozenset(basis)
    theta, phi, lam = zyz_angles(u)
    if "u3" in basis or "u" in basis:
        name = "u3" if "u3" in basis else "u"
        if not _nonzero(theta) and not _nonzero(phi + lam):
            return []
        return [(name, (_wrap(theta), _wrap(phi), _wrap(lam)))]
    if "rz" not in basis:
        raise CompileError(f"cannot synthesise one-qubit gates into the basis {sorted(basis)}: it has no 'rz'")
    if not _nonzero(theta):
        total = phi + lam
        return [("rz", (_wrap(total),))] if _nonzero(total) else []
    if abs(_wrap(theta) - math.pi) < ANGLE_TOLERANCE or abs(_wrap(theta) + math.pi) < ANGLE_TOLERANCE:
        # Rz(phi) R(pi) Rz(lam) = Rz(phi - lam) R(pi) for R = Ry or Rx (a pi rotation flips Z): one rz less.
        phi, lam = phi - lam, 0.0
    if "ry" in basis:
        middle = ("ry", theta)
        before, after = lam, phi
    elif "rx" in basis:
        middle = ("rx", theta)
        before, after = lam - math.pi / 2, phi + math.pi / 2
    else:
        raise CompileError(f"cannot synthesise one-qubit gates into the basis {sorted(basis)}: no 'rx' or 'ry'")
    out: list[tuple[str, tuple[float, ...]]] = []
    if _nonzero(before):
        out.append(("rz", (_wrap(before),)))
    out.append((middle[0], (_wrap(middle[1]),)))
    if _nonzero(after):
        out.append(("rz", (_wrap(after),)))
    return out


def is_diagonal(u: np.ndarray, atol: float = 1e-10) -> bool:
    return abs(u[0, 1]) < atol and abs(u[1, 0]) < atol


def is_x_like(u: np.ndarray, atol: float = 1e-10) -> bool:
    """Whether ``u`` is diagonal in the X basis (commutes with X)."""
    return abs(u[0, 0] - u[1, 1]) < atol and abs(u[0, 1] - u[1, 0]) < atol
