"""SABRE routing (Li, Ding, Xie 2019): insert swaps so every two-qubit gate acts on coupled physical qubits.

The front layer holds the operations whose predecessors are done. Executable ones are emitted; when only
uncoupled two-qubit gates remain, every swap touching one of their qubits is scored by the distance it leaves for
the front layer plus a weighted look-ahead over the next ``extended_size`` two-qubit gates, multiplied by a decay
that discourages swapping the same qubits over and over. Ties go to a seeded random choice, and a calibrated swap
error breaks near-ties (noise-aware). A release valve routes the closest gate along a shortest path when the
heuristic stops making progress. The loop itself runs compiled (:mod:`.sabre_kernel`); this module prepares the
arrays and turns the kernel's events back into operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xihe.circuit import Gate, IfElse, Operation
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes.control import route_block
from xihe.compiler.passes.sabre_kernel import ERROR_WEIGHT, sabre_route_kernel
from xihe.compiler.target import UNREACHABLE, Target

SWAP = Gate("swap")


@dataclass
class RoutingResult:
    """A routing's operations (when emitted), final layout, swap count and log-fidelity of its 2q gates and swaps.

    ``finished`` is false for a routing abandoned part way (see :meth:`SabreRouter.route`'s ``give_up``).
    """

    ops: list[Operation]
    final_layout: list[int]
    swaps: int
    log_fidelity: float
    finished: bool = True


@dataclass
class RoutingProblem:
    """A DAG in the kernel's array form (prepared once, routed by many trials)."""

    dag: DAGCircuit
    succ_ptr: np.ndarray
    succ_idx: np.ndarray
    indeg: np.ndarray
    q0: np.ndarray
    q1: np.ndarray
    is_measure: np.ndarray


class SabreRouter:
    """Routes DAGs for one target; reuse it across trials (it keeps the distance and error tables)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.num_physical = target.num_qubits
        self.dist = np.ascontiguousarray(target.distance, dtype=np.int64)
        ptr = [0]
        idx: list[int] = []
        for q in range(target.num_qubits):
            idx.extend(target.neighbors.get(q, ()))
            ptr.append(len(idx))
        self.nbr_ptr = np.array(ptr, dtype=np.int64)
        self.nbr_idx = np.array(idx, dtype=np.int64)
        self.swap_err = np.zeros((target.num_qubits, target.num_qubits))
        for a, b in target.edges:
            self.swap_err[a, b] = self.swap_err[b, a] = target.two_qubit_error(a, b)
        finite = target.distance[target.distance < UNREACHABLE]
        self.valve = 3 * max(1, int(finite.max()) if finite.size else 1) + 10
        # The best a routed 2q gate can add to the log-fidelity (the best coupler's term), for abandonment.
        couplers = [self.swap_err[a, b] for a, b in target.edges]
        self.best_gate_log = float(np.log1p(-min(min(couplers), 0.999))) if couplers else 0.0

    @staticmethod
    def prepare(dag: DAGCircuit) -> RoutingProblem:
        succ = dag.successors()
        ptr = np.zeros(len(succ) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(s) for s in succ])
        idx = np.array([j for s in succ for j in s], dtype=np.int64)
        indeg = np.array(dag.in_degrees(succ), dtype=np.int64)
        q0 = np.full(len(dag.ops), -1, dtype=np.int64)
        q1 = np.full(len(dag.ops), -1, dtype=np.int64)
        for i, op in enumerate(dag.ops):
            if op.gate.is_unitary and len(op.qubits) == 2:
                q0[i], q1[i] = op.qubits
        is_measure = np.array([op.gate.name == "measure" for op in dag.ops], dtype=np.bool_)
        return RoutingProblem(dag, ptr, idx, indeg, q0, q1, is_measure)

    def check(self, problem: RoutingProblem, layout: list[int]) -> None:
        """Raise ``ValueError`` if some two-qubit gate's qubits start in different connected groups of the target:
        the kernel's swaps could never bring them together (it would swap forever), a caller's bug. Swaps keep every
        qubit in its group, so a layout a routing ends with needs no check."""
        placed = np.array(layout, dtype=np.int64)
        pairs = problem.q0 >= 0
        if np.any(self.dist[placed[problem.q0[pairs]], placed[problem.q1[pairs]]] >= UNREACHABLE):
            raise ValueError("a two-qubit gate's qubits are placed in different connected groups of the target")

    def route(self, dag: DAGCircuit | RoutingProblem, layout: list[int], rng: np.random.Generator,
              emit: bool = True, error_weight: float = ERROR_WEIGHT,
              give_up: tuple[float, int] | None = None, checked: bool = False) -> RoutingResult:
        """Route (virtual qubits) from ``layout`` (virtual -> physical); ops come out on physical qubits.

        ``give_up = (log_fidelity, swaps)``: stop (``finished`` false) once the routing has more than ``swaps``
        swaps and can no longer end with a log-fidelity of at least ``log_fidelity`` (a layout trial that can no
        longer be among the kept ones). ``checked``: the caller has :meth:`check`-ed ``layout`` (or a layout it was
        routed from) for this problem; layout trials route thousands of times from a few checked starts.
        """
        problem = dag if isinstance(dag, RoutingProblem) else self.prepare(dag)
        if not checked:
            self.check(problem, layout)
        floor, swap_floor = give_up if give_up is not None else (-np.inf, 0)
        events, final, swaps, log_fid, finished = sabre_route_kernel(
            problem.succ_ptr, problem.succ_idx, problem.indeg, problem.q0, problem.q1, problem.is_measure, self.dist,
            self.nbr_ptr, self.nbr_idx, self.swap_err, np.array(layout, dtype=np.int64), self.valve,
            int(rng.integers(1 << 31)), emit, float(error_weight), float(floor), self.best_gate_log, int(swap_floor))
        ops: list[Operation] = []
        if emit:
            ops = self._replay(problem.dag.ops, events, layout)
        return RoutingResult(ops, final.tolist(), int(swaps), float(log_fid), bool(finished))

    def _replay(self, source: list[Operation], events: np.ndarray, layout: list[int]) -> list[Operation]:
        v2p = list(layout)
        p2v = [-1] * self.num_physical
        for v, p in enumerate(v2p):
            p2v[p] = v
        out: list[Operation] = []
        n = self.num_physical
        for e in events.tolist():
            if e >= 0:
                op = source[e]
                placed = op.replace(qubits=tuple(v2p[q] for q in op.qubits))
                out.append(route_block(placed, self.target) if isinstance(placed, IfElse) else placed)
                continue
            code = -e - 1
            s, t = divmod(code, n)
            vs, vt = p2v[s], p2v[t]
            p2v[s], p2v[t] = vt, vs
            if vs >= 0:
                v2p[vs] = t
            if vt >= 0:
                v2p[vt] = s
            out.append(Operation(SWAP, (s, t)))
        return out
