"""Compiled (numba) kernels for the MPS engine's hot paths: the two-site gate update and small-bond sampling.

The MPS engine spends its time in many small operations (a GHZ chain has bond dimension 2; a noisy run replays
hundreds of trajectories), where NumPy's per-call overhead (einsum parsing, tensordot reshapes, the SVD wrapper)
costs more than the arithmetic. :func:`two_site` does contraction, gate, SVD and truncation of two neighbouring
sites in one compiled call; :func:`sample_chain` draws shots from a chain of small tensors with one compiled loop
instead of a dozen NumPy calls per site. The SVD is LAPACK's ``gesdd`` through numba, as NumPy's is.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Above this bond dimension the NumPy paths (BLAS-backed, batched over shots) are faster than these loops.
SMALL_BOND = 16


@njit(cache=True, nogil=True)
def two_site(a: np.ndarray, b: np.ndarray, u: np.ndarray, cutoff: float, max_keep: int
             ) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Apply the 4x4 ``u`` (site ``a``'s qubit most significant) to neighbours ``a (cl,2,cm)`` and ``b (cm,2,cr)``.

    Returns the new left-orthonormal ``a``, the new ``b`` (holding the norm), the dropped weight and the total
    weight; at most ``max_keep`` singular values are kept, and the smallest whose weight is at most ``cutoff`` of
    the total are dropped (the kept ones are rescaled to the total).
    """
    cl, cm, cr = a.shape[0], a.shape[2], b.shape[2]
    left = np.ascontiguousarray(a).reshape(cl * 2, cm)
    right = np.ascontiguousarray(b).reshape(cm, 2 * cr)
    theta = (left @ right).reshape(cl, 2, 2, cr)
    out = np.zeros((cl, 2, 2, cr), dtype=np.complex128)
    for x in range(cl):
        for r in range(4):
            for c in range(4):
                w = u[r, c]
                if w == 0:
                    continue
                ri, rj, ci, cj = r >> 1, r & 1, c >> 1, c & 1
                for y in range(cr):
                    out[x, ri, rj, y] += w * theta[x, ci, cj, y]
    mat = out.reshape(cl * 2, 2 * cr)
    uu, s, vh = np.linalg.svd(mat, full_matrices=False)
    weights = s * s
    total = weights.sum()
    keep = s.size
    dropped = 0.0
    if total > 0.0:
        tail = 0.0
        while keep > 1 and tail + weights[keep - 1] <= cutoff * total:
            tail += weights[keep - 1]
            keep -= 1
        while keep > max_keep:
            tail += weights[keep - 1]
            keep -= 1
        dropped = tail
    else:
        keep = 1
    scale = np.sqrt(total / (total - dropped)) if dropped > 0.0 else 1.0
    new_a = np.ascontiguousarray(uu[:, :keep]).reshape(cl, 2, keep)
    new_b = np.empty((keep, 2 * cr), dtype=np.complex128)
    for i in range(keep):
        f = s[i] * scale
        for j in range(2 * cr):
            new_b[i, j] = f * vh[i, j]
    return new_a, new_b.reshape(keep, 2, cr), dropped, total


@njit(cache=True, nogil=True)
def sample_chain(flat: np.ndarray, offsets: np.ndarray, chis: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Bits of ``uniforms.shape[0]`` shots from a chain in any gauge (no canonical form needed): site ``i`` is
    ``flat[offsets[i]:]`` of shape ``(chis[i], 2, chis[i + 1])``.

    Right environments ``R[i][x, x'] = sum A[x,s,y] conj(A[x',s,y']) R[i+1][y, y']`` are built once from the
    right (``n chi^3``); each shot then walks left to right with its prefix vector ``e``: outcome ``s`` of site
    ``i`` has weight ``v_s R[i+1] v_s^dagger`` with ``v_s = e A[:, s, :]`` (``n chi^2`` per shot).
    """
    shots, n = uniforms.shape
    roff = np.zeros(n + 2, dtype=np.int64)
    for i in range(n + 1):
        roff[i + 1] = roff[i] + chis[i] * chis[i]
    renv = np.zeros(roff[n + 1], dtype=np.complex128)
    renv[roff[n]] = 1.0
    for i in range(n - 1, -1, -1):
        cl, cr = chis[i], chis[i + 1]
        base = offsets[i]
        nxt = roff[i + 1]
        for x in range(cl):
            for xp in range(cl):
                acc = 0j
                for s in range(2):
                    for y in range(cr):
                        a = flat[base + (x * 2 + s) * cr + y]
                        if a == 0:
                            continue
                        for yp in range(cr):
                            acc += a * np.conj(flat[base + (xp * 2 + s) * cr + yp]) * renv[nxt + y * cr + yp]
                renv[roff[i] + x * cl + xp] = acc
    bits = np.zeros((shots, n), dtype=np.uint8)
    cmax = chis.max()
    env = np.empty(cmax, dtype=np.complex128)
    v0 = np.empty(cmax, dtype=np.complex128)
    v1 = np.empty(cmax, dtype=np.complex128)
    for shot in range(shots):
        env[0] = 1.0
        for i in range(n):
            cl, cr = chis[i], chis[i + 1]
            base = offsets[i]
            nxt = roff[i + 1]
            for y in range(cr):
                acc0 = 0j
                acc1 = 0j
                for x in range(cl):
                    e = env[x]
                    acc0 += e * flat[base + (x * 2) * cr + y]
                    acc1 += e * flat[base + (x * 2 + 1) * cr + y]
                v0[y] = acc0
                v1[y] = acc1
            p0 = 0.0
            p1 = 0.0
            for y in range(cr):
                for yp in range(cr):
                    r = renv[nxt + y * cr + yp]
                    p0 += (v0[y] * np.conj(v0[yp]) * r).real
                    p1 += (v1[y] * np.conj(v1[yp]) * r).real
            p0 = max(p0, 0.0)
            p1 = max(p1, 0.0)
            one = uniforms[shot, i] * (p0 + p1) < p1
            bits[shot, i] = 1 if one else 0
            f = 1.0 / np.sqrt(p1 if one else p0)
            for y in range(cr):
                env[y] = (v1[y] if one else v0[y]) * f
    return bits


@njit(cache=True, nogil=True)
def shift_right(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the orthogonality centre from site ``a (cl,2,cm)`` to its right neighbour ``b (cm,2,cr)``: ``a = QR``,
    ``a <- Q`` (left-orthonormal), ``b <- R b`` (one compiled QR instead of NumPy's dozen calls)."""
    cl, cm, cr = a.shape[0], a.shape[2], b.shape[2]
    q, r = np.linalg.qr(np.ascontiguousarray(a).reshape(cl * 2, cm))
    k = q.shape[1]
    nb = r @ np.ascontiguousarray(b).reshape(cm, 2 * cr)
    return np.ascontiguousarray(q).reshape(cl, 2, k), nb.reshape(k, 2, cr)


@njit(cache=True, nogil=True)
def shift_left(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the orthogonality centre from site ``b (cm,2,cr)`` to its left neighbour ``a (cl,2,cm)``:
    ``b^T = QR``, ``b <- Q^T`` (right-orthonormal), ``a <- a R^T``."""
    cl, cm, cr = a.shape[0], a.shape[2], b.shape[2]
    q, r = np.linalg.qr(np.ascontiguousarray(b).reshape(cm, 2 * cr).T.copy())
    k = q.shape[1]
    na = np.ascontiguousarray(a).reshape(cl * 2, cm) @ np.ascontiguousarray(r.T)
    return na.reshape(cl, 2, k), np.ascontiguousarray(q.T).reshape(k, 2, cr)
