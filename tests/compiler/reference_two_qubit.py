"""The NumPy KAK decomposition that :mod:`xihe.compiler.kak_kernel` replaced (issue 19), kept as the test oracle."""

from __future__ import annotations

import math

import numpy as np

from xihe.compiler.kak_kernel import MAGIC, MAGIC_DAG, PAIRS

_PATTERN = np.array([np.real(np.diag(MAGIC_DAG @ p @ MAGIC)) for p in PAIRS] + [np.ones(4)]).T


def kak(u: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float], np.ndarray]:
    """``(K1, (a, b, c), K2)`` with ``u`` equal to ``K1 @ canonical(a, b, c) @ K2`` up to global phase."""
    u = u / np.linalg.det(u) ** 0.25
    up = MAGIC_DAG @ u @ MAGIC
    m2 = up.T @ up
    rng = np.random.default_rng(2024)
    p = None
    for _ in range(100):
        mix = rng.random()
        _, vecs = np.linalg.eigh(mix * m2.real + (1 - mix) * m2.imag)
        diag = vecs.T @ m2 @ vecs
        if np.abs(diag - np.diag(np.diag(diag))).max() <= 1e-10:
            p = vecs
            break
    if p is None:
        raise ValueError("KAK: could not diagonalise")
    if np.linalg.det(p) < 0:
        p[:, 0] = -p[:, 0]
    d2 = np.diag(p.T @ m2 @ p)
    d = np.sqrt(d2.astype(complex))
    o1 = up @ p @ np.diag(1 / d)
    if np.linalg.det(o1).real < 0:
        d[0] = -d[0]
        o1 = up @ p @ np.diag(1 / d)
    angles = np.angle(d)
    coords = np.linalg.lstsq(_PATTERN, angles, rcond=None)[0][:3]
    k1 = MAGIC @ o1.real.astype(complex) @ MAGIC_DAG
    k2 = MAGIC @ p.T.astype(complex) @ MAGIC_DAG
    # Move multiples of pi/2 out of each coordinate: exp(i pi/2 PP) = i PP, a local gate.
    reduced = []
    for coord, pair in zip(coords, PAIRS, strict=True):
        k = math.floor((coord + math.pi / 4 - 1e-10) / (math.pi / 2))
        coord -= k * math.pi / 2
        if k % 2:
            k1 = k1 @ pair
        reduced.append(float(coord))
    return k1, (reduced[0], reduced[1], reduced[2]), k2


def kron_factor(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` with ``k`` equal to ``kron(A, B)`` up to phase (``k`` must be local)."""
    r = k.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    uu, s, vh = np.linalg.svd(r)
    a = (uu[:, 0] * math.sqrt(s[0])).reshape(2, 2)
    b = (vh[0, :] * math.sqrt(s[0])).reshape(2, 2)
    a = a / math.sqrt(abs(np.linalg.det(a)))
    b = b / math.sqrt(abs(np.linalg.det(b)))
    return a, b
