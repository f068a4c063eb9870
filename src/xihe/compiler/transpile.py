"""``transpile(circuit, target)``: run a preset pass list and record the layouts.

Compiles with a seed are cached per target (a new calibration is a new :class:`Target`, so a new cache), keyed by
the circuit's registers and operations, the level and the seed: a sweep or a resubmission of the same circuit is
compiled once. Each call gets its own copy of the result.

The cyclic garbage collector is paused while a compile runs (:class:`_CollectorPause`): a compile allocates some 10^5
short-lived gates and operations, none in reference cycles, and the collections those allocations triggered were
a tenth of the compile's CPU time (issue 19).
"""

from __future__ import annotations

import gc
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from xihe.circuit import Circuit
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.estimate import log_success_probability
from xihe.compiler.passes import NativeOptimizeLoop, SabreLayout
from xihe.compiler.preset import Pass, estimated_two_qubit_gates, preset_passes
from xihe.compiler.target import Target
from xihe.compiler.threads import compile_threads, run_striped
from xihe.errors import CompileError


@dataclass
class TranspileResult:
    """The compiled circuit on physical qubits and where each virtual qubit started and ended."""

    circuit: Circuit
    initial_layout: list[int]
    final_layout: list[int]
    properties: dict[str, Any] = field(default_factory=dict)


# Per target: (circuit key, level, seed) -> result, least recently used dropped beyond CACHE_SIZE.
CACHE_SIZE = 128
CACHE_MAX_OPERATIONS = 100_000  # a bigger compiled circuit is not kept (memory)
_cache: weakref.WeakKeyDictionary[Target, OrderedDict[Hashable, TranspileResult]] = weakref.WeakKeyDictionary()


