"""SABRE routing (Li, Ding, Xie 2019): insert swaps so every two-qubit gate acts on coupled physical qubits.

The front layer holds the operations whose predecessors are done. Executable ones are emitted; when only
uncoupled two-qubit gates remain, every swap touching one of their qubits is scored by the distance it leaves for
the front layer plus a weighted look-ahead over the next ``extended_size`` two-qubit gates, multiplied by a decay
that discourages swapping the same qubits over and over. Ties go to a seeded random choice, and a calibrated swap
error breaks near-ties (noise-aware). A release valve routes the closest gate along a shortest path when the
heuristic stops making progress.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xihe.circuit import Gate, Operation
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.target import UNREACHABLE, Target

SWAP = Gate("swap")
EXTENDED_SIZE = 20
EXTENDED_WEIGHT = 0.5
DECAY_DELTA = 0.001
DECAY_RESET = 5
ERROR_WEIGHT = 1e-3


@dataclass
class RoutingResult:
    ops: list[Operation]
    final_layout: list[int]
    swaps: int
    log_fidelity: float


class SabreRouter:
    """Routes DAGs for one target; reuse it across trials (it caches the distance table as lists)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.dist: list[list[int]] = target.distance.tolist()
        self.neighbors = target.neighbors
        self.num_physical = target.num_qubits
        finite = target.distance[target.distance < UNREACHABLE]
        self.valve = 3 * max(1, int(finite.max()) if finite.size else 1) + 10
        self.swap_error = {
            (a, b): target.two_qubit_error(a, b) for a, b in target.edges
        }

    def route(self, dag: DAGCircuit, layout: list[int], rng: np.random.Generator, emit: bool = True) -> RoutingResult:
        """Route ``dag`` (virtual qubits) from ``layout`` (virtual -> physical); ops come out on physical qubits."""
        ops = dag.ops
        succ = dag.successors()
        indeg = dag.in_degrees(succ)
        v2p = list(layout)
        p2v = [-1] * self.num_physical
        for v, p in enumerate(v2p):
            p2v[p] = v
        decay = [1.0] * self.num_physical
        out: list[Operation] = []
        log_fid = 0.0
        swaps = 0
        swaps_since_gate = 0
        valve = self.valve
        front = [i for i, d in enumerate(indeg) if d == 0]
        is2q = [op.gate.is_unitary and len(op.qubits) == 2 for op in ops]
        while front:
            front, executed, lf = self._execute(front, ops, succ, indeg, is2q, v2p, out if emit else None)
            log_fid += lf
            if executed:
                swaps_since_gate = 0
                decay = [1.0] * self.num_physical
            if not front:
                break
            if swaps_since_gate > valve:
                path = self._shortest_path_swaps(front, ops, v2p)
                for s, t in path:
                    self._apply_swap(s, t, v2p, p2v, out if emit else None)
                    log_fid += 3 * np.log1p(-min(self.swap_error.get((min(s, t), max(s, t)), 0.0), 0.999))
                swaps += len(path)
                swaps_since_gate = 0
                continue
            s, t = self._choose_swap(front, ops, succ, is2q, v2p, decay, rng)
            self._apply_swap(s, t, v2p, p2v, out if emit else None)
            log_fid += 3 * np.log1p(-min(self.swap_error.get((min(s, t), max(s, t)), 0.0), 0.999))
            swaps += 1
            swaps_since_gate += 1
            decay[s] += DECAY_DELTA
            decay[t] += DECAY_DELTA
            if swaps % DECAY_RESET == 0:
                decay = [1.0] * self.num_physical
        return RoutingResult(out, v2p, swaps, float(log_fid))

    def _execute(self, front, ops, succ, indeg, is2q, v2p, out):  # type: ignore[no-untyped-def]
        """Emit everything executable, repeatedly; return the blocked front, whether a gate ran, log fidelity."""
        dist = self.dist
        executed = False
        log_fid = 0.0
        while True:
            blocked = []
            ready = []
            for i in front:
                op = ops[i]
                if is2q[i]:
                    a, b = v2p[op.qubits[0]], v2p[op.qubits[1]]
                    if dist[a][b] != 1:
                        blocked.append(i)
                        continue
                    log_fid += np.log1p(-min(self.swap_error.get((min(a, b), max(a, b)), 0.0), 0.999))
                ready.append(i)
            if not ready:
                return blocked, executed, log_fid
            executed = True
            for i in ready:
                if out is not None:
                    op = ops[i]
                    out.append(op.replace(qubits=tuple(v2p[q] for q in op.qubits)))
                for j in succ[i]:
                    indeg[j] -= 1
                    if indeg[j] == 0:
                        blocked.append(j)
            front = blocked

    def _extended_set(self, front, ops, succ, is2q):  # type: ignore[no-untyped-def]
        seen = set(front)
        queue = list(front)
        ext: list[int] = []
        k = 0
        while k < len(queue) and len(ext) < EXTENDED_SIZE:
            for j in succ[queue[k]]:
                if j not in seen:
                    seen.add(j)
                    queue.append(j)
                    if is2q[j]:
                        ext.append(j)
                        if len(ext) >= EXTENDED_SIZE:
                            break
            k += 1
        return ext

    def _choose_swap(self, front, ops, succ, is2q, v2p, decay, rng):  # type: ignore[no-untyped-def]
        dist = self.dist
        front_pairs = [(v2p[ops[i].qubits[0]], v2p[ops[i].qubits[1]]) for i in front]
        ext_pairs = [(v2p[ops[i].qubits[0]], v2p[ops[i].qubits[1]]) for i in self._extended_set(front, ops, succ, is2q)]
        candidates: set[tuple[int, int]] = set()
        for a, b in front_pairs:
            for p in (a, b):
                for nb in self.neighbors[p]:
                    candidates.add((p, nb) if p < nb else (nb, p))
        base_front = sum(dist[a][b] for a, b in front_pairs)
        base_ext = sum(dist[a][b] for a, b in ext_pairs)
        best: list[tuple[int, int]] = []
        best_score = float("inf")
        nf = len(front_pairs)
        ne = len(ext_pairs)
        for s, t in sorted(candidates):
            cost_front = base_front + self._delta(front_pairs, s, t)
            score = cost_front / nf
            if ne:
                score += EXTENDED_WEIGHT * (base_ext + self._delta(ext_pairs, s, t)) / ne
            score = score * max(decay[s], decay[t]) + ERROR_WEIGHT * self.swap_error.get((s, t), 0.0)
            if score < best_score - 1e-12:
                best_score = score
                best = [(s, t)]
            elif abs(score - best_score) <= 1e-12:
                best.append((s, t))
        return best[int(rng.integers(len(best)))] if len(best) > 1 else best[0]

    def _delta(self, pairs, s, t):  # type: ignore[no-untyped-def]
        """Change of the summed distance of ``pairs`` if physical ``s`` and ``t`` swap contents."""
        dist = self.dist
        change = 0
        for a, b in pairs:
            if a in (s, t) or b in (s, t):
                na = t if a == s else s if a == t else a
                nb = t if b == s else s if b == t else b
                change += dist[na][nb] - dist[a][b]
        return change

    def _apply_swap(self, s: int, t: int, v2p: list[int], p2v: list[int], out: list[Operation] | None) -> None:
        vs, vt = p2v[s], p2v[t]
        p2v[s], p2v[t] = vt, vs
        if vs >= 0:
            v2p[vs] = t
        if vt >= 0:
            v2p[vt] = s
        if out is not None:
            out.append(Operation(SWAP, (s, t)))

    def _shortest_path_swaps(self, front, ops, v2p):  # type: ignore[no-untyped-def]
        """Swaps that bring the closest blocked gate's qubits next to each other."""
        dist = self.dist
        i = min(front, key=lambda k: dist[v2p[ops[k].qubits[0]]][v2p[ops[k].qubits[1]]])
        a, b = v2p[ops[i].qubits[0]], v2p[ops[i].qubits[1]]
        swaps = []
        while dist[a][b] > 1:
            nxt = min(self.neighbors[a], key=lambda n: (dist[n][b], n))
            swaps.append((a, nxt))
            a = nxt
        return swaps
