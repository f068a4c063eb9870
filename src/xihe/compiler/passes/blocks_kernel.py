"""Two-qubit blocks of the optimisation kernels' array form, their 4x4 products and which need fewer CZs (numba).

The optimisation loop after routing keeps its gate list as the arrays of :mod:`.optimize_kernel` across its rounds
(issue 19): collecting the blocks over :class:`~xihe.circuit.Operation` objects, multiplying them out with NumPy and
converting to and from the arrays each round were most of the loop's time. Here a block is what
:class:`~.blocks.ConsolidateBlocks` calls one (a maximal run on one pair of qubits of ``KIND_1Q`` rows and
``KIND_SI2Q`` rows on that pair, with the pair's one-qubit rows just before its first two-qubit row); any other row
ends the blocks on its qubits. The kernel flags the blocks whose product needs fewer two-qubit gates than the block
has (:func:`cx_needed`), and only those go to the KAK synthesis, in Python (:mod:`.blocks`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from xihe.compiler.passes.optimize_kernel import KIND_1Q, KIND_SI2Q, TYPE_NONE, gate_mat

# gamma(u) = u (Y x Y) u^T (Y x Y) is taken with Y x Y as its entries: it is real, anti-diagonal, (-1, 1, 1, -1).
_YY_SIGNS = np.array([-1.0, 1.0, 1.0, -1.0])
NEEDED_TOLERANCE = 1e-7


@njit(cache=True)
def _left_1q(u: np.ndarray, m: np.ndarray, local: int) -> None:
    """``u = (m x I) u`` (``local`` 0, the most significant qubit) or ``(I x m) u`` (``local`` 1), in place."""
    for j in range(4):
        for rest in range(2):
            if local == 0:
                r0 = rest
                r1 = 2 + rest
            else:
                r0 = 2 * rest
                r1 = 2 * rest + 1
            a = u[r0, j]
            b = u[r1, j]
            u[r0, j] = m[0, 0] * a + m[0, 1] * b
            u[r1, j] = m[1, 0] * a + m[1, 1] * b


@njit(cache=True)
def _left_2q(u: np.ndarray, g: np.ndarray, reverse: bool, scratch: np.ndarray) -> None:
    """``u = g u``, or ``(SWAP g SWAP) u`` with ``reverse`` (the gate's first qubit is the block's second), in
    place."""
    for i in range(4):
        gi = i if not reverse or i == 0 or i == 3 else 3 - i
        for j in range(4):
            s = 0j
            for k in range(4):
                gk = k if not reverse or k == 0 or k == 3 else 3 - k
                s += g[gi, gk] * u[k, j]
            scratch[i, j] = s
    u[:, :] = scratch


@njit(cache=True)
def cx_needed(u: np.ndarray) -> int:
    """The fewest CX (or CZ) that make the 4x4 unitary ``u``, from gamma(u) alone (Shende, Bullock and Markov 2004),
    as :func:`xihe.compiler.two_qubit.cx_needed`: near a boundary between counts it answers the lower one."""
    v = u / np.linalg.det(u) ** 0.25
    # w = u (Y x Y) u^T (Y x Y): (Y x Y)[i, 3 - i] = _YY_SIGNS[i].
    w = np.empty((4, 4), dtype=np.complex128)
    for i in range(4):
        for j in range(4):
            s = 0j
            for k in range(4):
                # (u (YxY))[i, k] = u[i, 3 - k] * signs[3 - k]; ((YxY) ...)[k, j] -> u^T[3 - k', ...]
                s += v[i, 3 - k] * _YY_SIGNS[3 - k] * v[3 - j, k] * _YY_SIGNS[3 - j]
            w[i, j] = s
    t = 0j
    for i in range(4):
        t += w[i, i]
    if abs(t.imag) < NEEDED_TOLERANCE and abs(abs(t.real) - 4) < NEEDED_TOLERANCE:
        return 0
    if abs(t) < NEEDED_TOLERANCE:
        square_is_minus_one = True
        for i in range(4):
            for j in range(4):
                s = 0j
                for k in range(4):
                    s += w[i, k] * w[k, j]
                want = -1.0 if i == j else 0.0
                if abs(s - want) > NEEDED_TOLERANCE + 1e-5 * abs(want):
                    square_is_minus_one = False
        if square_is_minus_one:
            return 1
    if abs(t.imag) < NEEDED_TOLERANCE:
        return 2
    return 3


# How far from each of cx_needed's tolerances a quantity must be for sure_cx_needed to answer: a product of the same
# gates multiplied in another order (NumPy's, in ``blocks.block_unitary``) differs by ~1e-14.
SURE_MARGIN = 1e-9


@njit(cache=True)
def _clear(x: float, threshold: float) -> bool:
    return abs(x - threshold) >= SURE_MARGIN


@njit(cache=True)
def sure_cx_needed(u: np.ndarray) -> int:
    """:func:`cx_needed` where each comparison it makes (those of :func:`xihe.compiler.two_qubit.cx_needed`) is at
    least ``SURE_MARGIN`` from its tolerance, so the same block's product rounded otherwise gets the same answer;
    -1 where one is closer. (A fourth root on the other branch multiplies gamma by -1, which no test sees.)"""
    v = u / np.linalg.det(u) ** 0.25
    w = np.empty((4, 4), dtype=np.complex128)
    for i in range(4):
        for j in range(4):
            s = 0j
            for k in range(4):
                s += v[i, 3 - k] * _YY_SIGNS[3 - k] * v[3 - j, k] * _YY_SIGNS[3 - j]
            w[i, j] = s
    t = 0j
    for i in range(4):
        t += w[i, i]
    tol = NEEDED_TOLERANCE
    if not (_clear(abs(t.imag), tol) and _clear(abs(abs(t.real) - 4), tol) and _clear(abs(t), tol)):
        return -1
    if abs(t.imag) < tol and abs(abs(t.real) - 4) < tol:
        return 0
    if abs(t) < tol:
        square_is_minus_one = True
        for i in range(4):
            for j in range(4):
                s = 0j
                for k in range(4):
                    s += w[i, k] * w[k, j]
                want = -1.0 if i == j else 0.0
                bound = tol + 1e-5 * abs(want)
                if not _clear(abs(s - want), bound):
                    return -1
                if abs(s - want) > bound:
                    square_is_minus_one = False
        if square_is_minus_one:
            return 1
    if abs(t.imag) < tol:
        return 2
    return 3


@njit(cache=True, nogil=True)
def sure_counts(products, wanted):  # type: ignore[no-untyped-def]
    """Per wanted block, :func:`sure_cx_needed` of its product ``u`` and of ``SWAP u`` (-1 where unsure or not
    wanted)."""
    n = wanted.shape[0]
    plain = -np.ones(n, dtype=np.int64)
    swapped = -np.ones(n, dtype=np.int64)
    v = np.empty((4, 4), dtype=np.complex128)
    for b in range(n):
        if not wanted[b]:
            continue
        u = products[b]
        plain[b] = sure_cx_needed(u)
        for j in range(4):
            v[0, j] = u[0, j]
            v[1, j] = u[2, j]
            v[2, j] = u[1, j]
            v[3, j] = u[3, j]
        swapped[b] = sure_cx_needed(v)
    return plain, swapped


@njit(cache=True, nogil=True)
def collect_blocks(num_qubits, qptr, qidx, kind, code2, mats, mats2):  # type: ignore[no-untyped-def]
    """``(block_of, last, pair, cost, flagged, products)``: each row's block (-1 for none), each block's last row, its
    qubits (``pair[b, 0]`` those of its first two-qubit row, the most significant in ``products``), its two-qubit
    row count, whether its product (computed for blocks of two or more two-qubit rows) needs fewer, and the product.
    ``mats2[code]`` is the 4x4 matrix of the self-inverse two-qubit gate with that code."""
    n = kind.shape[0]
    block_of = -np.ones(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    pair = np.empty((n, 2), dtype=np.int64)
    cost = np.zeros(n, dtype=np.int64)
    open_block = -np.ones(num_qubits, dtype=np.int64)
    pend_head = -np.ones(num_qubits, dtype=np.int64)
    pend_tail = -np.ones(num_qubits, dtype=np.int64)
    pend_next = -np.ones(n, dtype=np.int64)
    n_blocks = 0
    for i in range(n):
        lo = qptr[i]
        width = qptr[i + 1] - lo
        if kind[i] == KIND_1Q and width == 1:
            q = qidx[lo]
            b = open_block[q]
            if b >= 0:
                block_of[i] = b
                last[b] = i
            else:
                if pend_head[q] < 0:
                    pend_head[q] = i
                else:
                    pend_next[pend_tail[q]] = i
                pend_tail[q] = i
            continue
        if kind[i] == KIND_SI2Q and width == 2 and code2[i] < mats2.shape[0]:
            p = qidx[lo]
            q = qidx[lo + 1]
            b = open_block[p]
            if b >= 0 and open_block[q] == b:
                block_of[i] = b
                last[b] = i
                cost[b] += 1
                continue
            for r in (p, q):
                c = open_block[r]
                if c >= 0:
                    open_block[pair[c, 0]] = -1
                    open_block[pair[c, 1]] = -1
            b = n_blocks
            n_blocks += 1
            for r in (p, q):
                k = pend_head[r]
                while k >= 0:
                    block_of[k] = b
                    k = pend_next[k]
                pend_head[r] = -1
            block_of[i] = b
            last[b] = i
            pair[b, 0] = p
            pair[b, 1] = q
            cost[b] = 1
            open_block[p] = b
            open_block[q] = b
            continue
        for k in range(lo, lo + width):
            r = qidx[k]
            pend_head[r] = -1
            c = open_block[r]
            if c >= 0:
                open_block[pair[c, 0]] = -1
                open_block[pair[c, 1]] = -1
    wanted = cost[:n_blocks] > 1
    products = block_products(qptr, qidx, code2, mats, mats2, block_of, pair[:n_blocks], wanted)
    flagged = np.zeros(n_blocks, dtype=np.bool_)
    for b in range(n_blocks):
        if wanted[b]:
            flagged[b] = cx_needed(products[b]) < cost[b]
    return block_of, last[:n_blocks], pair[:n_blocks], cost[:n_blocks], flagged, products


@njit(cache=True, nogil=True)
def block_products(qptr, qidx, code2, mats, mats2, block_of, pair, wanted):  # type: ignore[no-untyped-def]
    """The 4x4 product of each wanted block's rows (``block_of``; one-qubit and self-inverse two-qubit rows on
    ``pair[b]``, ``pair[b, 0]`` the most significant); a run of one-qubit rows is multiplied as 2x2 matrices and
    applied once, at the next two-qubit row or the end."""
    n_blocks = wanted.shape[0]
    products = np.zeros((n_blocks, 4, 4), dtype=np.complex128)
    side = np.zeros((n_blocks, 2, 2, 2), dtype=np.complex128)
    has_side = np.zeros((n_blocks, 2), dtype=np.bool_)
    for b in range(n_blocks):
        if wanted[b]:
            for k in range(4):
                products[b, k, k] = 1
    scratch = np.empty((4, 4), dtype=np.complex128)
    m = np.empty((2, 2), dtype=np.complex128)
    for i in range(block_of.shape[0]):
        b = block_of[i]
        if b < 0 or not wanted[b]:
            continue
        lo = qptr[i]
        if qptr[i + 1] - lo == 1:
            local = 0 if qidx[lo] == pair[b, 0] else 1
            if has_side[b, local]:
                for r in range(2):
                    for c in range(2):
                        m[r, c] = mats[i, r, 0] * side[b, local, 0, c] + mats[i, r, 1] * side[b, local, 1, c]
                side[b, local] = m
            else:
                side[b, local] = mats[i]
                has_side[b, local] = True
            continue
        for local in range(2):
            if has_side[b, local]:
                _left_1q(products[b], side[b, local], local)
                has_side[b, local] = False
        _left_2q(products[b], mats2[code2[i]], qidx[lo] != pair[b, 0], scratch)
    for b in range(n_blocks):
        for local in range(2):
            if has_side[b, local]:
                _left_1q(products[b], side[b, local], local)
    return products


@njit(cache=True)
def equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> bool:
    """``|tr(a^dag b)| = 4`` to 1e-9 relative, as :func:`xihe.compiler.two_qubit.equal_up_to_phase`."""
    t = 0j
    for i in range(4):
        for j in range(4):
            t += a[i, j].conjugate() * b[i, j]
    return abs(abs(t) - 4) < 4e-9


@njit(cache=True, nogil=True)
def splice_order(block_of, last, replaced, new_ptr, n_old):  # type: ignore[no-untyped-def]
    """Row order after replacing blocks: old rows keep their place (indices ``< n_old``) except those of a replaced
    block, whose new rows (``n_old + new_ptr[b] .. n_old + new_ptr[b + 1]``) stand where its last row was."""
    count = 0
    for i in range(n_old):
        b = block_of[i]
        if b < 0 or not replaced[b]:
            count += 1
        elif i == last[b]:
            count += new_ptr[b + 1] - new_ptr[b]
    order = np.empty(count, dtype=np.int64)
    w = 0
    for i in range(n_old):
        b = block_of[i]
        if b < 0 or not replaced[b]:
            order[w] = i
            w += 1
        elif i == last[b]:
            for k in range(new_ptr[b], new_ptr[b + 1]):
                order[w] = n_old + k
                w += 1
    return order


@njit(cache=True, nogil=True)
def take_qubits(order, qptr, qidx, qtyp):  # type: ignore[no-untyped-def]
    """The CSR qubit arrays of the rows ``order`` (in that order)."""
    total = 0
    for r in order:
        total += qptr[r + 1] - qptr[r]
    o_qptr = np.empty(order.shape[0] + 1, dtype=np.int64)
    o_qidx = np.empty(total, dtype=np.int64)
    o_qtyp = np.empty(total, dtype=np.int8)
    o_qptr[0] = 0
    for t in range(order.shape[0]):
        copy_qubits(qptr, qidx, qtyp, order[t], o_qptr, o_qidx, o_qtyp, t)
    return o_qptr, o_qidx, o_qtyp


@njit(cache=True)
def copy_qubits(qptr, qidx, qtyp, r, o_qptr, o_qidx, o_qtyp, row):  # type: ignore[no-untyped-def]
    """Row ``r``'s qubits and their types written as row ``row`` of the output CSR (``o_qptr[row]`` already set)."""
    w = o_qptr[row]
    for k in range(qptr[r], qptr[r + 1]):
        o_qidx[w] = qidx[k]
        o_qtyp[w] = qtyp[k]
        w += 1
    o_qptr[row + 1] = w


