"""Layout: which physical qubit each virtual qubit starts on, chosen with the calibration in view.

:class:`VF2Layout` looks for an embedding of the circuit's interaction graph into the working coupling graph
(subgraph monomorphism, as Qiskit's VF2Layout) and scores each found embedding by the calibrated errors of the
gates and readouts it would use and the idle decay of the qubits it puts the circuit's waits on; if one exists no
swap is needed. :class:`SabreLayout` otherwise: several seeded trials, each starting from a dense low-error region
of the chip, refined by forward-backward SABRE passes, routed, and the trials ranked by estimated success (the
log-fidelity of every routed two-qubit gate and swap on its coupler, plus the readouts and the idle decay of the
qubits it waits on, :class:`IdleDecay`), not by swap count.

Both choose the chip region first (:func:`layout_target`): a circuit as wide as one of the chip file's
``priority_qubits`` groups goes there; otherwise couplers far worse than the chip's typical ones (dongling's ~10 %
error couplers) are left out whenever a connected group large enough for the circuit remains without them.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from dataclasses import dataclass

import numpy as np
import rustworkx as rx
from numba import njit

from xihe.circuit import walk
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.estimate import idle_log_fidelity
from xihe.compiler.passes.sabre import RoutingProblem, RoutingResult, SabreRouter
from xihe.compiler.passes.sabre_kernel import ERROR_WEIGHT
from xihe.compiler.passes.schedule import idle_times
from xihe.compiler.target import UNREACHABLE, Target
from xihe.compiler.threads import compile_threads, run_striped
from xihe.errors import CompileError


def interaction_counts(dag: DAGCircuit) -> Counter[tuple[int, int]]:
    """How many two-qubit gates act on each unordered pair of virtual qubits."""
    counts: Counter[tuple[int, int]] = Counter()
    for op in walk(dag.ops):  # inside if blocks too: routing there costs swaps as well
        if op.gate.is_unitary and len(op.qubits) == 2:
            a, b = op.qubits
            counts[(min(a, b), max(a, b))] += 1
    return counts


# Coupler error thresholds tried in turn (strictest first); a coupler above the chosen one is never used.
PRUNE_LADDER = (0.05, 0.065, 0.075)


def layout_target(target: Target, num_qubits: int) -> Target:
    """The part of ``target`` a circuit of ``num_qubits`` qubits is laid out and routed on.

    A priority group of exactly that size (the first listed); else the working qubits without the couplers above the
    strictest threshold of :data:`PRUNE_LADDER` that still leaves a connected group with some room to route
    (``num_qubits`` plus a quarter), or failing that, any group of ``num_qubits``; else the whole target.
    """
    if target.unconstrained:
        return target
    for group in target.priority_qubits:
        if len(group) == num_qubits:
            return target.restricted(group)
    errors = sorted(target.two_qubit_error(a, b) for a, b in target.edges)
    if not errors:
        return target
    fallback = None
    for limit in PRUNE_LADDER:
        if limit >= errors[-1]:
            break
        view = target.restricted(max_error=limit)
        largest = len(view.components[0]) if view.components else 0
        if largest >= num_qubits + max(2, num_qubits // 4):
            return view
        if fallback is None and largest >= num_qubits:
            fallback = view
    if fallback is not None:
        return fallback
    worst = target.restricted(max_error=PRUNE_LADDER[-1])
    if errors[-1] > PRUNE_LADDER[-1] and worst.components and len(worst.components[0]) >= num_qubits:
        return worst
    return target


def _log1m(x: float) -> float:
    return math.log1p(-min(x, 0.999999))


def one_qubit_cost(target: Target) -> dict[int, float]:
    """A per-qubit badness: readout error plus a small weight on short T1 (more idle decay)."""
    out = {}
    for q in target.working_qubits:
        t1 = target.t1.get(q, 0.0)
        relax = 1000.0 / t1 if t1 > 0 else 0.0
        out[q] = (1 - target.readout_fidelity(q)) + 0.01 * relax
    return out


def complete_layout(layout: dict[int, int], num_virtual: int, target: Target) -> list[int]:
    """Give every virtual qubit without a place the best free working qubit (idle qubits need a home too)."""
    if len(layout) == num_virtual and all(v in layout for v in range(num_virtual)):
        return [layout[v] for v in range(num_virtual)]  # nothing to place (every layout trial of most circuits)
    used = set(layout.values())
    cost = one_qubit_cost(target)
    free = sorted((q for q in target.working_qubits if q not in used), key=lambda q: (cost[q], q))
    out = []
    for v in range(num_virtual):
        if v not in layout:
            if not free:
                raise CompileError(f"the circuit needs {num_virtual} qubits; the device has "
                                   f"{len(target.working_qubits)} working")
            layout[v] = free.pop(0)
        out.append(layout[v])
    return out


class VF2Layout:
    """Analysis pass: set ``properties['layout']`` to the best swap-free placement, if one exists."""

    def __init__(self, target: Target, call_limit: int = 30_000, max_mappings: int = 2_000) -> None:
        self.target = target
        self.call_limit = call_limit
        self.max_mappings = max_mappings

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        if self.target.unconstrained:
            return dag
        target = layout_target(self.target, max(len(dag.active_qubits()), 1))
        counts = interaction_counts(dag)
        measured = {op.qubits[0] for op in dag.ops if op.gate.name == "measure"}
        active = dag.active_qubits()
        if not counts or len(active) > len(target.working_qubits):
            return dag
        virtual = rx.PyGraph()
        vidx = {v: virtual.add_node(v) for v in active}
        for (a, b), n in counts.items():
            virtual.add_edge(vidx[a], vidx[b], n)
        physical = rx.PyGraph()
        pidx = {q: physical.add_node(q) for q in target.working_qubits}
        for a, b in target.edges:
            physical.add_edge(pidx[a], pidx[b], None)
        mappings = rx.vf2_mapping(physical, virtual, subgraph=True, induced=False, id_order=False,
                                  call_limit=self.call_limit)
        # Each mapping (physical node -> virtual node) as one row: its keys, then its values, in its own order
        # (every mapping places all of ``active``). Read straight into one array: a 20-qubit chain on grid36 has its
        # 2,000 mappings, and building a tuple of each then an array of those cost half of VF2's time (issue 19).
        flat = np.fromiter(itertools.chain.from_iterable((*mapping.keys(), *mapping.values())
                                                         for mapping in itertools.islice(mappings, self.max_mappings)),
                           dtype=np.int64)
        if not flat.size:
            return dag
        gate_counts = Counter(q for op in dag.ops if op.gate.is_unitary and len(op.qubits) == 1 for q in op.qubits)
        qubit_cost = one_qubit_cost(target)
        idle = IdleDecay.of(dag, self.target)
        # The score's terms by node index, computed once (thousands of mappings share them): each coupler's
        # log-fidelity (``two_qubit_error`` is the same either way round), each physical qubit's cost, each virtual
        # qubit's weights.
        coupler = np.zeros((len(pidx), len(pidx)))
        for a, b in target.edges:
            coupler[pidx[a], pidx[b]] = coupler[pidx[b], pidx[a]] = _log1m(target.two_qubit_error(a, b))
        rows = flat.reshape(-1, 2 * len(active))
        keys, values = np.ascontiguousarray(rows[:, : len(active)]), np.ascontiguousarray(rows[:, len(active):])
        best = _best_mapping(
            keys, values, np.array([vidx[a] for a, _ in counts], dtype=np.int64),
            np.array([vidx[b] for _, b in counts], dtype=np.int64), np.array(list(counts.values()), dtype=float),
            coupler, np.array([float(v in measured) for v in active]),
            np.array([1e-3 * gate_counts.get(v, 0) for v in active]),
            np.array([qubit_cost[q] for q in target.working_qubits]), idle.wait[active],
            idle.rate[list(target.working_qubits)])
        place = {virtual[vn]: physical[pn] for pn, vn in zip(keys[best].tolist(), values[best].tolist(), strict=True)}
        properties["layout"] = complete_layout(place, dag.num_qubits, self.target)
        properties["layout_method"] = "vf2"
        return dag


@njit(cache=True)
def _best_mapping(keys: np.ndarray, values: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray, pair_n: np.ndarray,
                  coupler: np.ndarray, measured: np.ndarray, gates: np.ndarray, qubit_cost: np.ndarray,
                  wait: np.ndarray, rate: np.ndarray) -> int:
    """The first of the mappings (row ``m``: physical node ``keys[m, j]`` holds virtual node ``values[m, j]``) with
    the least score: less the count-weighted log-fidelity of each interacting pair's coupler, plus each qubit's
    readout and gate weights times its physical qubit's cost, plus its idle decay (its ``wait`` at its physical
    qubit's relaxation ``rate``, :class:`IdleDecay`: no swaps here, so it stays where it starts). The terms are
    added in the order VF2Layout added them one mapping at a time in Python (pairs, then the mapping's own order), so
    the sums and the choice are the same.
    """
    place = np.empty(values.shape[1], dtype=np.int64)
    best = -1
    best_score = 0.0
    for m in range(keys.shape[0]):
        for j in range(keys.shape[1]):
            place[values[m, j]] = keys[m, j]
        score = 0.0
        for k in range(pair_a.shape[0]):
            score -= pair_n[k] * coupler[place[pair_a[k]], place[pair_b[k]]]
        for j in range(keys.shape[1]):
            p = keys[m, j]
            v = values[m, j]
            score += measured[v] * qubit_cost[p] + gates[v] * qubit_cost[p] + wait[v] * rate[p]
        if best < 0 or score < best_score:
            best = m
            best_score = score
    return best


def dense_region(target: Target, start: int, size: int, rng: np.random.Generator, noise: float) -> list[int]:
    """Grow a connected set of ``size`` working qubits from ``start``, preferring well-connected, low-error ones."""
    region = [start]
    inside = {start}
    # Each outside neighbour's score, kept as the region grows (each new member adds its couplers' terms; the
    # dict's order is that of first contact, which is what the draws and ties follow).
    scores: dict[int, float] = {}

    def touch(q: int) -> None:
        for nb in target.neighbors[q]:
            if nb not in inside:
                scores[nb] = scores.get(nb, 0.0) + 1.0 - 5.0 * target.two_qubit_error(q, nb)

    touch(start)
    while len(region) < size:
        if not scores:
            raise CompileError(f"no connected group of {size} working qubits (largest is {len(region)})")
        pick, best = -1, -math.inf
        for q, draw in zip(scores, rng.random(len(scores)).tolist(), strict=True):
            value = scores[q] + noise * draw
            if value > best:
                pick, best = q, value
        del scores[pick]
        region.append(pick)
        inside.add(pick)
        touch(pick)
    return region


@dataclass(frozen=True)
class Interactions:
    """What every layout trial asks of the circuit, computed once: the two-qubit gate count of each pair of virtual
    qubits (:func:`interaction_counts`) as a matrix, each qubit's total, and the qubits it acts on."""

    counts: np.ndarray  # (num_qubits, num_qubits), symmetric
    active: list[int]

    @classmethod
    def of(cls, dag: DAGCircuit) -> Interactions:
        counts = np.zeros((dag.num_qubits, dag.num_qubits), dtype=np.int64)
        for (a, b), n in interaction_counts(dag).items():
            counts[a, b] = counts[b, a] = n
        return cls(counts, dag.active_qubits())


@njit(cache=True)
def _place_kernel(order: np.ndarray, counts: np.ndarray, region: np.ndarray,
                  dist: np.ndarray) -> np.ndarray:
    """Physical qubit of each virtual qubit in ``order`` (``-1`` once ``region`` is used up): the free qubit with the
    least count-weighted distance to the placed partners, the lowest-numbered on a tie; the first free one (in
    ``region``'s order) for a qubit with no placed partner."""
    n = counts.shape[0]
    place = -np.ones(n, dtype=np.int64)
    free = region.copy()
    n_free = free.shape[0]
    for v in order:
        if n_free == 0:
            break
        partnered = False
        for u in range(n):
            if counts[v, u] > 0 and place[u] >= 0:
                partnered = True
                break
        at = 0
        if partnered:
            best = 0
            for k in range(n_free):
                q = free[k]
                cost = 0
                for u in range(n):
                    if counts[v, u] > 0 and place[u] >= 0:
                        cost += counts[v, u] * dist[q, place[u]]
                if k == 0 or cost < best or (cost == best and q < free[at]):
                    best = cost
                    at = k
        place[v] = free[at]
        for k in range(at, n_free - 1):
            free[k] = free[k + 1]
        n_free -= 1
    return place


def place_on_region(dag: DAGCircuit, region: list[int], target: Target, rng: np.random.Generator,
                    shuffle: bool, home: Target | None = None, facts: Interactions | None = None) -> list[int]:
    """Map virtual qubits onto ``region``: heaviest interacting first, each next to its placed partners; qubits the
    circuit declares but never uses go to the best free working qubits of ``home`` (the whole device).

    ``facts``: the DAG's :class:`Interactions`, when the caller has them (every layout trial asks for the same).
    """
    facts = facts if facts is not None else Interactions.of(dag)
    weight = facts.counts.sum(axis=1).tolist()
    active = set(facts.active)
    order = sorted(range(dag.num_qubits), key=lambda v: (-weight[v], v not in active, v))
    if shuffle:
        heavy = [v for v in order if weight[v]]
        order = [int(v) for v in rng.permutation(heavy)] + [v for v in order if not weight[v]]
    placed = _place_kernel(np.array(order, dtype=np.int64), facts.counts, np.array(region, dtype=np.int64),
                           target.distance)
    place = {v: p for v, p in enumerate(placed.tolist()) if p >= 0}
    return complete_layout(place, dag.num_qubits, home or target)


def two_qubit_skeleton(dag: DAGCircuit) -> DAGCircuit:
    """The two-qubit gates in order, those of if blocks' bodies included, for the layout search."""
    return dag.copy_with([op for op in walk(dag.ops) if op.gate.is_unitary and len(op.qubits) == 2])


@dataclass(frozen=True)
class IdleDecay:
    """What a layout trial's routing loses to relaxation while its qubits wait (issue 19: on line10, a 330 us
    circuit placed on the 15 us qubit lost more to idle decay than to all its gates, and trials ranked by gates and
    readouts alone could not see it).

    Each virtual qubit's waits in the unrouted circuit's schedule (:func:`~xihe.compiler.passes.schedule.idle_times`)
    at the mean relaxation rate of the physical qubits it starts and ends on
    (:func:`~xihe.compiler.estimate.idle_log_fidelity` per ns), stretched by the routing's swaps (three two-qubit
    gates each, on a circuit of ``two_qubit`` of them).
    """

    wait: np.ndarray  # ns, per virtual qubit
    rate: np.ndarray  # decay per ns, per physical qubit
    two_qubit: int

    @classmethod
    def of(cls, dag: DAGCircuit, target: Target) -> IdleDecay:
        rate = np.array([-idle_log_fidelity(target, q, 1.0) for q in range(target.num_qubits)])
        return cls(idle_times(dag, target), rate, dag.count_two_qubit())

    def log_fidelity(self, layout: list[int], final: list[int], swaps: int) -> float:
        """The idle decay (a log-probability, <= 0) of a routing from ``layout`` to ``final`` with ``swaps`` swaps."""
        stretch = 1.0 + 3.0 * swaps / max(self.two_qubit, 1)
        return -0.5 * stretch * float(self.wait @ (self.rate[layout] + self.rate[final]))

    def best(self, qubits: tuple[int, ...]) -> float:
        """The most :meth:`log_fidelity` can be on ``qubits``: the longest waits on the slowest-decaying qubits, no
        swap (a bound for abandoning routings, as the readouts' best)."""
        waits = np.sort(self.wait)[::-1]
        rates = np.sort(self.rate[list(qubits)])[: waits.size]
        return -float(waits[: rates.size] @ rates)


# How far (in log-success) a routing must be out of the running before it is abandoned: far above the keys' rounding.
GIVE_UP_MARGIN = 1e-6


Found = dict[tuple[float, int], tuple[list[int], int, float]]  # (-log success, swaps) -> (layout, seed, weight)


def _out_of_the_running(found: Found, kept: int,
                        readout_best: float) -> tuple[float, int] | None:
    """When a routing still to come can be abandoned without changing the kept candidates (see ``routings``).

    It could only be kept as one of the ``kept`` most likely to succeed, as the fewest swaps or as the most likely
    noise-aware one. So once it has more swaps than the fewest so far and cannot end more likely to succeed than
    the ``kept``-th best so far and the best noise-aware one (later routings only raise those bars), it is out:
    the kernel stops it. ``None`` while fewer than ``kept`` routings or no noise-aware one are in.
    """
    if len(found) < kept:
        return None
    ranked = sorted(found)
    aware = next((key for key in ranked if found[key][2] > 0), None)
    if aware is None:
        return None
    bar = max(ranked[kept - 1][0], aware[0])  # keys hold -log(success), rounded
    return -bar - GIVE_UP_MARGIN - readout_best, min(key[1] for key in ranked)


class _Standings:
    """The routings finished so far, by every trial's thread: what abandonment measures against.

    Abandonment is sound against any subset of the finished routings (``_out_of_the_running``: the bars only rise
    as routings come in), so the kept candidates do not depend on which trials had finished when another one began;
    only how much work is saved does.
    """

    def __init__(self, kept: int, readout_best: float) -> None:
        self.kept = kept
        self.readout_best = readout_best
        self._found: Found = {}
        self._lock = threading.Lock()

    def give_up(self) -> tuple[float, int] | None:
        with self._lock:
            return _out_of_the_running(self._found, self.kept, self.readout_best)

    def add(self, key: tuple[float, int], value: tuple[list[int], int, float]) -> None:
        with self._lock:
            self._found.setdefault(key, value)


@dataclass
class _Trials:
    """What every layout trial of one :meth:`SabreLayout.routings` shares (read only, but ``standings``)."""

    layout: SabreLayout
    dag: DAGCircuit
    target: Target
    router: SabreRouter
    forward: RoutingProblem
    reverse: RoutingProblem
    full: RoutingProblem
    starts: list[int]
    size: int
    facts: Interactions
    measured: list[int]
    readout: dict[int, float]
    idle: IdleDecay
    standings: _Standings

    def run(self, trial: int, seed: int) -> list[tuple[tuple[float, int], tuple[list[int], int, float]]]:
        """Trial ``trial`` from its own seed: a start layout, forward-backward rounds, then its swap trials; the
        finished routings as ``found``'s items, in order. Safe to run beside the other trials (in other threads)."""
        params = self.layout
        router = self.router
        trial_rng = np.random.default_rng(seed)
        start = self.starts[trial % len(self.starts)]
        first_round = trial < len(self.starts)
        region = dense_region(self.target, start, self.size, trial_rng, noise=0.0 if first_round else 0.5)
        layout = place_on_region(self.dag, region, self.target, trial_rng, shuffle=not first_round and trial % 2 == 1,
                                 home=params.target, facts=self.facts)
        # The skeleton holds every two-qubit gate (those of if blocks too); every later layout of the trial is
        # one a routing ended with, so this check is the trial's only one.
        router.check(self.forward, layout)
        for _ in range(params.iterations):
            forward = router.route(self.forward, layout, trial_rng, emit=False, checked=True)
            backward = router.route(self.reverse, forward.final_layout, trial_rng, emit=False, checked=True)
            layout = backward.final_layout
        out = []
        for k in range(params.swap_trials):
            route_seed = int(trial_rng.integers(1 << 63))
            # The first routing breaks ties by coupler error; the others at random (diversity, see the kernel).
            weight = ERROR_WEIGHT if k == 0 else 0.0
            give_up = self.standings.give_up() if params.abandon else None
            result = router.route(self.full, layout, np.random.default_rng(route_seed), emit=False,
                                  error_weight=weight, give_up=give_up, checked=True)
            if not result.finished:
                continue
            # Estimated success: every routed 2q gate and swap on its coupler, the readouts where the measured
            # qubits end (measurements wait until the end), and the qubits' idle decay.
            log_success = (result.log_fidelity + sum(self.readout[result.final_layout[v]] for v in self.measured)
                           + self.idle.log_fidelity(layout, result.final_layout, result.swaps))
            key, value = (round(-log_success, 9), result.swaps), (layout, route_seed, weight)
            self.standings.add(key, value)
            out.append((key, value))
        return out


class SabreLayout:
    """Layout and routing together: seeded trials, forward-backward refinement, best routed trial kept.

    Writes ``layout``, ``final_layout`` and ``swaps`` to the property set and returns the routed DAG on physical
    qubits (still in the one- and two-qubit gate set; swaps appear as ``swap``).
    """

    def __init__(self, target: Target, trials: int = 4, iterations: int = 2, seed: int | None = None,
                 swap_trials: int = 1, candidates: int = 1, abandon: bool = True, threads: int | None = None) -> None:
        self.target = target
        # Threads the trials run on (None: :func:`~xihe.compiler.threads.compile_threads`); the result is the same.
        self.threads = threads
        self.abandon = abandon  # stop swap trials that can no longer be kept (same candidates, less work)
        self.trials = trials
        self.iterations = iterations
        self.seed = seed
        self.swap_trials = swap_trials
        self.candidates = candidates

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        """The best routing: its layouts written to ``properties``, its routed DAG returned."""
        routed, found = self.routings(dag, properties)[0]
        properties.update(found)
        return routed

    def routings(self, dag: DAGCircuit, properties: PropertySet) -> list[tuple[DAGCircuit, PropertySet]]:
        """The kept routings, best first: each routed DAG with its own ``layout``/``final_layout``/``swaps``.

        ``transpile`` finishes every one with the remaining passes and keeps the best compiled circuit.
        """
        rng = np.random.default_rng(self.seed)
        given = properties.get("layout")
        # Only the qubits the circuit uses need a connected home; declared idle ones go anywhere.
        active = dag.active_qubits()
        size = max(len(active), 1)
        target = layout_target(self.target, size)
        if given is not None:
            # The pruned view serves only if the circuit's qubits, where the given layout puts them, are connected
            # in it (its working qubits may be split into groups by the couplers it dropped).
            placed = np.array([given[q] for q in active], dtype=np.int64)
            if not set(given) <= set(target.working_qubits) or (
                    placed.size and not np.all(target.distance[placed[0], placed] < UNREACHABLE)):
                target = self.target
            return [self._finish(dag, properties, list(given), SabreRouter(target).route(dag, list(given), rng))]
        router = SabreRouter(target)
        component = next((c for c in target.components if len(c) >= size), None)
        if component is None:
            raise CompileError(f"the circuit acts on {size} qubits, which must be connected; the device's largest "
                               f"connected group of working qubits has {len(target.components[0])}")
        skeleton = two_qubit_skeleton(dag)
        measured = sorted({op.qubits[0] for op in dag.ops if op.gate.name == "measure"})
        readout = {q: math.log(max(target.readout_fidelity(q), 1e-12)) for q in target.working_qubits}
        idle = IdleDecay.of(dag, self.target)
        # The best the readouts and the waits can add to a routing's estimated success (the measured qubits on the
        # best readouts, the longest waits on the slowest-decaying qubits).
        readout_best = sum(sorted(readout.values(), reverse=True)[:len(measured)]) + idle.best(target.working_qubits)
        full_problem = router.prepare(dag)
        trials = _Trials(
            self, dag, target, router, router.prepare(skeleton),
            router.prepare(skeleton.copy_with(list(reversed(skeleton.ops)))), full_problem,
            self._start_qubits(target, component), size, Interactions.of(dag), measured, readout, idle,
            _Standings(max(1, self.candidates), readout_best))
        seeds = [int(rng.integers(1 << 63)) for _ in range(self.trials)]
        threads = self.threads if self.threads is not None else compile_threads()
        # Each trial's finished routings, merged in trial order: the same ``found`` whatever ran on which thread.
        found: Found = {}
        for finished in run_striped(lambda trial: trials.run(trial, seeds[trial]), self.trials, threads):
            for key, value in finished:
                found.setdefault(key, value)
        # Candidates: the most likely to succeed, the one with fewest swaps (of those, the most likely), then the next
        # most likely; ``transpile`` finishes each and weighs two-qubit count against estimated success.
        by_success = sorted(found)
        fewest = min(by_success, key=lambda key: (key[1], key[0]))
        aware = [key for key in by_success if found[key][2] > 0][:1]
        ranked = list(dict.fromkeys([by_success[0], fewest, *aware, *by_success[1:]]))[: max(1, self.candidates)]
        # Route the kept ones again, this time writing their operations (same seed, same swaps), side by side.
        def replay(k: int) -> tuple[DAGCircuit, PropertySet]:
            layout, route_seed, weight = found[ranked[k]]
            return self._finish(dag, properties, layout, router.route(
                full_problem, layout, np.random.default_rng(route_seed), error_weight=weight, checked=True))

        return run_striped(replay, len(ranked), threads)

    def _start_qubits(self, target: Target, component: tuple[int, ...]) -> list[int]:
        """Qubits whose couplings are best (high degree, low error) first."""

        def quality(q: int) -> float:
            errs = [target.two_qubit_error(q, n) for n in target.neighbors[q]]
            return len(errs) - 10.0 * (sum(errs) / len(errs) if errs else 1.0)

        ranked = sorted(component, key=lambda q: (-quality(q), q))
        return ranked[: max(1, min(len(ranked), (self.trials + 1) // 2))]

    def _finish(self, dag: DAGCircuit, properties: PropertySet, layout: list[int],
                result: RoutingResult) -> tuple[DAGCircuit, PropertySet]:
        found = {**properties, "layout": layout, "final_layout": result.final_layout, "swaps": result.swaps}
        return dag.copy_with(result.ops, num_qubits=self.target.num_qubits), found


class ApplyLayout:
    """Place a swap-free layout (from :class:`VF2Layout` or given) without routing, for the ideal target too."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        layout = properties.get("layout") or list(range(dag.num_qubits))
        properties["layout"] = layout
        properties["final_layout"] = list(layout)
        ops = [op.replace(qubits=tuple(layout[q] for q in op.qubits)) for op in dag.ops]
        # An ideal (unconstrained) target keeps the circuit's own width: padding a 5-qubit circuit to the
        # simulator's full width would make the statevector engine refuse it.
        width = dag.num_qubits if self.target.unconstrained else self.target.num_qubits
        return dag.copy_with(ops, num_qubits=width)


class TrivialLayout:
    """Virtual qubit i on the i-th qubit of a breadth-first walk of the largest working component (level 0)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        if self.target.unconstrained:
            properties["layout"] = list(range(dag.num_qubits))
            return dag
        component = self.target.components[0]
        active = dag.active_qubits()
        if len(active) > len(component):
            raise CompileError(f"the circuit acts on {len(active)} qubits, which must be connected; the device's "
                               f"largest connected group of working qubits has {len(component)}")
        start = component[0]
        order = sorted(component, key=lambda q: (int(self.target.distance[start, q]), q))
        properties["layout"] = complete_layout(dict(zip(active, order, strict=False)), dag.num_qubits, self.target)
        return dag
