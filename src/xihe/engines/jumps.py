"""Trajectories through channels that are no mixture of unitaries (damping, relaxation), walked together.

A Kraus branch of such a channel depends on the state, so these trajectories used to run one shot at a time. Two
exact rewrites let most shots share their work instead:

- **Identity split** (:attr:`~xihe.engines.channels.Channel.identity_split`): every channel is
  ``E = (1 - w) Id + w F`` with ``w`` as small as possible (about the channel's error rate; 0.002 for a 1q gate's
  relaxation, 0.03 for a noisy CZ). *Whether* ``F`` acts does not depend on the state, so it is drawn for all
  shots up front, like the branches of Pauli noise (:func:`draw_events`); a shot that draws no event follows the
  noiseless circuit, and one that does picks a Kraus operator of ``F`` from its state when the walk gets there.
  Without the split, the no-jump operator ``diag(1, sqrt(1 - gamma))`` of damping is applied to every shot; it
  is no unitary, so it entangles (bond dimension 32 where the noiseless circuit needs 4) and no two shots share.
- **Classical tail** (:func:`classical_tail`): a channel after the last gate on its qubits, whose effect on
  measured outcomes depends only on the outcomes (:attr:`~xihe.engines.channels.Channel.outcome_matrix`: Pauli,
  damping, relaxation), is a classical confusion of the sampled bits, drawn per shot (:func:`apply_tail`). On a
  twin this is the relaxation of qubits waiting for the common readout.

:class:`JumpWalk` then walks the shots as a tree: a group of shots shares one state until some of them hit an
event; those get a copy with the event's operator applied (split further by the Kraus operator each draws from
the shared state, with the same probabilities ``||K psi||^2`` as one shot alone), and the rest go on. An operator
that leaves the state unchanged up to a phase (``|<psi|K|psi>|^2 = ||K psi||^2``, to 1e-12: a decay or phase
flip of a qubit in ``|0>``) keeps its shots in the group. Shots that part are independent draws from the same
state, so the counts are distributed as one trajectory per shot.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Generic, TypeVar

import numpy as np

from xihe.engines.branching import FusedNoisyBody
from xihe.engines.channels import Channel
from xihe.engines.program import Instr, Program

S = TypeVar("S")
# A branch of a channel: None (the identity), one unitary, or the Kraus operators of F (chosen from the state).
Branch = list[np.ndarray] | None
# States whose fidelity to the unchanged state is above 1 - TRIVIAL_TOLERANCE keep their shots in the group.
TRIVIAL_TOLERANCE = 1e-12


def branch_table(channel: Channel) -> tuple[np.ndarray, list[Branch]]:
    """Cumulative probabilities of a channel's state-independent branches and what each applies.

    A mixture of unitaries keeps its own table (:attr:`~xihe.engines.channels.Channel.sampling_table`); any other
    channel is the identity with probability ``1 - w`` and its remainder ``F`` otherwise.
    """
    table = channel.sampling_table
    if table is not None:
        return table[0], [None if u is None else [u] for u in table[1]]
    w, kraus = channel.identity_split
    if w >= 1.0:
        return np.array([1.0]), [kraus]
    return np.array([1.0 - w, 1.0]), [None, kraus]


def classical_tail(prog: Program, measured: Collection[int] | None = None) -> tuple[list[Instr], list[Instr]]:
    """The body without its classical tail, and the tail: channels (in body order) after which only channels of
    the tail act on their qubits, each with an :attr:`~xihe.engines.channels.Channel.outcome_matrix`.

    ``measured``: the qubits whose bits will be sampled (all when ``None``); a channel on some measured and some
    unmeasured qubits stays in the body, since the tail needs every bit it acts on (one on unmeasured qubits only
    changes nothing that is read)."""
    open_qubits = set(range(prog.num_qubits))
    sampled = set(range(prog.num_qubits)) if measured is None else set(measured)
    tail_ids: set[int] = set()
    for ins in reversed(prog.body):
        if (ins.kind == "channel" and ins.channel is not None and ins.condition is None
                and set(ins.qubits) <= open_qubits and ins.channel.outcome_matrix is not None
                and (set(ins.qubits) <= sampled or not set(ins.qubits) & sampled)):
            tail_ids.add(id(ins))
        else:
            open_qubits -= set(ins.qubits)
    body = [ins for ins in prog.body if id(ins) not in tail_ids]
    tail = [ins for ins in prog.body if id(ins) in tail_ids]
    return body, tail


def apply_tail(bits: np.ndarray, tail: Sequence[Instr], rng: np.random.Generator) -> None:
    """Redraw each shot's bits (``shots x n``, column ``q`` qubit ``q``) through the tail's confusion matrices."""
    shots = bits.shape[0]
    for ins in tail:
        assert ins.channel is not None
        confusion = ins.channel.outcome_matrix
        assert confusion is not None
        k = len(ins.qubits)
        before = np.zeros(shots, dtype=np.int64)
        for q in ins.qubits:
            before = (before << 1) | bits[:, q]
        cumulative: np.ndarray = np.cumsum(confusion, axis=0)[:, before].T  # shots x 2^k: P(outcome <= b | before)
        drawn = rng.random((shots, 1)) * cumulative[:, -1:]
        after = np.minimum((drawn >= cumulative).sum(axis=1), (1 << k) - 1)
        for j, q in enumerate(ins.qubits):
            bits[:, q] = (after >> (k - 1 - j)) & 1


class Events:
    """Each shot's events, sorted by place: step ``step``, order ``order`` in it, ``shot``, ``branch``."""

    def __init__(self, step: np.ndarray, order: np.ndarray, shot: np.ndarray, branch: np.ndarray) -> None:
        self.key = step * (int(order.max(initial=0)) + 1) + order
        sort = np.lexsort((shot, self.key))
        self.key, self.step, self.order = self.key[sort], step[sort], order[sort]
        self.shot, self.branch = shot[sort], branch[sort]

    def __len__(self) -> int:
        return len(self.key)


