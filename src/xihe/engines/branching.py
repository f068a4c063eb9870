"""Noisy trajectories that share their work: branches drawn up front, shots walked as a prefix tree.

When every channel of a program is a mixture of unitaries (depolarizing, Pauli, coherent errors), which branch a
trajectory takes at a channel does not depend on its state. So all shots' branches are drawn first
(:func:`draw_branches`, one vector of uniforms per channel), and each shot becomes a *path*: the few places
where it took a non-identity branch. Shots are then walked as a tree over their paths (:func:`walk`): the state
is advanced once through the part all shots of a subtree share, copied where their paths part, and each leaf
samples all its shots from one final state. The error-free prefix (and every shared longer prefix) is computed
once instead of once per shot; identical paths (most shots at low noise share the empty one) cost one run.

The walk is generic over the state (a statevector here; a matrix product state in :mod:`xihe.engines.mps`), and
the caller says how to advance, copy, apply a branch and finish. Live copies are bounded by ``max_depth``: past
that depth each remaining path runs on its own copy, so memory stays at ``max_depth + 2`` states.

For the statevector, :class:`FusedNoisyBody` also keeps the ideal gates fused (:mod:`xihe.engines.fusion`): the
channels are fused along with the gates into blocks of at most ``max_qubits`` qubits, the ideal block is applied
as one kernel pass, and a branch ``P`` drawn inside a block whose remaining gates are ``R`` is applied after the
block as ``R P R^dagger`` (cached), which is exact. Without this, every channel closes the fusion blocks on its
qubits and a noisy circuit runs gate by gate. :class:`FoldedWalker` goes one step further for the statevector: a
shot's branches in a block are multiplied into the block's matrix (:meth:`FusedNoisyBody.folded`), so an error
costs no pass of its own (QV-20 with 1e-3/1e-2 depolarizing: 66.2 -> 60.9 passes a shot, the ideal body's 72).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np

from xihe.engines import kernels
from xihe.engines.fusion import _apply_on, _Block, _block_instr, _group
from xihe.engines.program import Instr, Program
from xihe.engines.statevector import apply_instr, positions

S = TypeVar("S")
# One entry of a path: (position, order at that position, branch); sorted, a path is the shot's error record.
Step = tuple[int, int, int]


def mixture_only(prog: Program) -> bool:
    """True when every channel of the body is a mixture of unitaries (branches independent of the state)."""
    return all(ins.channel is not None and ins.channel.sampling_table is not None
               for ins in prog.body if ins.kind == "channel")


def draw_branches(body: Sequence[Instr], shots: int, rng: np.random.Generator) -> tuple[list[int], np.ndarray]:
    """For each mixture channel of ``body``: its index and each shot's branch (-1: the identity)."""
    where: list[int] = []
    cols: list[np.ndarray] = []
    for i, ins in enumerate(body):
        if ins.kind != "channel" or ins.channel is None or ins.channel.sampling_table is None:
            continue
        cumulative, unitaries = ins.channel.sampling_table
        idx = np.minimum(np.searchsorted(cumulative, rng.random(shots) * cumulative[-1], side="right"),
                         len(unitaries) - 1)
        identity = np.array([u is None for u in unitaries])
        where.append(i)
        cols.append(np.where(identity[idx], -1, idx))
    return where, (np.stack(cols, axis=1) if cols else np.zeros((shots, 0), dtype=np.int64))


def paths_of(where: list[int], branch: np.ndarray, place: Callable[[int], tuple[int, int]]) -> list[tuple[Step, ...]]:
    """Each shot's path: ``(position, order, branch)`` of its non-identity draws, ``place(body index)`` giving the
    position and order, sorted."""
    places = [place(i) for i in where]
    out: list[tuple[Step, ...]] = []
    for row in branch:
        hits = np.flatnonzero(row >= 0)
        out.append(tuple(sorted((*places[j], int(row[j])) for j in hits)))
    return out