# How a step of a replacement is written (see assemble_rows).
STEP_LOCAL = 0  # a KAK local factor: local_mats[arg]
STEP_ROTATION = 1  # rz, rx or ry (arg: G_RZ, G_RX, G_RY) by the angle param
STEP_FIXED = 2  # a fixed one-qubit gate: fixed_mats[arg]
STEP_CX = 3  # a cx: the rows of template arg (its native pieces on physical qubits)


@njit(cache=True, nogil=True)
def assemble_rows(n_blocks, chosen, step_ptr, s_kind, s_arg, s_local, s_param, local_mats, fixed_mats, pair, t_ptr,
                  t_qptr, t_qidx, t_qtyp, t_kind, t_is2q, t_code2, t_sym2, t_native, t_isrz, t_mats,
                  t_src):  # type: ignore[no-untyped-def]
    """The rows of the replacements: block ``chosen[k]`` gets steps ``step_ptr[k]`` to ``step_ptr[k + 1]``, its
    one-qubit steps as rows of their matrix on ``pair[b, s_local]`` (not native: fusion writes them in the basis),
    each cx as its template's rows (``t_src``: where the template's operations stand in the sources). Returns
    ``(ptr, rows)``: block ``b``'s rows are ``ptr[b]`` to ``ptr[b + 1]``."""
    counts = np.zeros(n_blocks, dtype=np.int64)
    width = 0
    for k in range(chosen.shape[0]):
        for s in range(step_ptr[k], step_ptr[k + 1]):
            if s_kind[s] == STEP_CX:
                t = s_arg[s]
                counts[chosen[k]] += t_ptr[t + 1] - t_ptr[t]
                for r in range(t_ptr[t], t_ptr[t + 1]):
                    width += t_qptr[r + 1] - t_qptr[r]
            else:
                counts[chosen[k]] += 1
                width += 1
    ptr = np.zeros(n_blocks + 1, dtype=np.int64)
    for b in range(n_blocks):
        ptr[b + 1] = ptr[b] + counts[b]
    n = ptr[n_blocks]
    qptr = np.zeros(n + 1, dtype=np.int64)
    qidx = np.empty(width, dtype=np.int64)
    qtyp = np.empty(width, dtype=np.int8)
    kind = np.empty(n, dtype=np.int8)
    is2q = np.zeros(n, dtype=np.bool_)
    code2 = -np.ones(n, dtype=np.int64)
    sym2 = np.zeros(n, dtype=np.bool_)
    native = np.zeros(n, dtype=np.bool_)
    isrz = np.zeros(n, dtype=np.bool_)
    mats = np.empty((n, 2, 2), dtype=np.complex128)
    src = -np.ones(n, dtype=np.int64)
    for k in range(chosen.shape[0]):
        b = chosen[k]
        row = ptr[b]
        for s in range(step_ptr[k], step_ptr[k + 1]):
            if s_kind[s] == STEP_CX:
                t = s_arg[s]
                for r in range(t_ptr[t], t_ptr[t + 1]):
                    copy_qubits(t_qptr, t_qidx, t_qtyp, r, qptr, qidx, qtyp, row)
                    kind[row] = t_kind[r]
                    is2q[row] = t_is2q[r]
                    code2[row] = t_code2[r]
                    sym2[row] = t_sym2[r]
                    native[row] = t_native[r]
                    isrz[row] = t_isrz[r]
                    mats[row] = t_mats[r]
                    src[row] = t_src[r]
                    row += 1
                continue
            w = qptr[row]
            qidx[w] = pair[b, s_local[s]]
            qtyp[w] = TYPE_NONE
            qptr[row + 1] = w + 1
            kind[row] = KIND_1Q
            if s_kind[s] == STEP_LOCAL:
                mats[row] = local_mats[s_arg[s]]
            elif s_kind[s] == STEP_FIXED:
                mats[row] = fixed_mats[s_arg[s]]
            else:
                gate_mat(s_arg[s], s_param[s], 0.0, 0.0, mats[row])
            row += 1
    rows = (qptr, qidx, qtyp, kind, is2q, code2, sym2, native, isrz, mats, src, np.zeros(n, dtype=np.int8),
            np.zeros((n, 3)))
    return ptr, rows
