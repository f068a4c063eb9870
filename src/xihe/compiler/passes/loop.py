"""The optimisation stage after routing: block resynthesis, translation and 1q/2q cleanup, to a fixed point."""

from __future__ import annotations

from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.blocks import ConsolidateBlocks
from xihe.compiler.passes.optimize import OptimizeLoop
from xihe.compiler.passes.translate import BasisTranslation
from xihe.compiler.target import Target


class NativeOptimizeLoop:
    """Repeat [consolidate 2q blocks -> translate -> fuse/cancel] while the 2q count (then op count) drops.

    The output is always native: the loop keeps the last translated and optimised DAG.
    """

    def __init__(self, target: Target, consolidate: bool = True, max_rounds: int = 4) -> None:
        self.target = target
        self.consolidate = consolidate
        self.translate = BasisTranslation(target)
        self.optimize = OptimizeLoop.for_target(target, max_rounds=3 if max_rounds <= 2 else 10)
        self.max_rounds = max_rounds
        self.blocks = ConsolidateBlocks()

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        best: DAGCircuit | None = None
        for _ in range(self.max_rounds):
            if self.consolidate:
                dag = self.blocks.run(dag, properties)
            dag = self.optimize.run(self.translate.run(dag, properties), properties)
            score = (dag.count_two_qubit(), len(dag.ops))
            if best is not None and score >= (best.count_two_qubit(), len(best.ops)):
                break
            best = dag
            if not self.consolidate:
                break
        assert best is not None
        return best