class _CollectorPause:
    """Pause the cyclic garbage collector while any compile runs, in any thread; restore it when the last one ends.

    The collector is switched back on only if it was on when the first of the overlapping compiles began, so a
    caller that turned it off keeps it off. Reference counting still frees everything a compile drops; cycles
    made meanwhile (by other threads) wait for the next collection after the compile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0 and self._resume:
                    gc.enable()


_collector_paused = _CollectorPause()


def _copy(result: TranspileResult) -> TranspileResult:
    properties = {k: list(v) if isinstance(v, list) else v for k, v in result.properties.items()}
    return TranspileResult(result.circuit.copy(), list(result.initial_layout), list(result.final_layout), properties)


def _cache_key(circuit: Circuit, optimization_level: int, seed: int) -> Hashable | None:
    key = (circuit.name, tuple(circuit.qregs), tuple(circuit.cregs), tuple(circuit.operations), optimization_level,
           seed)
    try:
        hash(key)
    except TypeError:  # an operation that cannot be hashed (never expected): compile without the cache
        return None
    return key


def transpile(circuit: Circuit, target: Target, optimization_level: int = 2, seed: int | None = None,
              threads: int | None = None) -> TranspileResult:
    """Compile ``circuit`` for ``target``.

    ``threads``: how many threads the compile's independent parts (layout trials, routing candidates) may run on
    (None: ``XIHE_COMPILE_THREADS``, else the cores available, see :func:`~xihe.compiler.threads.compile_threads`).
    The result is the same for any number, so it is not part of the cache key.

    >>> from xihe.circuit import Circuit
    >>> qc = Circuit(3).h(0).cx(0, 2)
    >>> result = transpile(qc, Target.line(3), seed=1)
    >>> {op.gate.name for op in result.circuit} <= {"cz", "delay", "rx", "ry", "rz"}
    True
    """
    key = _cache_key(circuit, optimization_level, seed) if seed is not None else None
    if key is not None:
        entries = _cache.get(target)
        cached = entries.get(key) if entries is not None else None
        if entries is not None and cached is not None:
            entries.move_to_end(key)
            return _copy(cached)
    with _collector_paused():
        result = _transpile(circuit, target, optimization_level, seed, threads)
    if key is not None and len(result.circuit.operations) <= CACHE_MAX_OPERATIONS:
        kept = _cache.setdefault(target, OrderedDict())
        kept[key] = _copy(result)
        while len(kept) > CACHE_SIZE:
            kept.popitem(last=False)
    return result


def _transpile(circuit: Circuit, target: Target, optimization_level: int, seed: int | None,
               threads: int | None = None) -> TranspileResult:
    if circuit.num_qubits > len(target.working_qubits):
        raise CompileError(f"the circuit has {circuit.num_qubits} qubits; the device has "
                           f"{len(target.working_qubits)} working qubits")
    dag = DAGCircuit.from_circuit(circuit)
    properties: PropertySet = {}
    passes = preset_passes(target, optimization_level, seed, estimated_two_qubit_gates(dag.ops), threads)
    # A pass that fails on input it accepted is a bug in Xihe, not the user's error: it is not turned into a
    # CompileError (which tells the user to change the circuit and is never retried).
    dag, properties = _run(passes, dag, properties, target)
    layout = list(properties.get("layout", range(circuit.num_qubits)))
    final = list(properties.get("final_layout", layout))
    # Swaps elided before layout (ElidePermutations) left source qubit v's state on wire elided[v].
    elided = properties.get("elided_permutation")
    if elided is not None:
        final = [final[w] for w in elided]
    return TranspileResult(dag.to_circuit(), layout, final, properties)


def two_qubit_charge(target: Target) -> float:
    """The median coupler's ``-log(1 - error)``: what one more two-qubit gate typically costs in log-success."""
    errors = sorted(target.two_qubit_error(a, b) for a, b in target.edges)
    return -math.log1p(-min(errors[len(errors) // 2], 0.5)) if errors else 0.0


def _threads_for(layout: SabreLayout) -> int:
    """The threads ``layout``'s trials run on, which the candidates' finishing uses too."""
    return layout.threads if layout.threads is not None else compile_threads()


def _run_all(passes: list[Pass], dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
    for p in passes:
        dag = p.run(dag, properties)
    return dag


def _best_candidate(candidates: list[tuple[DAGCircuit, PropertySet]], ranking: list[Pass], after: list[Pass],
                    target: Target, threads: int) -> tuple[DAGCircuit, DAGCircuit, PropertySet]:
    """The best candidate's (output of ``ranking``, output of ``after`` too, property set); see :func:`_run`.

    The candidates are finished side by side on the layout trials' threads: their heavy parts (block products,
    KAK factors, fusion and cancellation) are kernels that release the GIL, and each candidate has its own DAG and
    property set. The first of equal keys wins, in candidate order, whatever the threads.
    """
    charge = two_qubit_charge(target)

    def rank(i: int) -> tuple[tuple[float, int], DAGCircuit, DAGCircuit, PropertySet]:
        routed, props = candidates[i]
        middle = _run_all(ranking, routed, props)
        out = _run_all(after, middle, props)
        count = out.count_two_qubit()
        return (charge * count - log_success_probability(out.to_circuit(), target), count), middle, out, props

    _, middle, out, props = min(run_striped(rank, len(candidates), threads), key=lambda r: r[0])
    return middle, out, props


def _run(passes: list[Pass], dag: DAGCircuit, properties: PropertySet, target: Target) -> \
        tuple[DAGCircuit, PropertySet]:
    """Run the passes in order; where routing keeps several candidates, finish each and keep the best.

    Best, after the first round of the optimisation loop: the highest estimated log-success less a charge per
    two-qubit gate (:func:`two_qubit_charge`). A gate's own error is already in the estimate; the charge counts it
    once more, so a candidate with more two-qubit gates wins only where they buy more than a typical gate's worth of
    success each (the estimate leaves out crosstalk and drift, which grow with the gate count), and near-equal
    estimates go to the shorter circuit.
    """
    for index, p in enumerate(passes):
        if not isinstance(p, SabreLayout):
            dag = p.run(dag, properties)
            continue
        candidates = p.routings(dag, properties)
        rest = passes[index + 1:]
        # With several candidates each is ranked after one round of the optimisation loop, and only the winner
        # gets the whole loop (that loop is most of the compile time).
        ranking, after, finish = rest, [], []
        loop_at = next((i for i, q in enumerate(rest) if isinstance(q, NativeOptimizeLoop)), None)
        if len(candidates) > 1 and loop_at is not None:
            loop = rest[loop_at]
            assert isinstance(loop, NativeOptimizeLoop)
            ranking, after = [*rest[:loop_at], loop.first_round()], rest[loop_at + 1:]
            finish = [loop.resumed(), *after]
        middle, out, props = _best_candidate(candidates, ranking, after, target, _threads_for(p))
        if not finish:
            return out, props
        finished = finish[0].run(middle, props)
        # Where the rest of the loop kept the first round's output, ``out`` is already what the passes after it make.
        return (out if finished is middle else _run_all(finish[1:], finished, props)), props
    return dag, properties