def draw_events(body: Sequence[Instr], shots: int, rng: np.random.Generator,
                place: Callable[[int], tuple[int, int]]) -> Events:
    """Every shot's state-independent draw at every channel of ``body`` (:func:`branch_table`); the non-identity
    ones are the events, placed by ``place(body index) -> (step, order)``."""
    steps, orders, who, branches = [], [], [], []
    for i, ins in enumerate(body):
        if ins.kind != "channel" or ins.channel is None:
            continue
        cumulative, ops = branch_table(ins.channel)
        idx = np.minimum(np.searchsorted(cumulative, rng.random(shots) * cumulative[-1], side="right"), len(ops) - 1)
        hit = np.flatnonzero(np.array([op is not None for op in ops])[idx])
        s, j = place(i)
        steps.append(np.full(len(hit), s))
        orders.append(np.full(len(hit), j))
        who.append(hit)
        branches.append(idx[hit])
    if not steps:
        empty = np.zeros(0, dtype=np.int64)
        return Events(empty, empty, empty, empty)
    return Events(*(np.concatenate(a).astype(np.int64) for a in (steps, orders, who, branches)))


class EventOperators:
    """``(operators, K^dagger K)`` of each event ``(step, order, branch)`` of a fused body, conjugated to act after
    their step (:meth:`~xihe.engines.branching.FusedNoisyBody.conjugated`), built once and cached."""

    def __init__(self, fused: FusedNoisyBody, body: Sequence[Instr]) -> None:
        self.fused = fused
        self.channels = {fused.place(i): ins.channel for i, ins in enumerate(body) if ins.kind == "channel"}
        self._cache: dict[tuple[int, int, int], tuple[list[np.ndarray], np.ndarray]] = {}

    def __call__(self, step: int, order: int, branch: int) -> tuple[list[np.ndarray], np.ndarray]:
        key = (step, order, branch)
        if key not in self._cache:
            channel = self.channels[(step, order)]
            assert channel is not None
            ops = branch_table(channel)[1][branch]
            assert ops is not None
            conj = [self.fused.conjugated(step, order, op) for op in ops]
            self._cache[key] = (conj, np.array([op.conj().T @ op for op in conj]))
        return self._cache[key]


