"""Preset pass lists by optimisation level (0..3), as Qiskit's preset pass managers.

- 0: unroll, trivial layout, one SABRE routing, translation, scheduling.
- 1: + terminal measurements kept last and swaps right before measurements dropped, a GHZ or fan-out preparation
  grown as a tree on the chip when that makes the circuit swap-free (``FanOutLayout``; valid from |0...0>),
  swap-free VF2 layout when one exists, one SABRE layout trial, fusion and cancellation after translation.
- 2: + swaps between virtual qubits elided (a relabelling folded into the final layout), two-qubit block
  resynthesis (KAK) and cancellation before routing and after it (to a fixed point),
  8 seeded layout/routing trials with 2 forward-backward rounds.
- 3: + 24 trials with 4 rounds and 4 routings each; a few routings (4, or 2 above 200 two-qubit gates, 1 above
  2000: the most likely to succeed, the one with fewest swaps, the best noise-aware one) are each optimised to the
  end and the best result kept (estimated success less a charge per two-qubit gate, see ``transpile``).
"""

from __future__ import annotations

from typing import Any, Protocol

from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes import (
    ApplyLayout,
    ASAPSchedule,
    BasisTranslation,
    ConsolidateBlocks,
    DeferRoutedMeasurements,
    DeferTerminalMeasurements,
    NativeOptimizeLoop,
    OptimizeLoop,
    RemoveSwapsBeforeMeasure,
    SabreLayout,
    TrivialLayout,
    Unroll,
    VF2Layout,
)
from xihe.compiler.passes.clifford import CliffordResynthesis
from xihe.compiler.passes.fanout import FanOutLayout
from xihe.compiler.passes.permutations import ElidePermutations
from xihe.compiler.passes.swaps import ImplicitSwaps
from xihe.compiler.target import Target
from xihe.errors import CompileError

VIRTUAL_BASIS = frozenset({"rz", "ry"})
# (layout trials, forward-backward rounds) by level.
SABRE_EFFORT = {0: (1, 0), 1: (1, 1), 2: (8, 2), 3: (24, 4)}
# Above this many two-qubit gates (after unrolling, estimated) every level does the cheap version of each stage.
HUGE_CIRCUIT = 20_000
# Up to this many two-qubit gates (estimated) Clifford regions are resynthesised and implicit swaps taken (issue 19);
# above, the KAK stage would run twice, and on vqe_uccsd_n8 (5,488) the implicit swaps' relabellings cost routing
# more than they saved (grid36: 5,203 -> 5,494 CX after routing, 4,873 -> 4,667 before).
CLIFFORD_LIMIT = 2000
# Below this many two-qubit gates (estimated) a compile runs on its calling thread alone unless the caller names a
# thread count: its parallel parts are then mostly Python, and two threads taking turns at the GIL cost more than
# they share (QASMBench <= 27 qubits on grid36, 2 threads against 1: 1.26x the wall time; issue 19).
THREADED_FROM = 200
# Routing candidates finished and compared at level 3 above 200 two-qubit gates (estimated); 4 below, 1 above 2000.
CANDIDATES_ABOVE_200 = 2


def estimated_two_qubit_gates(ops: list[Any]) -> int:
    """Two-qubit gates after unrolling, roughly: a k-qubit gate (k >= 3) costs about 6 (k - 2) CX."""
    total = 0
    for op in ops:
        n = len(op.qubits)
        if op.gate.is_unitary and n >= 2:
            total += 1 if n == 2 else 6 * (n - 2)
    return total


class Pass(Protocol):
    """A compiler pass: reads and writes the property set, returns the new DAG."""

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit: ...


def preset_passes(target: Target, optimization_level: int = 2, seed: int | None = None,
                  num_two_qubit_gates: int = 0, threads: int | None = None) -> list[Pass]:
    """The pass list for ``target`` at ``optimization_level``; big circuits get fewer SABRE trials.

    ``threads``: how many threads the layout trials run on (None: :func:`~xihe.compiler.threads.compile_threads`,
    or 1 below ``THREADED_FROM`` two-qubit gates); the passes' result does not depend on it.
    """
    if optimization_level not in (0, 1, 2, 3):
        raise CompileError(f"optimization_level must be 0, 1, 2 or 3, not {optimization_level}")
    if target.unconstrained:
        return [ApplyLayout(target)]
    trials, rounds = SABRE_EFFORT[optimization_level]
    if threads is None and num_two_qubit_gates < THREADED_FROM:
        threads = 1
    huge = num_two_qubit_gates > HUGE_CIRCUIT
    if num_two_qubit_gates > 5000:
        trials = max(1, min(trials, 8))
    if huge:  # tens of thousands of 2q gates: keep compile time in proportion
        trials, rounds = min(trials, 2), min(rounds, 1)
    passes: list[Pass] = [Unroll()]
    if optimization_level >= 1:
        passes.append(DeferTerminalMeasurements())
    if optimization_level >= 2:
        passes.append(ElidePermutations())
    if optimization_level >= 1:  # on the source's cx gates, before blocks are resynthesised
        passes.append(FanOutLayout(target))
    if optimization_level >= 2:
        loop_rounds = 2 if huge else 10
        # Pair-wise KAK; then blocks cheaper with a swap folded in (the swap becomes a relabelling) and their
        # neighbours merged again. Clifford regions resynthesised whole first, where that ends with fewer 2q gates.
        kak: list[Pass] = [ConsolidateBlocks(), OptimizeLoop(VIRTUAL_BASIS, max_rounds=loop_rounds),
                           ImplicitSwaps([ConsolidateBlocks(), OptimizeLoop(VIRTUAL_BASIS, max_rounds=loop_rounds)])]
        if num_two_qubit_gates <= CLIFFORD_LIMIT:
            passes.append(CliffordResynthesis(kak, threads=threads))
        else:  # the KAK stage would run twice; and the relabellings cost routing more than they save (issue 19)
            passes.extend(kak[:2])
    if optimization_level == 0:
        passes.append(TrivialLayout(target))
    else:
        passes.append(VF2Layout(target))
    swap_trials = 4 if optimization_level == 3 and not huge else 1
    candidates = {3: 4, 2: 2}.get(optimization_level, 1)
    if num_two_qubit_gates > 200:  # the most likely and the fewest swaps (or the best noise-aware) routing
        # Two, not three (issue 19, seventh pass): each candidate's finishing is mostly Python under the GIL, about a
        # tenth of a large compile's CPU, and the third rarely won (docs/decisions.md).
        candidates = min(candidates, CANDIDATES_ABOVE_200)
    if num_two_qubit_gates > 2000:
        candidates = 1
    passes.append(SabreLayout(target, trials=trials, iterations=rounds, seed=seed, swap_trials=swap_trials,
                              candidates=candidates, threads=threads))
    passes.append(DeferRoutedMeasurements())  # terminal measurements stay terminal (a chip measures at the end)
    if optimization_level >= 1:
        passes.append(RemoveSwapsBeforeMeasure())
    if optimization_level == 0:
        passes.append(BasisTranslation(target))
    else:
        passes.append(NativeOptimizeLoop(target, consolidate=optimization_level >= 2, max_rounds=2 if huge else 4))
    passes.append(ASAPSchedule(target))
    return passes
