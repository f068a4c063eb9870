"""Gate fusion's grouping as it was before issue 16's sixth pass (a loop in Python), kept as the test oracle.

The grouping now runs in one compiled call (:func:`xihe.engines.fusion._group_kernel`); it must give the same
blocks, with the same gates in the same order, as this loop.
"""

from __future__ import annotations

from collections.abc import Callable

from xihe.engines.fusion import _Block
from xihe.engines.program import Instr


def reference_group(instrs: list[Instr], max_qubits: int, fusable: Callable[[Instr], bool],
                    max_diagonal: int | None = None) -> list[_Block | Instr]:
    """Group the ``fusable`` instructions into blocks of at most ``max_qubits`` qubits; others stay in place.

    Anything not fusable closes the blocks on its own qubits only: a block on other qubits commutes with it and
    keeps growing past it. A block made only of diagonal gates may grow to ``max_diagonal`` qubits (default
    ``max_qubits``): its pass costs a table lookup per amplitude whatever its width, where a dense block's work
    doubles with each qubit.
    """
    wide = max_qubits if max_diagonal is None else max(max_diagonal, max_qubits)
    items: list[_Block | Instr | None] = []
    last: dict[int, int] = {}

    def is_open(i: int) -> bool:
        item = items[i]
        return isinstance(item, _Block) and all(last[q] == i for q in item.qubits)

    for ins in instrs:
        is_diag = ins.kind == "diagonal"
        if not (fusable(ins) and ins.condition is None and len(ins.qubits) <= (wide if is_diag else max_qubits)):
            items.append(ins)
            for q in ins.qubits:
                last[q] = len(items) - 1
            continue
        qs = set(ins.qubits)
        # The one change from the old code: ties in size go to the older block (the old code took them in the
        # iteration order of a set of item indices, an accident of CPython's hashing).
        candidates = sorted({last[q] for q in qs if q in last and is_open(last[q])},
                            key=lambda i: (-len(items[i].qubits), i))  # type: ignore[union-attr]
        union = set(qs)
        chosen: list[int] = []
        diagonal = is_diag
        for i in candidates:
            block = items[i]
            assert isinstance(block, _Block)
            still = diagonal and block.diagonal
            if len(union | set(block.qubits)) <= (wide if still else max_qubits):
                union |= set(block.qubits)
                chosen.append(i)
                diagonal = still
        merged = _Block(sorted(union))
        for i in sorted(chosen):
            block = items[i]
            assert isinstance(block, _Block)
            merged.instrs.extend(block.instrs)
            items[i] = None
        merged.instrs.append(ins)
        items.append(merged)
        for q in merged.qubits:
            last[q] = len(items) - 1
    return [item for item in items if item is not None]
