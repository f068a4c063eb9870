"""This machine's memory bandwidth: the floor for one pass (read + write) over a state vector."""

from __future__ import annotations

import time

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _scale(src: np.ndarray, dst: np.ndarray, factor: float) -> None:
    for i in prange(src.size):
        dst[i] = src[i] * factor


def measure_bandwidth(nbytes: int = 1 << 30, repeats: int = 3) -> dict[str, float]:
    """Best read+write GB/s over ``repeats`` passes: numpy copy (one thread) and a numba parallel scale."""
    n = nbytes // 16
    src = np.ones(n, dtype=np.complex128)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch every page first
    best_copy = min(_timed(lambda: np.copyto(dst, src)) for _ in range(repeats))
    _scale(src, dst, 1.0)
    best_par = min(_timed(lambda: _scale(src, dst, 1.0)) for _ in range(repeats))
    return {"numpy_copy_gbs": 2 * nbytes / best_copy / 1e9, "parallel_scale_gbs": 2 * nbytes / best_par / 1e9}


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
