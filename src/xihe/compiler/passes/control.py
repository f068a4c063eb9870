"""If/else blocks in the compiler: what the passes do inside a block.

To the DAG, layout, scheduling and the optimisation passes a block is one opaque instruction on every qubit and
clbit it uses (see :mod:`xihe.circuit.control`): nothing moves into, out of or across it. Three passes must still
rewrite the bodies, or a block would keep gates the device cannot run:

- unrolling and basis translation apply themselves to each body (:func:`map_blocks`);
- routing (:func:`route_block`) runs after the block has been placed on physical qubits with the layout of that
  moment: a two-qubit gate on uncoupled qubits gets swaps along a shortest path of working couplers, and the body
  ends by undoing its swaps in reverse, so both branches leave the layout as they found it (as Qiskit's routing
  of control flow does) and the operations after the block need not know which branch ran.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise

from xihe.circuit import Gate, IfElse, Operation
from xihe.compiler.target import Target
from xihe.errors import CompileError

SWAP = Gate("swap")


def map_blocks(op: Operation, rewrite: Callable[[Sequence[Operation]], Iterable[Operation]]) -> Operation:
    """``op`` with ``rewrite`` applied to each body if it is a block (``rewrite`` recurses into nested ones)."""
    return op.map_bodies(rewrite) if isinstance(op, IfElse) else op


def route_block(block: IfElse, target: Target) -> IfElse:
    """The block (on physical qubits) with every body's two-qubit gates on couplers, the layout restored."""
    return block.map_bodies(lambda body: _route_body(body, target))


def _route_body(ops: Sequence[Operation], target: Target) -> list[Operation]:
    where: dict[int, int] = {}  # physical qubit at the block's start -> where its state is now
    holder: dict[int, int] = {}  # physical qubit -> whose state (by start position) it holds now
    done: list[tuple[int, int]] = []
    out: list[Operation] = []

    def swap(s: int, t: int) -> None:
        a, b = holder.get(s, s), holder.get(t, t)
        holder[s], holder[t] = b, a
        where[a], where[b] = t, s
        done.append((s, t))
        out.append(Operation(SWAP, (s, t)))

    for op in ops:
        qubits = tuple(where.get(q, q) for q in op.qubits)
        if isinstance(op, IfElse):
            moved = op.replace(qubits=qubits)  # a nested block, where its qubits' states are now
            assert isinstance(moved, IfElse)
            out.append(route_block(moved, target))
            continue
        if op.gate.is_unitary and len(qubits) == 2 and target.distance[qubits[0], qubits[1]] > 1:
            path = _shortest_path(target, qubits[0], qubits[1])
            for s, t in pairwise(path[:-1]):  # the first qubit walks until it is next to the last
                swap(s, t)
            qubits = tuple(where.get(q, q) for q in op.qubits)
        out.append(op.replace(qubits=qubits))
    for s, t in reversed(done):
        out.append(Operation(SWAP, (s, t)))
    return out


def _shortest_path(target: Target, start: int, end: int) -> list[int]:
    """Physical qubits from ``start`` to ``end`` over working couplers (breadth first)."""
    previous = {start: start}
    queue = deque([start])
    while queue:
        q = queue.popleft()
        if q == end:
            path = [end]
            while path[-1] != start:
                path.append(previous[path[-1]])
            return path[::-1]
        for r in target.neighbors.get(q, ()):
            if r not in previous:
                previous[r] = q
                queue.append(r)
    raise CompileError(f"qubits {start} and {end} are not connected on this device; an if block cannot join them")