class Walker(Generic[S]):
    """How a state is advanced, copied, hit by a branch and finished; :meth:`walk` runs shots' paths as a tree.

    ``advance(state, a, b)`` applies positions ``a .. b - 1``; ``hit(state, step)`` applies one path entry after
    its position; ``finish(state, shots)`` samples the given shots from a state advanced to the end.
    """

    def __init__(self, end: int, advance: Callable[[S, int, int], None], copy: Callable[[S], S],
                 hit: Callable[[S, Step], None], finish: Callable[[S, list[int]], None], max_depth: int = 32
                 ) -> None:
        self.end = end
        self.advance = advance
        self.copy = copy
        self.hit = hit
        self.finish = finish
        self.max_depth = max(0, int(max_depth))
        self.runs = 0  # leaves reached: distinct final states computed

    def walk(self, state: S, paths: Sequence[tuple[Step, ...]]) -> None:
        """Run every shot (index into ``paths``) from ``state`` (at position 0), which the walk consumes."""
        self._visit(state, 0, list(range(len(paths))), 0, paths)

    def _visit(self, state: S, at: int, members: list[int], depth: int, paths: Sequence[tuple[Step, ...]]) -> None:
        if depth >= self.max_depth:
            self._linear(state, at, members, depth, paths)
            return
        done = [s for s in members if len(paths[s]) == depth]
        groups: dict[Step, list[int]] = {}
        for s in members:
            if len(paths[s]) > depth:
                groups.setdefault(paths[s][depth], []).append(s)
        order = sorted(groups)
        for i, step in enumerate(order):
            if step[0] + 1 > at:
                self.advance(state, at, step[0] + 1)
                at = step[0] + 1
            last = i == len(order) - 1 and not done
            child = state if last else self.copy(state)
            self.hit(child, step)
            self._visit(child, at, groups[step], depth + 1, paths)
        if done:
            self.advance(state, at, self.end)
            self.runs += 1
            self.finish(state, done)

    def _linear(self, state: S, at: int, members: list[int], depth: int, paths: Sequence[tuple[Step, ...]]) -> None:
        """Below ``max_depth``: one copy per distinct remaining path, run start to end."""
        groups: dict[tuple[Step, ...], list[int]] = {}
        for s in members:
            groups.setdefault(paths[s][depth:], []).append(s)
        order = sorted(groups)
        for i, rest in enumerate(order):
            child = state if i == len(order) - 1 else self.copy(state)
            pos = at
            for step in rest:
                if step[0] + 1 > pos:
                    self.advance(child, pos, step[0] + 1)
                    pos = step[0] + 1
                self.hit(child, step)
            self.advance(child, pos, self.end)
            self.runs += 1
            self.finish(child, groups[rest])


def _entries_at(path: Sequence[Step], i: int) -> tuple[Step, ...]:
    """The entries of ``path`` from ``i`` on that share entry ``i``'s position (all the branches one shot takes in
    that step)."""
    j = i + 1
    while j < len(path) and path[j][0] == path[i][0]:
        j += 1
    return tuple(path[i:j])


