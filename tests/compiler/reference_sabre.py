"""The SABRE routing kernel and layout placement as they were before issue 19's fifth pass (and VF2 scoring before its
sixth), kept as the test oracle.

The kernel rebuilt its front and extended-set tables and scanned its whole front after every swap; placement was
Python over ``Counter``s and ``np.ix_`` slices; dense regions were regrown from scratch for every qubit added. The
current code (:mod:`xihe.compiler.passes.sabre_kernel`, :mod:`xihe.compiler.passes.layout`) must give the same
routings and placements.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import rustworkx as rx
from numba import njit

from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes.layout import (
    IdleDecay,
    _log1m,
    complete_layout,
    interaction_counts,
    layout_target,
    one_qubit_cost,
)
from xihe.compiler.passes.sabre_kernel import (
    DECAY_DELTA,
    DECAY_RESET,
    EXTENDED_SIZE,
    EXTENDED_WEIGHT,
    MERGE_FACTOR,
    _push,
)
from xihe.compiler.target import Target
from xihe.errors import CompileError


@njit(cache=True)
def reference_route_kernel(succ_ptr: np.ndarray, succ_idx: np.ndarray, indeg_in: np.ndarray, q0: np.ndarray,
                       q1: np.ndarray, is_measure: np.ndarray, dist: np.ndarray, nbr_ptr: np.ndarray,
                       nbr_idx: np.ndarray, swap_err: np.ndarray, layout: np.ndarray, valve: int, seed: int,
                       emit: bool, error_weight: float):  # type: ignore[no-untyped-def]
    np.random.seed(seed)
    n_nodes = indeg_in.shape[0]
    num_phys = dist.shape[0]
    indeg = indeg_in.copy()
    v2p = layout.copy()
    p2v = -np.ones(num_phys, dtype=np.int64)
    for v in range(v2p.shape[0]):
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
    pair_stamp = np.zeros((num_phys, num_phys), dtype=np.int64)
    current = 0
    ext = np.empty(EXTENDED_SIZE, dtype=np.int64)
    queue = np.empty(n_nodes, dtype=np.int64)
    cand_s = np.empty(num_phys * 8, dtype=np.int64)
    cand_t = np.empty(num_phys * 8, dtype=np.int64)
    best_s = np.empty(num_phys * 8, dtype=np.int64)
    best_t = np.empty(num_phys * 8, dtype=np.int64)
    front_at = -np.ones(num_phys, dtype=np.int64)  # physical qubit -> the other qubit of its front gate
    ext_head = -np.ones(num_phys, dtype=np.int64)  # physical qubit -> its extended-set gates (linked list)
    ext_next = np.empty(2 * EXTENDED_SIZE, dtype=np.int64)
    ext_other = np.empty(2 * EXTENDED_SIZE, dtype=np.int64)
    swaps = 0
    since_gate = 0
    log_fid = 0.0
    ext_stale = True
    n_ext = 0
    while nf > 0:
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
            ext_stale = True
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
                va, vn = p2v[a], p2v[nxt]
                p2v[a], p2v[nxt] = vn, va
                last_partner[a] = -1
                last_partner[nxt] = -1
                if va >= 0:
                    v2p[va] = nxt
                if vn >= 0:
                    v2p[vn] = a
                if emit:
                    events = _push(events, n_events, -(a * num_phys + nxt) - 1)
                    n_events += 1
                log_fid += 3.0 * np.log1p(-min(swap_err[a, nxt], 0.999))
                swaps += 1
                a = nxt
            since_gate = 0
            ext_stale = True
            continue
        # Extended set: the next 2q gates after the front, breadth first. It depends on the front alone, so it is
        # kept while swaps follow swaps without a gate running.
        current += 1
        if ext_stale:
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
            ext_stale = False
        # Candidate swaps: every coupler touching a blocked gate's qubit.
        nc = 0
        n2 = 0
        for k in range(nf):
            i = front[k]
            if q0[i] < 0:
                continue
            n2 += 1
            for side in range(2):
                p = v2p[q0[i]] if side == 0 else v2p[q1[i]]
                for s in range(nbr_ptr[p], nbr_ptr[p + 1]):
                    n = nbr_idx[s]
                    lo = min(p, n)
                    hi = max(p, n)
                    if pair_stamp[lo, hi] != current:
                        pair_stamp[lo, hi] = current
                        cand_s[nc] = lo
                        cand_t[nc] = hi
                        nc += 1
        # Scores by difference: a swap moves two physical qubits, so only the gates on them change distance. The
        # sums are integers, so the scores are exactly those of summing every gate's distance per candidate.
        base_front = 0
        for k in range(nf):
            i = front[k]
            if q0[i] < 0:
                continue
            a = v2p[q0[i]]
            b = v2p[q1[i]]
            front_at[a] = b
            front_at[b] = a
            base_front += dist[a, b]
        base_ext = 0
        for k in range(n_ext):
            i = ext[k]
            a = v2p[q0[i]]
            b = v2p[q1[i]]
            base_ext += dist[a, b]
            ext_other[2 * k] = b
            ext_next[2 * k] = ext_head[a]
            ext_head[a] = 2 * k
            ext_other[2 * k + 1] = a
            ext_next[2 * k + 1] = ext_head[b]
            ext_head[b] = 2 * k + 1
        best_score = 1e300
        n_best = 0
        for c in range(nc):
            s_ = cand_s[c]
            t_ = cand_t[c]
            front_delta = 0
            o = front_at[s_]
            if o >= 0 and o != t_:
                front_delta += dist[t_, o] - dist[s_, o]
            o = front_at[t_]
            if o >= 0 and o != s_:
                front_delta += dist[s_, o] - dist[t_, o]
            score = float(base_front + front_delta) / n2
            if n_ext > 0:
                ext_delta = 0
                e = ext_head[s_]
                while e >= 0:
                    o = ext_other[e]
                    if o != t_:
                        ext_delta += dist[t_, o] - dist[s_, o]
                    e = ext_next[e]
                e = ext_head[t_]
                while e >= 0:
                    o = ext_other[e]
                    if o != s_:
                        ext_delta += dist[s_, o] - dist[t_, o]
                    e = ext_next[e]
                score += EXTENDED_WEIGHT * float(base_ext + ext_delta) / n_ext
            score = score * max(decay[s_], decay[t_]) + error_weight * swap_err[s_, t_]
            if last_partner[s_] == t_ and last_partner[t_] == s_:
                score *= MERGE_FACTOR
            if score < best_score - 1e-12:
                best_score = score
                n_best = 0
            if score <= best_score + 1e-12:
                best_s[n_best] = s_
                best_t[n_best] = t_
                n_best += 1
        for k in range(nf):
            i = front[k]
            if q0[i] >= 0:
                front_at[v2p[q0[i]]] = -1
                front_at[v2p[q1[i]]] = -1
        for k in range(n_ext):
            i = ext[k]
            ext_head[v2p[q0[i]]] = -1
            ext_head[v2p[q1[i]]] = -1
        pick = np.random.randint(0, n_best) if n_best > 1 else 0
        s_ = best_s[pick]
        t_ = best_t[pick]
        vs, vt = p2v[s_], p2v[t_]
        p2v[s_], p2v[t_] = vt, vs
        for p in (s_, t_):
            if last_partner[p] >= 0:
                last_partner[last_partner[p]] = -1
            last_partner[p] = -1
        if vs >= 0:
            v2p[vs] = t_
        if vt >= 0:
            v2p[vt] = s_
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
    return events[:n_events], v2p, swaps, log_fid


def reference_dense_region(target: Target, start: int, size: int, rng: np.random.Generator, noise: float) -> list[int]:
    """Grow a connected set of ``size`` working qubits from ``start``, preferring well-connected, low-error ones."""
    region = [start]
    inside = {start}
    while len(region) < size:
        scores: dict[int, float] = {}
        for q in region:
            for nb in target.neighbors[q]:
                if nb in inside:
                    continue
                err = target.two_qubit_error(q, nb)
                scores[nb] = scores.get(nb, 0.0) + 1.0 - 5.0 * err
        if not scores:
            raise CompileError(f"no connected group of {size} working qubits (largest is {len(region)})")
        pick = max(scores, key=lambda q: scores[q] + noise * float(rng.random()))
        region.append(pick)
        inside.add(pick)
    return region


def reference_place_on_region(dag: DAGCircuit, region: list[int], target: Target, rng: np.random.Generator,
                    shuffle: bool, home: Target | None = None,
                    facts: tuple[Counter[tuple[int, int]], list[int]] | None = None) -> list[int]:
    """Map virtual qubits onto ``region``: heaviest interacting first, each next to its placed partners; qubits the
    circuit declares but never uses go to the best free working qubits of ``home`` (the whole device).

    ``facts``: the DAG's :func:`interaction_counts` and active qubits, when the caller has them (every layout trial
    asks for the same).
    """
    counts, active_list = facts if facts is not None else (interaction_counts(dag), dag.active_qubits())
    weight: Counter[int] = Counter()
    partners: dict[int, Counter[int]] = {}
    for (a, b), n in counts.items():
        weight[a] += n
        weight[b] += n
        partners.setdefault(a, Counter())[b] += n
        partners.setdefault(b, Counter())[a] += n
    active = set(active_list)
    order = sorted(range(dag.num_qubits), key=lambda v: (-weight[v], v not in active, v))
    if shuffle:
        heavy = [v for v in order if weight[v]]
        order = [int(v) for v in rng.permutation(heavy)] + [v for v in order if not weight[v]]
    dist = target.distance
    free = list(region)
    place: dict[int, int] = {}
    for v in order:
        if not free:
            break
        placed = [(place[u], n) for u, n in partners.get(v, Counter()).items() if u in place]
        if placed:
            # The free qubit with the least weighted distance to v's placed partners, the lowest-numbered on a tie
            # (integer sums: the same choice as summing per qubit).
            cost = dist[np.ix_(free, [pu for pu, _ in placed])] @ np.array([n for _, n in placed], dtype=np.int64)
            best = cost.min()
            p = min(q for q, c in zip(free, cost.tolist(), strict=True) if c == best)
        else:
            p = free[0]
        place[v] = p
        free.remove(p)
    return complete_layout(place, dag.num_qubits, home or target)




def reference_vf2_layout(dag: DAGCircuit, target: Target, call_limit: int = 30_000,
                         max_mappings: int = 2_000) -> list[int] | None:
    """VF2Layout's choice as it was before issue 19's sixth pass: each mapping scored in Python, one at a time
    (the first with the least score wins); ``None`` where no swap-free mapping is found. With the idle-decay term of
    the fifth pass (each qubit's wait at its physical qubit's relaxation rate, :class:`IdleDecay`)."""
    target_view = layout_target(target, max(len(dag.active_qubits()), 1))
    counts = interaction_counts(dag)
    measured = {op.qubits[0] for op in dag.ops if op.gate.name == "measure"}
    active = dag.active_qubits()
    if not counts or len(active) > len(target_view.working_qubits):
        return None
    virtual = rx.PyGraph()
    vidx = {v: virtual.add_node(v) for v in active}
    for (a, b), n in counts.items():
        virtual.add_edge(vidx[a], vidx[b], n)
    physical = rx.PyGraph()
    pidx = {q: physical.add_node(q) for q in target_view.working_qubits}
    for a, b in target_view.edges:
        physical.add_edge(pidx[a], pidx[b], None)
    mappings = rx.vf2_mapping(physical, virtual, subgraph=True, induced=False, id_order=False, call_limit=call_limit)
    gate_counts = Counter(q for op in dag.ops if op.gate.is_unitary and len(op.qubits) == 1 for q in op.qubits)
    qubit_cost = one_qubit_cost(target_view)
    best: tuple[float, dict[int, int]] | None = None
    pairs = list(counts.items())
    idle = IdleDecay.of(dag, target)
    weights = {v: (v in measured, 1e-3 * gate_counts.get(v, 0)) for v in active}
    for k, mapping in enumerate(mappings):
        if k >= max_mappings:
            break
        place = {virtual[vn]: physical[pn] for pn, vn in mapping.items()}
        score = 0.0
        for (a, b), n in pairs:
            score -= n * _log1m(target_view.two_qubit_error(place[a], place[b]))
        for v, p in place.items():
            is_measured, gates = weights[v]
            score += is_measured * qubit_cost[p] + gates * qubit_cost[p] + idle.wait[v] * idle.rate[p]
        if best is None or score < best[0]:
            best = (score, place)
    return None if best is None else complete_layout(dict(best[1]), dag.num_qubits, target)
