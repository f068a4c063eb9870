"""The SABRE routing loop as a compiled kernel (numba), over flat arrays.

Inputs are the DAG in CSR form (successors), each node's two virtual qubits (``-1`` for non-2q nodes), the distance
and swap-error tables and the starting layout. The output is a list of events, in order: ``e >= 0`` runs node ``e``;
``e < 0`` is a swap of physical ``s, t`` encoded as ``-(s * P + t) - 1``. See :mod:`xihe.compiler.passes.sabre`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EXTENDED_SIZE = 20
EXTENDED_WEIGHT = 0.5
DECAY_DELTA = 0.001
DECAY_RESET = 5
# How much a swap's calibrated error adds to its score: enough to break near-ties towards better couplers. With it
# every tie is decided by the calibration and seeded trials all route alike, so the router is also run with 0
# (random tie-breaks, as Qiskit's SABRE) for diversity between swap trials.
ERROR_WEIGHT = 1e-3
# A swap on the pair that just ran a two-qubit gate merges with it (KAK): 3 CX become 1 more. Prefer it.
MERGE_FACTOR = 0.9


@njit(cache=True)
def _push(events: np.ndarray, n: int, value: int) -> np.ndarray:
    if n >= events.shape[0]:
        bigger = np.empty(events.shape[0] * 2, dtype=np.int64)
        bigger[: events.shape[0]] = events
        events = bigger
    events[n] = value
    return events


@njit(cache=True)
def _swap_layout(p2v: np.ndarray, v2p: np.ndarray, a: int, b: int) -> None:
    """Swap the virtual qubits on physical ``a`` and ``b`` (either may be free, ``-1``)."""
    va, vb = p2v[a], p2v[b]
    p2v[a], p2v[b] = vb, va
    if va >= 0:
        v2p[va] = b
    if vb >= 0:
        v2p[vb] = a


@njit(cache=True, nogil=True)
def sabre_route_kernel(succ_ptr: np.ndarray, succ_idx: np.ndarray, indeg_in: np.ndarray, q0: np.ndarray,
                       q1: np.ndarray, is_measure: np.ndarray, dist: np.ndarray, nbr_ptr: np.ndarray,
                       nbr_idx: np.ndarray, swap_err: np.ndarray, layout: np.ndarray, valve: int, seed: int,
                       emit: bool, error_weight: float, give_up: float, best_gate_log: float,
                       swap_floor: int):  # type: ignore[no-untyped-def]
    """Route from ``layout``: (events, final layout, swaps, log-fidelity, finished).

    Abandonment: once more than ``swap_floor`` swaps are in and the log-fidelity so far plus every unrun two-qubit
    gate at ``best_gate_log`` (the best coupler's term) is below ``give_up``, the routing cannot end above
    ``give_up`` (every later term is at most that, or negative for a swap): it stops there, ``finished`` false and
    the rest partial. ``give_up = -inf`` never stops.
    """
    np.random.seed(seed)
    n_nodes = indeg_in.shape[0]
    num_phys = dist.shape[0]
    num_virt = layout.shape[0]
    indeg = indeg_in.copy()
    v2p = layout.copy()
    p2v = -np.ones(num_phys, dtype=np.int64)
    for v in range(num_virt):
        p2v[v2p[v]] = v
    decay = np.ones(num_phys)
    last_partner = -np.ones(num_phys, dtype=np.int64)
    events = np.empty(n_nodes + 16, dtype=np.int64)
    n_events = 0
    front = np.empty(n_nodes, dtype=np.int64)
    nf = 0
    for i in range(n_nodes):
        if indeg[i] == 0:
            front[nf] = i
            nf += 1
    buffer = np.empty(n_nodes, dtype=np.int64)
    stamp = np.zeros(n_nodes, dtype=np.int64)
    cand_stamp = np.zeros(num_phys, dtype=np.int64)
    current = 0
    ext = np.empty(EXTENDED_SIZE, dtype=np.int64)
    queue = np.empty(n_nodes, dtype=np.int64)
    cand_s = np.empty(num_phys * 8, dtype=np.int64)
    cand_t = np.empty(num_phys * 8, dtype=np.int64)
    cand_front = np.empty(num_phys * 8, dtype=np.int64)
    cand_ext = np.empty(num_phys * 8, dtype=np.int64)
    best = np.empty(num_phys * 8, dtype=np.int64)
    # Front and extended-set gates by virtual qubit: they hold while swaps follow swaps (only the layout moves), so
    # they are rebuilt only when a gate runs.
    front_of = -np.ones(num_virt, dtype=np.int64)  # virtual qubit -> the other qubit of its front gate
    ext_head = -np.ones(num_virt, dtype=np.int64)  # virtual qubit -> its extended-set gates (linked list)
    ext_next = np.empty(2 * EXTENDED_SIZE, dtype=np.int64)
    ext_other = np.empty(2 * EXTENDED_SIZE, dtype=np.int64)
    left_2q = 0  # two-qubit gates not yet run
    for i in range(n_nodes):
        if q0[i] >= 0:
            left_2q += 1
    swaps = 0
    since_gate = 0
    log_fid = 0.0
    n_ext = 0
    n2 = 0
    base_front = 0
    base_ext = 0
    front_stale = True
    settled = False  # the front holds only blocked gates and the scores' terms are current: skip to the swap choice
    while nf > 0:
        if not settled:
            # Run everything runnable, repeatedly.
            executed_any = False
            while True:
                # Measurements wait while some two-qubit gate is blocked: they stay terminal and out of 2q blocks.
                blocked = False
                for k in range(nf):
                    i = front[k]
                    if q0[i] >= 0 and dist[v2p[q0[i]], v2p[q1[i]]] != 1:
                        blocked = True
                        break
                nb = 0
                ran = False
                for k in range(nf):
                    i = front[k]
                    if is_measure[i] and blocked:
                        buffer[nb] = i
                        nb += 1
                        continue
                    if q0[i] >= 0:
                        a = v2p[q0[i]]
                        b = v2p[q1[i]]
                        if dist[a, b] != 1:
                            buffer[nb] = i
                            nb += 1
                            continue
                        log_fid += np.log1p(-min(swap_err[a, b], 0.999))
                        left_2q -= 1
                        last_partner[a] = b
                        last_partner[b] = a
                    ran = True
                    if emit:
                        events = _push(events, n_events, i)
                        n_events += 1
                    for s in range(succ_ptr[i], succ_ptr[i + 1]):
                        j = succ_idx[s]
                        indeg[j] -= 1
                        if indeg[j] == 0:
                            buffer[nb] = j
                            nb += 1
                for k in range(nb):
                    front[k] = buffer[k]
                nf = nb
                if not ran:
                    break
                executed_any = True
            if nf == 0:
                break
            if executed_any:
                front_stale = True
                since_gate = 0
                decay[:] = 1.0
            if since_gate > valve:
                # Release valve: walk the closest blocked gate's first qubit towards its partner.
                best_i = -1
                best_d = 1 << 30
                for k in range(nf):
                    i = front[k]
                    if q0[i] < 0:
                        continue
                    d = dist[v2p[q0[i]], v2p[q1[i]]]
                    if d < best_d:
                        best_d = d
                        best_i = i
                a = v2p[q0[best_i]]
                b = v2p[q1[best_i]]
                while dist[a, b] > 1:
                    nxt = -1
                    for s in range(nbr_ptr[a], nbr_ptr[a + 1]):
                        n = nbr_idx[s]
                        if nxt < 0 or dist[n, b] < dist[nxt, b]:
                            nxt = n
                    _swap_layout(p2v, v2p, a, nxt)
                    last_partner[a] = -1
                    last_partner[nxt] = -1
                    if emit:
                        events = _push(events, n_events, -(a * num_phys + nxt) - 1)
                        n_events += 1
                    log_fid += 3.0 * np.log1p(-min(swap_err[a, nxt], 0.999))
                    swaps += 1
                    a = nxt
                since_gate = 0
                continue
            if front_stale:
                front_stale = False
                # The front changed: its gates by qubit, and the extended set (the next 2q gates after the front,
                # breadth first).
                for k in range(n_ext):
                    i = ext[k]
                    ext_head[q0[i]] = -1
                    ext_head[q1[i]] = -1
                for v in range(num_virt):
                    front_of[v] = -1
                n2 = 0
                for k in range(nf):
                    i = front[k]
                    if q0[i] >= 0:
                        front_of[q0[i]] = q1[i]
                        front_of[q1[i]] = q0[i]
                        n2 += 1
                current += 1
                n_ext = 0
                head = 0
                tail = 0
                for k in range(nf):
                    stamp[front[k]] = current
                    queue[tail] = front[k]
                    tail += 1
                while head < tail and n_ext < EXTENDED_SIZE:
                    i = queue[head]
                    head += 1
                    for s in range(succ_ptr[i], succ_ptr[i + 1]):
                        j = succ_idx[s]
                        if stamp[j] != current:
                            stamp[j] = current
                            queue[tail] = j
                            tail += 1
                            if q0[j] >= 0 and n_ext < EXTENDED_SIZE:
                                ext[n_ext] = j
                                n_ext += 1
                for k in range(n_ext):
                    i = ext[k]
                    a = q0[i]
                    b = q1[i]
                    ext_other[2 * k] = b
                    ext_next[2 * k] = ext_head[a]
                    ext_head[a] = 2 * k
                    ext_other[2 * k + 1] = a
                    ext_next[2 * k + 1] = ext_head[b]
                    ext_head[b] = 2 * k + 1
            # The layout moved (gates ran, or the valve swapped): the summed distances afresh.
            base_front = 0
            for k in range(nf):
                i = front[k]
                if q0[i] >= 0:
                    base_front += dist[v2p[q0[i]], v2p[q1[i]]]
            base_ext = 0
            for k in range(n_ext):
                i = ext[k]
                base_ext += dist[v2p[q0[i]], v2p[q1[i]]]
            settled = True
        current += 1
        # Candidate swaps: every coupler touching a blocked gate's qubit.
        nc = 0
        for k in range(nf):
            i = front[k]
            if q0[i] < 0:
                continue
            for side in range(2):
                p = v2p[q0[i]] if side == 0 else v2p[q1[i]]
                cand_stamp[p] = current
                for s in range(nbr_ptr[p], nbr_ptr[p + 1]):
                    n = nbr_idx[s]
                    if cand_stamp[n] != current:
                        cand_s[nc] = min(p, n)
                        cand_t[nc] = max(p, n)
                        nc += 1
        # Scores by difference: a swap moves two physical qubits, so only the gates on them change distance. The
        # sums are integers, so the scores are exactly those of summing every gate's distance per candidate.
        best_score = 1e300
        n_best = 0
        for c in range(nc):
            s_ = cand_s[c]
            t_ = cand_t[c]
            vs = p2v[s_]
            vt = p2v[t_]
            front_delta = 0
            ext_delta = 0
            if vs >= 0:
                o = front_of[vs]
                if o >= 0 and o != vt:
                    po = v2p[o]
                    front_delta += dist[t_, po] - dist[s_, po]
                e = ext_head[vs]
                while e >= 0:
                    o = ext_other[e]
                    if o != vt:
                        po = v2p[o]
                        ext_delta += dist[t_, po] - dist[s_, po]
                    e = ext_next[e]
            if vt >= 0:
                o = front_of[vt]
                if o >= 0 and o != vs:
                    po = v2p[o]
                    front_delta += dist[s_, po] - dist[t_, po]
                e = ext_head[vt]
                while e >= 0:
                    o = ext_other[e]
                    if o != vs:
                        po = v2p[o]
                        ext_delta += dist[s_, po] - dist[t_, po]
                    e = ext_next[e]
            cand_front[c] = front_delta
            cand_ext[c] = ext_delta
            score = float(base_front + front_delta) / n2
            if n_ext > 0:
                score += EXTENDED_WEIGHT * float(base_ext + ext_delta) / n_ext
            score = score * max(decay[s_], decay[t_]) + error_weight * swap_err[s_, t_]
            if last_partner[s_] == t_ and last_partner[t_] == s_:
                score *= MERGE_FACTOR
            if score < best_score - 1e-12:
                best_score = score
                n_best = 0
            if score <= best_score + 1e-12:
                best[n_best] = c
                n_best += 1
        pick = best[np.random.randint(0, n_best)] if n_best > 1 else best[0]
        s_ = cand_s[pick]
        t_ = cand_t[pick]
        base_front += cand_front[pick]
        base_ext += cand_ext[pick]
        vs, vt = p2v[s_], p2v[t_]
        _swap_layout(p2v, v2p, s_, t_)
        for p in (s_, t_):
            if last_partner[p] >= 0:
                last_partner[last_partner[p]] = -1
            last_partner[p] = -1
        if emit:
            events = _push(events, n_events, -(s_ * num_phys + t_) - 1)
            n_events += 1
        log_fid += 3.0 * np.log1p(-min(swap_err[s_, t_], 0.999))
        swaps += 1
        since_gate += 1
        decay[s_] += DECAY_DELTA
        decay[t_] += DECAY_DELTA
        if swaps % DECAY_RESET == 0:
            decay[:] = 1.0
        # Only a front gate on the two swapped qubits can have become runnable; if none did, the front stays as it
        # is (all blocked) and the next swap is chosen at once, unless the valve is due.
        if swaps > swap_floor and log_fid + left_2q * best_gate_log < give_up:
            return events[:n_events], v2p, swaps, log_fid, False
        if since_gate > valve:
            settled = False
        for v in (vs, vt):
            if v >= 0 and front_of[v] >= 0 and dist[v2p[v], v2p[front_of[v]]] == 1:
                settled = False
    return events[:n_events], v2p, swaps, log_fid, True