class FoldedWalker(Generic[S]):
    """:class:`Walker` with each shot's branches folded into their step: ``hit(state, entries)`` applies step
    ``entries[0][0]`` itself with those branches (every entry of the shot at that position) in place of the ideal
    step, so a branch costs no kernel pass of its own. ``advance``, ``copy`` and ``finish`` are as for
    :class:`Walker`; the tree, the sharing and the ``max_depth`` bound (counted in path entries) are the same.
    """

    def __init__(self, end: int, advance: Callable[[S, int, int], None], copy: Callable[[S], S],
                 hit: Callable[[S, tuple[Step, ...]], None], finish: Callable[[S, list[int]], None],
                 max_depth: int = 32) -> None:
        self.end = end
        self.advance = advance
        self.copy = copy
        self.hit = hit
        self.finish = finish
        self.max_depth = max(0, int(max_depth))
        self.runs = 0  # leaves reached: distinct final states computed

    def walk(self, state: S, paths: Sequence[tuple[Step, ...]]) -> None:
        """Run every shot (index into ``paths``) from ``state`` (at position 0), which the walk consumes."""
        self._visit(state, 0, list(range(len(paths))), 0, paths)

    def _visit(self, state: S, at: int, members: list[int], depth: int, paths: Sequence[tuple[Step, ...]]) -> None:
        if depth >= self.max_depth:
            self._linear(state, at, members, depth, paths)
            return
        done = [s for s in members if len(paths[s]) == depth]
        groups: dict[tuple[Step, ...], list[int]] = {}
        for s in members:
            if len(paths[s]) > depth:
                groups.setdefault(_entries_at(paths[s], depth), []).append(s)
        order = sorted(groups)
        for i, entries in enumerate(order):
            pos = entries[0][0]
            if pos > at:  # the shared state stops before the step: each group applies it with its own branches
                self.advance(state, at, pos)
                at = pos
            last = i == len(order) - 1 and not done
            child = state if last else self.copy(state)
            self.hit(child, entries)
            self._visit(child, pos + 1, groups[entries], depth + len(entries), paths)
        if done:
            self.advance(state, at, self.end)
            self.runs += 1
            self.finish(state, done)

    def _linear(self, state: S, at: int, members: list[int], depth: int, paths: Sequence[tuple[Step, ...]]) -> None:
        """Below ``max_depth``: one copy per distinct remaining path, run start to end."""
        groups: dict[tuple[Step, ...], list[int]] = {}
        for s in members:
            groups.setdefault(paths[s][depth:], []).append(s)
        order = sorted(groups)
        for i, rest in enumerate(order):
            child = state if i == len(order) - 1 else self.copy(state)
            pos, j = at, 0
            while j < len(rest):
                entries = _entries_at(rest, j)
                if entries[0][0] > pos:
                    self.advance(child, pos, entries[0][0])
                self.hit(child, entries)
                pos, j = entries[0][0] + 1, j + len(entries)
            self.advance(child, pos, self.end)
            self.runs += 1
            self.finish(child, groups[rest])