class JumpWalk(Generic[S]):
    """Walks shots through a program's steps as a tree over their events (module docstring).

    ``advance(state, a, b)`` applies steps ``a .. b - 1``; ``operators(step, order, branch)`` gives the branch's
    operators (conjugated to act after the step) and their ``K^dagger K``; ``density(state, step)`` the reduced
    density matrix of the step's qubits; ``apply(state, step, op, unitary)`` applies one operator (renormalising a
    Kraus operator's result); ``finish(state, shots)`` samples the shots from a state advanced to the end.
    """

    def __init__(self, end: int, advance: Callable[[S, int, int], None], copy: Callable[[S], S],
                 operators: Callable[[int, int, int], tuple[list[np.ndarray], np.ndarray]],
                 density: Callable[[S, int], np.ndarray], apply: Callable[[S, int, np.ndarray, bool], None],
                 finish: Callable[[S, np.ndarray], None], rng: np.random.Generator) -> None:
        self.end = end
        self.advance = advance
        self.copy = copy
        self.operators = operators
        self.density = density
        self.apply = apply
        self.finish = finish
        self.rng = rng
        self.runs = 0  # leaves: distinct final states sampled

    def walk(self, state: S, events: Events, shots: int) -> None:
        """Run shots ``0 .. shots - 1`` from ``state`` (at step 0), which the walk consumes."""
        self._run(state, 0, np.arange(len(events)), np.arange(shots), events)

    def _split(self, state: S, step: int, order: int, shots: np.ndarray, branches: np.ndarray
               ) -> list[tuple[np.ndarray, bool, np.ndarray]]:
        """The shots of one place that leave the group: ``(operator, unitary, shots)`` per distinct operator."""
        rho: np.ndarray | None = None
        out = []
        for b in np.unique(branches):
            mine = shots[branches == b]
            ops, grams = self.operators(step, order, int(b))
            if rho is None:
                rho = self.density(state, step)
            if len(ops) == 1:
                picks = [(0, mine)]
            else:
                weights = np.maximum(np.einsum("kxy,yx->k", grams, rho).real, 0.0)
                cumulative = np.cumsum(weights)
                drawn = np.minimum(np.searchsorted(cumulative, self.rng.random(len(mine)) * cumulative[-1],
                                                   side="right"), len(ops) - 1)
                picks = [(int(k), mine[drawn == k]) for k in np.unique(drawn)]
            for k, who in picks:
                norm2 = float(np.einsum("xy,yx->", grams[k], rho).real)
                overlap = complex(np.einsum("xy,yx->", ops[k], rho))
                if abs(overlap) ** 2 >= (1.0 - TRIVIAL_TOLERANCE) * norm2:
                    continue  # the operator leaves the state as it is: these shots stay
                out.append((ops[k], len(ops) == 1, who))
        return out

    def _run(self, state: S, at: int, idx: np.ndarray, members: np.ndarray, events: Events) -> None:
        """Advance ``state`` with its ``members`` (shots) through their events ``idx``; a group that parts is run to
        its end before the next parts (depth first), so at most one state per event on the current path is alive
        (a few statevectors, not one per shot)."""
        i = 0
        while i < len(idx):
            keys = events.key[idx]
            stop = int(np.searchsorted(keys, keys[i], side="right"))
            here = idx[i:stop]
            step, order = int(events.step[here[0]]), int(events.order[here[0]])
            if step + 1 > at:
                self.advance(state, at, step + 1)
                at = step + 1
            movers = self._split(state, step, order, events.shot[here], events.branch[here])
            if not movers:
                i = stop
                continue
            rest = idx[stop:]
            if len(movers) == 1 and len(movers[0][2]) == len(members):  # the whole group moves: no copy needed
                self.apply(state, step, movers[0][0], movers[0][1])
                idx, i = rest, 0
                continue
            rest_shots = events.shot[rest]
            for op, unitary, who in movers:
                child = self.copy(state)
                self.apply(child, step, op, unitary)
                self._run(child, at, rest[np.isin(rest_shots, who)], who, events)
            moved = np.concatenate([who for _, _, who in movers])
            idx = rest[~np.isin(rest_shots, moved)]
            members = members[~np.isin(members, moved)]
            i = 0
            if not len(members):
                return
        self.advance(state, at, self.end)
        self.runs += 1
        self.finish(state, members)
