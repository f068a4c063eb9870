"""The optimisation stage after routing: block resynthesis, translation and 1q/2q cleanup, to a fixed point."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from xihe.circuit import Operation
from xihe.compiler.dag import DAGCircuit, PropertySet, has_if_blocks
from xihe.compiler.passes.blocks import RowResynthesis
from xihe.compiler.passes.control import map_blocks
from xihe.compiler.passes.optimize import OptimizeLoop, PiecesMemo, Rows, from_rows, rows_width, score, to_rows
from xihe.compiler.passes.translate import BasisTranslation
from xihe.compiler.target import Target

# Where a ranking round leaves its output's array form for the rest of the loop (see ``NativeOptimizeLoop.run``).
_FIRST_ROUND_ROWS = "native_optimize_first_round_rows"


class NativeOptimizeLoop:
    """Translate, then repeat [consolidate 2q blocks -> fuse/cancel] while the 2q count (then op count) drops.

    The output is always native: the loop keeps the best round's gates. The rounds run on the kernels' array form
    (:mod:`.optimize_kernel`, :mod:`.blocks_kernel`), converted once from operations and once back.
    """

    def __init__(self, target: Target, consolidate: bool = True, max_rounds: int = 4) -> None:
        self.target = target
        self.consolidate = consolidate
        self.translate = BasisTranslation(target)
        self.optimize = OptimizeLoop.for_target(target, max_rounds=3 if max_rounds <= 2 else 10)
        self.max_rounds = max_rounds
        self._translated: PiecesMemo = {}  # 2q gate -> native pieces
        self.blocks = RowResynthesis(self.translate, self._translated, self.optimize.basis.names)
        self._resumed = False
        self._ranking = False

    def first_round(self) -> NativeOptimizeLoop:
        """This loop cut to one round, sharing its block memo: ``transpile`` ranks routing candidates by it (the first
        round does most of the work) and runs the whole loop on the winner only."""
        cut = copy.copy(self)
        cut.max_rounds = 1
        cut._ranking = True
        return cut

    def resumed(self) -> NativeOptimizeLoop:
        """The rest of this loop after :meth:`first_round`: its input is the first round's output and counts as the
        best so far, so the rounds go on only while they improve on it (the first round is not done twice)."""
        rest = copy.copy(self)
        rest.max_rounds = self.max_rounds - 1
        rest._resumed = True
        rest._ranking = False
        return rest

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        kept = properties.pop(_FIRST_ROUND_ROWS, None) if self._resumed else None
        if self._resumed and not self.consolidate:
            return dag  # without consolidation the loop is one round
        # The gate list stays in the kernels' array form across the rounds; operations are made once, at the end.
        basis = self.optimize.basis
        if kept is not None and kept[0] is dag:
            # The first round's own rows for its output, not ``to_rows`` of it again (issue 19: a conversion on the
            # calling thread). They differ from that conversion only in ``src``, ``gname`` and ``gpar`` (a row the
            # kernels wrote keeps its name and parameters, where the conversion points to the operation made of
            # them), which the kernels carry and never decide by, so the rounds and their output are the same.
            _, rows, sources = kept
        else:
            rows, sources = to_rows(dag.ops, basis.names, self.translate, self._translated)
        num_qubits = rows_width(rows)
        best: Rows | None = None
        start = score(rows)  # with _resumed, the first round's output: the best so far
        for _ in range(self.max_rounds):
            if self.consolidate:
                rows = self.blocks.run(rows, sources, num_qubits)
            rows = self.optimize.run_rows(rows, num_qubits)
            if best is not None and score(rows) >= score(best):
                break
            if best is None and self._resumed and score(rows) >= start:
                return dag
            best = rows
            if not self.consolidate:
                break
        assert best is not None
        out = dag.copy_with(from_rows(sources, best, basis))
        if self._ranking and not has_if_blocks(out.ops):
            properties[_FIRST_ROUND_ROWS] = (out, best, sources)  # for ``resumed``, if this candidate wins
        return self._optimize_blocks(out, properties)

    def _optimize_blocks(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        """Each if block's bodies (already native) fused and cancelled as a circuit of their own: routing's swaps
        inside a block leave runs of 1q gates that nothing outside the block can reach."""
        if not has_if_blocks(dag.ops):
            return dag

        def body(ops: Sequence[Operation]) -> list[Operation]:
            inner = dag.copy_with([map_blocks(op, body) for op in ops])
            return self.optimize.run(inner, properties).ops

        return dag.copy_with([map_blocks(op, body) for op in dag.ops])