class FusedNoisyBody:
    """A mixture-noise program body as fused steps: each step an ideal block plus where its channels sit.

    ``steps[i]`` is the ideal instruction of step ``i`` (``None`` when the step holds channels only);
    :meth:`place` maps a channel's body index to ``(step, order in the step)``; :meth:`hit` applies a drawn branch
    after its step as the conjugated unitary ``R U R^dagger`` (``R``: the step's gates after the channel).
    """

    def __init__(self, body: Sequence[Instr], max_qubits: int, all_channels: bool = False) -> None:
        """``all_channels``: fuse every channel, not only unitary mixtures (for :meth:`conjugated` operators)."""

        def fusable(ins: Instr) -> bool:
            return ins.kind in ("unitary", "diagonal") or (
                ins.kind == "channel" and ins.channel is not None
                and (all_channels or ins.channel.sampling_table is not None))

        index = {id(ins): i for i, ins in enumerate(body)}
        self.steps: list[Instr | None] = []
        self.qubits: list[tuple[int, ...]] = []
        self._channels: dict[int, tuple[int, int]] = {}  # body index -> (step, order)
        self._blocks: list[_Block | None] = []
        self._cache: dict[tuple[int, int, int], np.ndarray] = {}
        self._rest: dict[tuple[int, int], np.ndarray] = {}  # (step, order) -> the step's gates after the channel
        self._folded: dict[tuple[Step, ...], np.ndarray] = {}  # a step's branches -> the step with them folded in
        for item in _group(list(body), max_qubits, fusable):
            s = len(self.steps)
            if isinstance(item, _Block):
                gates = [ins for ins in item.instrs if ins.kind != "channel"]
                self.steps.append(_block_instr(_Block(item.qubits, gates)) if gates else None)
                self.qubits.append(tuple(sorted(item.qubits)))
                self._blocks.append(item)
                for j, ins in enumerate(item.instrs):
                    if ins.kind == "channel":
                        self._channels[index[id(ins)]] = (s, j)
            elif item.kind == "channel":
                self.steps.append(None)
                self.qubits.append(item.qubits)
                self._blocks.append(_Block(list(item.qubits), [item]))
                self._channels[index[id(item)]] = (s, 0)
            else:
                self.steps.append(item)
                self.qubits.append(item.qubits)
                self._blocks.append(None)
        self._body = body

    def place(self, body_index: int) -> tuple[int, int]:
        return self._channels[body_index]

    def advance(self, state: np.ndarray, num_qubits: int, a: int, b: int) -> None:
        for ins in self.steps[a:b]:
            if ins is not None:
                apply_instr(state, num_qubits, ins)

    def error_unitary(self, step: Step) -> np.ndarray:
        """``R U R^dagger`` on the step's qubits for branch ``step[2]`` of the channel at ``step[:2]``."""
        key = step
        if key not in self._cache:
            s, j, b = step
            block = self._blocks[s]
            assert block is not None
            ch = block.instrs[j]
            assert ch.channel is not None and ch.channel.sampling_table is not None
            u = ch.channel.sampling_table[1][b]
            assert u is not None
            self._cache[key] = self.conjugated(s, j, u)
        return self._cache[key]

    def conjugated(self, s: int, j: int, op: np.ndarray) -> np.ndarray:
        """``R op R^dagger`` on step ``s``'s qubits (sorted, first most significant) for an operator ``op`` on the
        qubits of the channel at order ``j`` (``R``: the step's gates after it). Applying it after the step equals
        applying ``op`` at the channel, for any operator (``R`` is unitary), and preserves norms."""
        block = self._blocks[s]
        assert block is not None
        qubits = sorted(block.qubits)
        where = {q: i for i, q in enumerate(qubits)}
        k = len(qubits)
        ch = block.instrs[j]
        if (s, j) not in self._rest:  # R, shared by every operator of the channel (a remainder F has up to 16)
            r = np.eye(1 << k, dtype=np.complex128)
            for ins in block.instrs[j + 1:]:
                if ins.kind != "channel":
                    assert ins.matrix is not None
                    gate = np.diag(ins.matrix) if ins.kind == "diagonal" else ins.matrix
                    r = _apply_on(r, gate, [where[q] for q in ins.qubits], k)
            self._rest[(s, j)] = r
        r = self._rest[(s, j)]
        m = _apply_on(np.ascontiguousarray(r.conj().T), np.ascontiguousarray(op), [where[q] for q in ch.qubits], k)
        return np.ascontiguousarray(r @ m)

    def folded(self, entries: tuple[Step, ...]) -> np.ndarray:
        """Step ``entries[0][0]`` with the branches ``entries`` (that step's, in path order) as one matrix on the
        step's qubits: ``E_m ... E_1 B`` (``B`` the ideal step, ``E_i`` :meth:`error_unitary`), which equals the
        ideal step followed by each branch's hit. Cached: shots share their errors' places often."""
        if entries not in self._folded:
            s = entries[0][0]
            qubits = sorted(self.qubits[s])  # the order of error_unitary's matrices
            k = len(qubits)
            m = np.eye(1 << k, dtype=np.complex128)
            ideal = self.steps[s]
            if ideal is not None:
                assert ideal.matrix is not None
                gate = np.diag(ideal.matrix) if ideal.kind == "diagonal" else ideal.matrix
                m = _apply_on(m, np.ascontiguousarray(gate), [qubits.index(q) for q in ideal.qubits], k)
            for step in entries:
                m = self.error_unitary(step) @ m
            self._folded[entries] = np.ascontiguousarray(m)
        return self._folded[entries]

    def hit_folded(self, state: np.ndarray, num_qubits: int, entries: tuple[Step, ...]) -> None:
        """Apply step ``entries[0][0]`` with its branches ``entries`` folded in (:meth:`folded`): one kernel pass."""
        m = self.folded(entries)
        qubits = tuple(sorted(self.qubits[entries[0][0]]))
        if len(qubits) == 1:
            kernels.apply_1q(state, num_qubits - 1 - qubits[0], m)
        else:
            kernels.apply_dense(state, positions(qubits, num_qubits), m)

    def hit(self, state: np.ndarray, num_qubits: int, step: Step) -> None:
        u = self.error_unitary(step)
        qubits = self.qubits[step[0]]
        if len(qubits) == 1:
            kernels.apply_1q(state, num_qubits - 1 - qubits[0], u)
        else:
            kernels.apply_dense(state, positions(qubits, num_qubits), u)
