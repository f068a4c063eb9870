"""1q fusion and commutation-aware cancellation as compiled kernels (numba) over an array form of the gate list.

The optimisation loop ran in Python over :class:`~xihe.circuit.Operation` objects and was most of the compile time
(issue 19). Here a gate list is a set of flat arrays, one row per operation:

- ``qptr``/``qidx``/``qtyp``: each operation's qubits (CSR) and, per qubit, how it acts there for commutation
  (``TYPE_NONE``, ``TYPE_Z``: diagonal, ``TYPE_X``: diagonal in the X basis; see :mod:`.optimize`);
- ``kind``: ``KIND_1Q`` (an unconditioned one-qubit unitary with its matrix in ``mats``), ``KIND_SI2Q`` (an
  unconditioned self-inverse two-qubit gate, ``code2`` naming it and ``sym2`` saying whether its qubits commute),
  ``KIND_OTHER`` (anything else: it only blocks);
- ``is2q``: a unitary on two qubits (what the loop counts); ``native``: a one-qubit gate of the basis as it is;
  ``isrz``: an ``rz``;
- ``src``: the source operation's index, or -1 for a gate the kernel wrote, whose name (``gname``: ``G_RZ``,
  ``G_RX``, ``G_RY``, ``G_U3``) and parameters (``gpar``) are the row's.

:mod:`.optimize` builds the arrays and turns rows back into operations; the semantics are those of the Python passes
they replace, kept in ``tests/compiler/reference_optimize.py`` as the test oracle.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
from numba import njit

KIND_1Q = 0
KIND_SI2Q = 1
KIND_OTHER = 2
TYPE_NONE = 0
TYPE_Z = 1
TYPE_X = 2
G_RZ = 0
G_RX = 1
G_RY = 2
G_U3 = 3
ANGLE_TOLERANCE = 1e-11
MERGE_TOLERANCE = 1e-11
SCAN_WINDOW = 400
TWO_PI = 2 * math.pi


@njit(cache=True)
def remainder(x: float, y: float) -> float:
    """IEEE ``remainder(x, y)`` as :func:`math.remainder` (numba has none): ``fmod`` and one exact subtraction."""
    r = np.fmod(x, y)
    half = 0.5 * y
    if abs(r) > half:
        r = r - y if r > 0 else r + y
    elif abs(r) == half:
        q = round((x - r) / y)
        if q % 2 != 0:
            r = r - y if r > 0 else r + y
    return r


@njit(cache=True)
def wrap(angle: float) -> float:
    """The angle in (-pi, pi]."""
    a = remainder(angle, TWO_PI)
    return math.pi if a <= -math.pi + 1e-15 else a


@njit(cache=True)
def nonzero(angle: float) -> bool:
    return abs(wrap(angle)) > ANGLE_TOLERANCE


@njit(cache=True)
def zyz(m: np.ndarray) -> tuple[float, float, float]:
    """``(theta, phi, lam)`` with ``m = e^{ia} Rz(phi) Ry(theta) Rz(lam)`` (as :func:`..synthesis.zyz_angles`)."""
    a = m[0, 0]
    b = m[0, 1]
    c = m[1, 0]
    d = m[1, 1]
    root = cmath.sqrt(a * d - b * c)
    c = c / root
    d = d / root
    a = a / root
    theta = 2 * math.atan2(abs(c), abs(a))
    sum_half = cmath.phase(d)
    diff_half = cmath.phase(c)
    return theta, sum_half + diff_half, sum_half - diff_half


@njit(cache=True)
def gate_mat(name: int, p0: float, p1: float, p2: float, out: np.ndarray) -> None:
    """The matrix of a gate the kernel writes (Xihe's conventions: ``rz(t) = diag(e^{-it/2}, e^{it/2})``...)."""
    c = math.cos(p0 / 2)
    s = math.sin(p0 / 2)
    if name == G_RZ:
        out[0, 0] = cmath.exp(-0.5j * p0)
        out[0, 1] = 0
        out[1, 0] = 0
        out[1, 1] = cmath.exp(0.5j * p0)
    elif name == G_RX:
        out[0, 0] = c
        out[0, 1] = -1j * s
        out[1, 0] = -1j * s
        out[1, 1] = c
    elif name == G_RY:
        out[0, 0] = c
        out[0, 1] = -s
        out[1, 0] = s
        out[1, 1] = c
    else:
        out[0, 0] = c
        out[0, 1] = -cmath.exp(1j * p2) * s
        out[1, 0] = cmath.exp(1j * p1) * s
        out[1, 1] = cmath.exp(1j * (p1 + p2)) * c


@njit(cache=True)
def one_qubit_type(name: int, m: np.ndarray) -> int:
    """How a gate the kernel wrote acts for commutation: ``rz`` Z, ``rx`` X, ``ry`` none, a ``u3`` by its matrix
    (diagonal: Z, diagonal in the X basis: X), as ``action_types`` decides for a gate with numeric parameters."""
    if name == G_RZ:
        return TYPE_Z
    if name == G_RX:
        return TYPE_X
    if name == G_U3:
        if abs(m[0, 1]) < 1e-10 and abs(m[1, 0]) < 1e-10:
            return TYPE_Z
        if abs(m[0, 0] - m[1, 1]) < 1e-10 and abs(m[0, 1] - m[1, 0]) < 1e-10:
            return TYPE_X
    return TYPE_NONE


@njit(cache=True)
def euler(m: np.ndarray, b_rz: bool, b_rx: bool, b_ry: bool, b_u3: bool, names: np.ndarray,
          params: np.ndarray) -> int:
    """``m`` as Euler rotations in the basis (as :func:`..synthesis.euler_ops`): writes names and parameters, in
    circuit order, and returns how many (0 for the identity). The caller has checked the basis can do it."""
    theta, phi, lam = zyz(m)
    if b_u3:
        if not nonzero(theta) and not nonzero(phi + lam):
            return 0
        names[0] = G_U3
        params[0, 0] = wrap(theta)
        params[0, 1] = wrap(phi)
        params[0, 2] = wrap(lam)
        return 1
    if not nonzero(theta):
        total = phi + lam
        if not nonzero(total):
            return 0
        names[0] = G_RZ
        params[0, 0] = wrap(total)
        return 1
    wrapped = wrap(theta)
    if abs(wrapped - math.pi) < ANGLE_TOLERANCE or abs(wrapped + math.pi) < ANGLE_TOLERANCE:
        # Rz(phi) R(pi) Rz(lam) = Rz(phi - lam) R(pi) for R = Ry or Rx (a pi rotation flips Z): one rz less.
        phi, lam = phi - lam, 0.0
    if b_ry:
        middle = G_RY
        before, after = lam, phi
    else:
        middle = G_RX
        before, after = lam - math.pi / 2, phi + math.pi / 2
    k = 0
    if nonzero(before):
        names[k] = G_RZ
        params[k, 0] = wrap(before)
        k += 1
    names[k] = middle
    params[k, 0] = wrapped
    k += 1
    if nonzero(after):
        names[k] = G_RZ
        params[k, 0] = wrap(after)
        k += 1
    return k


@njit(cache=True)
def _mul(b: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """``out = b @ a`` for 2x2 matrices (``out`` may be ``a``)."""
    x00 = b[0, 0] * a[0, 0] + b[0, 1] * a[1, 0]
    x01 = b[0, 0] * a[0, 1] + b[0, 1] * a[1, 1]
    x10 = b[1, 0] * a[0, 0] + b[1, 1] * a[1, 0]
    x11 = b[1, 0] * a[0, 1] + b[1, 1] * a[1, 1]
    out[0, 0] = x00
    out[0, 1] = x01
    out[1, 0] = x10
    out[1, 1] = x11


@njit(cache=True, nogil=True)
def fuse_kernel(num_qubits, qptr, qidx, qtyp, kind, is2q, code2, sym2, native, isrz, mats, src, gname, gpar,
                b_rz, b_rx, b_ry, b_u3):  # type: ignore[no-untyped-def]
    """Each run of ``KIND_1Q`` rows on a qubit replaced by its Euler synthesis where that shortens it (as
    ``Fuse1q``): a run that is native, has at most one pulse and no two ``rz`` in a row is kept."""
    n = kind.shape[0]
    head = -np.ones(num_qubits, dtype=np.int64)
    tail = -np.ones(num_qubits, dtype=np.int64)
    slot_of = -np.ones(num_qubits, dtype=np.int64)
    nxt = -np.ones(n, dtype=np.int64)
    items = np.empty(n, dtype=np.int64)  # >= 0: a row kept; < 0: -(slot + 1)
    n_items = 0
    slot_head = np.empty(n, dtype=np.int64)
    slot_count = np.zeros(n, dtype=np.int64)  # -1: keep the run as it is
    slot_names = np.empty((n, 3), dtype=np.int64)
    slot_params = np.zeros((n, 3, 3))
    n_slots = 0
    m = np.empty((2, 2), dtype=np.complex128)
    names = np.empty(3, dtype=np.int64)
    params = np.zeros((3, 3))
    out_rows = 0

    for step in range(n + num_qubits):
        flushing = step >= n
        if not flushing:
            i = step
            if kind[i] == KIND_1Q:
                q = qidx[qptr[i]]
                if head[q] < 0:
                    head[q] = i
                    slot_of[q] = n_slots
                    slot_head[n_slots] = i
                    items[n_items] = -(n_slots + 1)
                    n_items += 1
                    n_slots += 1
                else:
                    nxt[tail[q]] = i
                tail[q] = i
                continue
            lo = qptr[i]
            hi = qptr[i + 1]
        else:
            lo = step - n
            hi = lo + 1
        for k in range(lo, hi):
            q = qidx[k] if not flushing else k
            if head[q] < 0:
                continue
            s = slot_of[q]
            # Already minimal?
            length = 0
            pulses = 0
            prev_rz = False
            minimal = True
            r = head[q]
            while r >= 0:
                if not native[r] or (isrz[r] and prev_rz):
                    minimal = False
                pulses += 0 if isrz[r] else 1
                prev_rz = isrz[r]
                length += 1
                r = nxt[r]
            if length > 1 and (pulses > 1 or not b_rz):
                minimal = False
            if minimal:
                slot_count[s] = -1
                out_rows += length
            else:
                m[0, 0] = 1
                m[0, 1] = 0
                m[1, 0] = 0
                m[1, 1] = 1
                r = head[q]
                while r >= 0:
                    _mul(mats[r], m, m)
                    r = nxt[r]
                count = euler(m, b_rz, b_rx, b_ry, b_u3, names, params)
                slot_count[s] = count
                for t in range(count):
                    slot_names[s, t] = names[t]
                    for u in range(3):
                        slot_params[s, t, u] = params[t, u]
                out_rows += count
            head[q] = -1
        if not flushing:
            items[n_items] = i
            n_items += 1
            out_rows += 1

    total_q = 0
    for t in range(n_items):
        it = items[t]
        if it >= 0:
            total_q += qptr[it + 1] - qptr[it]
    o_qptr = np.empty(out_rows + 1, dtype=np.int64)
    o_qidx = np.empty(total_q + out_rows * 1, dtype=np.int64)
    o_qtyp = np.empty(total_q + out_rows * 1, dtype=np.int8)
    o_kind = np.empty(out_rows, dtype=np.int8)
    o_is2q = np.empty(out_rows, dtype=np.bool_)
    o_code2 = np.empty(out_rows, dtype=np.int64)
    o_sym2 = np.empty(out_rows, dtype=np.bool_)
    o_native = np.empty(out_rows, dtype=np.bool_)
    o_isrz = np.empty(out_rows, dtype=np.bool_)
    o_mats = np.empty((out_rows, 2, 2), dtype=np.complex128)
    o_src = np.empty(out_rows, dtype=np.int64)
    o_gname = np.empty(out_rows, dtype=np.int8)
    o_gpar = np.zeros((out_rows, 3))
    row = 0
    o_qptr[0] = 0
    for t in range(n_items):
        it = items[t]
        if it >= 0:
            r = it
            stop = -2
        else:
            s = -it - 1
            if slot_count[s] >= 0:
                q = qidx[qptr[slot_head[s]]]
                for u in range(slot_count[s]):
                    o_kind[row] = KIND_1Q
                    o_is2q[row] = False
                    o_code2[row] = -1
                    o_sym2[row] = False
                    o_native[row] = True
                    g = slot_names[s, u]
                    o_isrz[row] = g == G_RZ
                    o_src[row] = -1
                    o_gname[row] = g
                    for v in range(3):
                        o_gpar[row, v] = slot_params[s, u, v]
                    gate_mat(g, o_gpar[row, 0], o_gpar[row, 1], o_gpar[row, 2], o_mats[row])
                    base = o_qptr[row]
                    o_qidx[base] = q
                    o_qtyp[base] = one_qubit_type(g, o_mats[row])
                    o_qptr[row + 1] = base + 1
                    row += 1
                continue
            r = slot_head[s]
            stop = -1
        while True:
            o_kind[row] = kind[r]
            o_is2q[row] = is2q[r]
            o_code2[row] = code2[r]
            o_sym2[row] = sym2[r]
            o_native[row] = native[r]
            o_isrz[row] = isrz[r]
            o_mats[row] = mats[r]
            o_src[row] = src[r]
            o_gname[row] = gname[r]
            for v in range(3):
                o_gpar[row, v] = gpar[r, v]
            base = o_qptr[row]
            w = base
            for k in range(qptr[r], qptr[r + 1]):
                o_qidx[w] = qidx[k]
                o_qtyp[w] = qtyp[k]
                w += 1
            o_qptr[row + 1] = w
            row += 1
            if stop == -2:
                break
            r = nxt[r]
            if r < 0:
                break
    w = o_qptr[row]
    return (o_qptr, o_qidx[:w], o_qtyp[:w], o_kind, o_is2q, o_code2, o_sym2, o_native, o_isrz, o_mats, o_src,
            o_gname, o_gpar)


@njit(cache=True, nogil=True)
def cancel_kernel(num_qubits, qptr, qidx, qtyp, kind, is2q, code2, sym2, native, isrz, mats, src, gname, gpar,
                  b_rz, b_rx):  # type: ignore[no-untyped-def]
    """Cancel pairs of equal self-inverse 2q gates, and merge ``rz``/``rx`` rotations, across commuting rows (as
    ``CommutativeCancellation``): from each row, walk its qubits' next rows while they commute with it, for at most
    ``SCAN_WINDOW`` rows."""
    n = kind.shape[0]
    # Each qubit's rows in order (CSR by qubit) and each row's place on its qubits.
    lane_ptr = np.zeros(num_qubits + 1, dtype=np.int64)
    for k in range(qidx.shape[0]):
        lane_ptr[qidx[k] + 1] += 1
    for q in range(num_qubits):
        lane_ptr[q + 1] += lane_ptr[q]
    fill = lane_ptr[:-1].copy()
    lane = np.empty(qidx.shape[0], dtype=np.int64)
    place = np.empty(qidx.shape[0], dtype=np.int64)
    for i in range(n):
        for k in range(qptr[i], qptr[i + 1]):
            q = qidx[k]
            lane[fill[q]] = i
            place[k] = fill[q] - lane_ptr[q]
            fill[q] += 1
    alive = np.ones(n, dtype=np.bool_)
    mats = mats.copy()
    src = src.copy()
    gname = gname.copy()
    gpar = gpar.copy()
    native = native.copy()
    isrz = isrz.copy()
    cq = np.empty(2, dtype=np.int64)
    cur = np.empty(2, dtype=np.int64)
    ctyp = np.empty(2, dtype=np.int8)
    m = np.empty((2, 2), dtype=np.complex128)
    for i in range(n):
        if not alive[i]:
            continue
        two = kind[i] == KIND_SI2Q
        merge = False
        if kind[i] == KIND_1Q:
            t = qtyp[qptr[i]]
            merge = (t == TYPE_Z and b_rz) or (t == TYPE_X and b_rx)
        if not (two or merge):
            continue
        width = qptr[i + 1] - qptr[i]
        for k in range(width):
            cq[k] = qidx[qptr[i] + k]
            ctyp[k] = qtyp[qptr[i] + k]
            cur[k] = lane_ptr[cq[k]] + place[qptr[i] + k] + 1
        for _ in range(SCAN_WINDOW):
            j = -1
            for k in range(width):
                end = lane_ptr[cq[k] + 1]
                c = cur[k]
                while c < end and not alive[lane[c]]:
                    c += 1
                cur[k] = c
                if c < end and (j < 0 or lane[c] < j):
                    j = lane[c]
            if j < 0:
                break
            jw = qptr[j + 1] - qptr[j]
            if two and kind[j] == KIND_SI2Q and code2[j] == code2[i] and jw == 2:
                a0 = qidx[qptr[i]]
                a1 = qidx[qptr[i] + 1]
                b0 = qidx[qptr[j]]
                b1 = qidx[qptr[j] + 1]
                if (a0 == b0 and a1 == b1) or (sym2[i] and a0 == b1 and a1 == b0):
                    alive[i] = False
                    alive[j] = False
                    break
            if merge and jw == 1 and qidx[qptr[j]] == cq[0] and qtyp[qptr[j]] == ctyp[0]:
                _mul(mats[j], mats[i], m)
                if ctyp[0] == TYPE_Z:
                    angle = cmath.phase(m[1, 1] / m[0, 0])
                    g = G_RZ
                else:
                    angle = cmath.phase((m[0, 0] - m[0, 1]) / (m[0, 0] + m[0, 1]))
                    g = G_RX
                angle = remainder(angle, TWO_PI)
                alive[i] = False
                if abs(angle) < MERGE_TOLERANCE:
                    alive[j] = False
                else:
                    src[j] = -1
                    gname[j] = g
                    gpar[j, 0] = angle
                    gpar[j, 1] = 0.0
                    gpar[j, 2] = 0.0
                    native[j] = True
                    isrz[j] = g == G_RZ
                    gate_mat(g, angle, 0.0, 0.0, mats[j])
                break
            stop = False
            for k in range(qptr[j], qptr[j + 1]):
                for u in range(width):
                    if qidx[k] == cq[u] and (ctyp[u] == TYPE_NONE or qtyp[k] != ctyp[u]):
                        stop = True
            if stop:
                break
            for k in range(qptr[j], qptr[j + 1]):
                for u in range(width):
                    if qidx[k] == cq[u]:
                        cur[u] += 1
    # Compact.
    rows = 0
    total_q = 0
    for i in range(n):
        if alive[i]:
            rows += 1
            total_q += qptr[i + 1] - qptr[i]
    o_qptr = np.empty(rows + 1, dtype=np.int64)
    o_qidx = np.empty(total_q, dtype=np.int64)
    o_qtyp = np.empty(total_q, dtype=np.int8)
    keep = np.empty(rows, dtype=np.int64)
    row = 0
    w = 0
    o_qptr[0] = 0
    for i in range(n):
        if alive[i]:
            keep[row] = i
            for k in range(qptr[i], qptr[i + 1]):
                o_qidx[w] = qidx[k]
                o_qtyp[w] = qtyp[k]
                w += 1
            row += 1
            o_qptr[row] = w
    return (o_qptr, o_qidx, o_qtyp, kind[keep], is2q[keep], code2[keep], sym2[keep], native[keep], isrz[keep],
            mats[keep], src[keep], gname[keep], gpar[keep])


@njit(cache=True, nogil=True)
def optimize_loop_kernel(num_qubits, qptr, qidx, qtyp, kind, is2q, code2, sym2, native, isrz, mats, src, gname,
                         gpar, b_rz, b_rx, b_ry, b_u3, max_rounds):  # type: ignore[no-untyped-def]
    """Fusion, then [cancellation, fusion] until neither the 2q count nor the row count drops (as ``OptimizeLoop``:
    the last round's result is returned even when it did not improve)."""
    best2 = 0
    for i in range(kind.shape[0]):
        best2 += 1 if is2q[i] else 0
    best_n = kind.shape[0]
    state = fuse_kernel(num_qubits, qptr, qidx, qtyp, kind, is2q, code2, sym2, native, isrz, mats, src, gname, gpar,
                        b_rz, b_rx, b_ry, b_u3)
    for _ in range(max_rounds):
        state = cancel_kernel(num_qubits, *state, b_rz, b_rx)
        state = fuse_kernel(num_qubits, *state, b_rz, b_rx, b_ry, b_u3)
        now2 = 0
        for flag in state[4]:
            now2 += 1 if flag else 0
        now_n = state[3].shape[0]
        if now2 > best2 or (now2 == best2 and now_n >= best_n):
            break
        best2 = now2
        best_n = now_n
    return state
