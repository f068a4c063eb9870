"""Fan-out layout: grow a GHZ or fan-out preparation as a tree on the chip's couplers, so it needs no swaps.

The fact it uses holds only from the all-zero initial state, which is where every chip and twin starts. After
``cx a, b`` with ``b`` in ``|0>`` the state is in the +1 eigenspace of ``Z_a Z_b``: the two qubits hold the same
computational-basis bit in every branch. A later gate that commutes with ``Z`` on ``a`` (a control-type wire: the
control of ``cx``, either qubit of ``cz``/``rzz``/``cp``) acts on the state exactly as it would with ``b`` in ``a``'s
place, because it reads only that bit. So a GHZ chain ``cx 0,1; cx 1,2; ...`` may take each control from *any*
qubit already in the GHZ, and an ``n``-qubit GHZ needs ``n - 1`` two-qubit gates on any connected set of ``n``
qubits, however the chip's coupler graph is shaped (dongling's is a tree with no 40-qubit path, where routing the
chain as written cost 95 CZs for GHZ-40).

:class:`ParityClasses` tracks the fact exactly as a partition of the qubits: the qubits known to be ``|0>`` and
groups known to hold equal bits. A gate that commutes with ``Z`` on a qubit keeps that qubit's facts (diagonal
gates, controls); ``cx a, b`` moves ``b`` into ``a``'s group when ``b`` is ``|0>``, into ``|0>`` when both were
in one group, and otherwise out of every group; anything else (a non-diagonal gate on the qubit, ``measure``,
``reset``, a conditioned gate, a user-defined gate: :func:`z_wires`) takes the qubit out of every group.
:func:`rewrite_controls` walks a circuit with these facts and lets a chooser pick, for each gate, which group
member stands in on each control-type wire.

:class:`FanOutLayout` is that chooser for a target: from a few compact centres of the chip region layout would
use (:func:`~xihe.compiler.passes.layout.layout_target`), it places qubits as their first two-qubit gate reaches
them, each new qubit on the free neighbour of its group that is free earliest and nearest the centre (so the tree
is about as deep as the region's radius, and qubits idle less in the excited branch), and keeps the placement of
best estimated success (coupler errors, readouts, idle decay until the terminal measurements). It fires only
when some gate has a stand-in and every two-qubit gate lands on a coupler; it then writes ``layout`` and routing
inserts no swap. Otherwise the circuit is left as it is for VF2 and SABRE.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from xihe.circuit import Gate, IfElse, Operation, unitary
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.layout import complete_layout, layout_target
from xihe.compiler.synthesis import is_diagonal
from xihe.compiler.target import Target
from xihe.errors import CircuitError

# Group id of the qubits known to be |0>.
ZERO = -1
# Operations that leave the state as it is.
PASSIVE = frozenset({"barrier", "delay"})
# How many centres FanOutLayout tries (the most compact ones of the region).
CENTRES = 8

# For one operation, per wire, the qubits that may act on that wire (the original first).
Choices = tuple[tuple[int, ...], ...]
Chooser = Callable[[Operation, Choices], tuple[int, ...]]


@lru_cache(maxsize=4096)
def z_wires(gate: Gate) -> str:
    """Per wire of ``gate``, ``Z`` where it commutes with Z there, else ``.``: the gate table's ``commutation``
    column, and a one-qubit gate whose parameters make it diagonal (``u3(0, 0, pi/4)``, a ``t`` as Qiskit writes it
    in the u3/cx basis) counts as diagonal. A user-defined or unknown gate commutes nowhere, as far as this knows."""
    spec = gate.spec if gate.definition is None else None
    if spec is None or not gate.is_unitary:
        return "." * gate.num_qubits
    letters = "".join("Z" if c == "Z" else "." for c in spec.commutation) or "." * gate.num_qubits
    if gate.num_qubits == 1 and letters != "Z" and gate.params:
        try:
            return "Z" if is_diagonal(unitary(gate)) else letters
        except CircuitError:  # unbound parameters
            return letters
    return letters


class ParityClasses:
    """Which qubits are known to be ``|0>`` and which groups are known to hold equal computational-basis bits.

    >>> from xihe.circuit import Gate
    >>> facts = ParityClasses(3)
    >>> facts.apply(Operation(Gate("h"), (0,)))
    >>> facts.apply(Operation(Gate("cx"), (0, 1)))
    >>> facts.stand_ins(1), facts.is_zero(2)
    ((0, 1), True)
    """

    def __init__(self, num_qubits: int) -> None:
        self.group = [ZERO] * num_qubits
        self.members: dict[int, set[int]] = {ZERO: set(range(num_qubits))}
        self._next = 0

    def is_zero(self, q: int) -> bool:
        return self.group[q] == ZERO

    def stand_ins(self, q: int) -> tuple[int, ...]:
        """``q`` and every qubit known to hold the same bit as ``q`` (only ``q`` for a ``|0>`` or unknown one)."""
        g = self.group[q]
        return (q,) if g == ZERO else tuple(sorted(self.members[g]))

    def _move(self, q: int, group: int) -> None:
        old = self.group[q]
        self.members[old].discard(q)
        if old != ZERO and not self.members[old]:
            del self.members[old]
        self.group[q] = group
        self.members.setdefault(group, set()).add(q)

    def _isolate(self, q: int) -> None:
        self._move(q, self._next)
        self._next += 1

    def apply(self, op: Operation) -> None:
        """Update the facts for ``op`` having acted on the state."""
        gate = op.gate
        if gate.name in PASSIVE and op.condition is None:
            return
        if gate.definition is not None or not gate.is_unitary or op.condition is not None or isinstance(op, IfElse):
            for q in op.qubits:
                self._isolate(q)
            return
        if gate.name == "cx":
            a, b = op.qubits
            if self.group[a] == ZERO:  # the control reads 0: the gate does nothing
                return
            if self.group[b] == ZERO:
                self._move(b, self.group[a])
            elif self.group[b] == self.group[a]:  # b ^= b
                self._move(b, ZERO)
            else:
                self._isolate(b)
            return
        for q, letter in zip(op.qubits, z_wires(gate), strict=True):
            if letter != "Z":
                self._isolate(q)

    def choices(self, op: Operation) -> Choices:
        """Per wire of ``op``, the qubits that may stand in on it: its group on a control-type wire, else itself."""
        gate = op.gate
        if len(op.qubits) < 2 or not gate.is_unitary or op.condition is not None or isinstance(op, IfElse):
            return tuple((q,) for q in op.qubits)
        out: list[tuple[int, ...]] = []
        for q, letter in zip(op.qubits, z_wires(gate), strict=True):
            if letter != "Z":
                out.append((q,))
                continue
            others = set(op.qubits) - {q}
            out.append((q, *(r for r in self.stand_ins(q) if r != q and r not in others)))
        return tuple(out)


def rewrite_controls(ops: list[Operation], num_qubits: int, choose: Chooser) -> list[Operation]:
    """``ops`` with each multi-qubit gate's wires replaced by ``choose(op, choices)``: distinct qubits, one of
    those :meth:`ParityClasses.choices` allows per wire. From ``|0...0>`` the result prepares the same state.
    ``choose`` sees every multi-qubit gate (a placement needs them all) and may raise to abandon the rewrite."""
    facts = ParityClasses(num_qubits)
    out = []
    for op in ops:
        options = facts.choices(op)
        qubits = tuple(choose(op, options)) if op.gate.is_unitary and len(op.qubits) >= 2 else op.qubits
        if len(set(qubits)) != len(qubits) or any(q not in c for q, c in zip(qubits, options, strict=True)):
            raise ValueError(f"{qubits} is not a choice of distinct qubits among {options} for {op}")
        new = op if qubits == op.qubits else op.replace(qubits=tuple(qubits))
        facts.apply(new)
        out.append(new)
    return out


class _Stuck(Exception):
    """A placement that cannot put some two-qubit gate on a coupler."""


class _Grower:
    """One placement from one centre: qubits placed as gates reach them, gate times tracked for the idle estimate."""

    def __init__(self, target: Target, centre: int, step: dict[tuple[int, int], float]) -> None:
        self.target = target
        self.centre = centre
        self.step = step
        self.place: dict[int, int] = {}
        self.used: set[int] = set()
        # Used qubits with no free neighbour left: they can take no new qubit, so :meth:`_attach` skips them (a
        # GHZ's group holds every placed qubit, and most are shut in long before the end).
        self.closed: set[int] = set()
        self.ready: dict[int, float] = {}
        self.first: dict[int, float] = {}
        self.log_fidelity = 0.0

    def _free_neighbours(self, p: int) -> list[int]:
        return [r for r in self.target.neighbors[p] if r not in self.used]

    def _put(self, v: int, p: int) -> None:
        self.place[v] = p
        self.used.add(p)
        neighbors = self.target.neighbors
        for q in (p, *neighbors[p]):
            if q in self.used and q not in self.closed and all(r in self.used for r in neighbors[q]):
                self.closed.add(q)

    def _seat(self) -> int:
        """The free qubit nearest the centre that has a free neighbour (for a gate on two unplaced qubits)."""
        dist = self.target.distance[self.centre]
        seats = [p for p in self.target.working_qubits if p not in self.used and self._free_neighbours(p)]
        if not seats:
            raise _Stuck
        return min(seats, key=lambda p: (int(dist[p]), p))

    def _attach(self, options: tuple[int, ...]) -> tuple[int, int]:
        """(placed option, free qubit): the pair that can start earliest, nearest the centre, best coupler."""
        dist = self.target.distance[self.centre]
        best: tuple[tuple[float, int, float, int], int, int] | None = None
        for v in options:
            p = self.place[v]
            if p in self.closed:
                continue
            for r in self._free_neighbours(p):
                key = (self.ready.get(v, 0.0), int(dist[r]), self.target.two_qubit_error(p, r), r)
                if best is None or key < best[0]:
                    best = (key, v, r)
        if best is None:
            raise _Stuck
        return best[1], best[2]

    def choose(self, op: Operation, options: Choices) -> tuple[int, ...]:
        if len(options) != 2:
            raise _Stuck
        (a_opts, b_opts) = options
        placed_a = [v for v in a_opts if v in self.place]
        placed_b = [v for v in b_opts if v in self.place]
        if placed_a and placed_b:
            pairs = [(x, y) for x in placed_a for y in placed_b
                     if x != y and self.place[y] in self.target.neighbors[self.place[x]]]
            if not pairs:
                raise _Stuck
            x, y = min(pairs, key=lambda xy: (max(self.ready.get(xy[0], 0.0), self.ready.get(xy[1], 0.0)),
                                              self.target.two_qubit_error(self.place[xy[0]], self.place[xy[1]]), xy))
        elif placed_a or placed_b:
            # Unplaced qubits have had no two-qubit gate, so they have no stand-ins: the unplaced wire is one qubit.
            if placed_a:
                (y,) = b_opts
                x, spot = self._attach(tuple(placed_a))
                self._put(y, spot)
            else:
                (x,) = a_opts
                y, spot = self._attach(tuple(placed_b))
                self._put(x, spot)
        else:
            (x,), (y,) = a_opts, b_opts
            seat = self._seat()
            self._put(x, seat)
            _, spot = self._attach((x,))
            self._put(y, spot)
        self._record(x, y)
        return (x, y)

    def _record(self, x: int, y: int) -> None:
        p, q = self.place[x], self.place[y]
        end = max(self.ready.get(x, 0.0), self.ready.get(y, 0.0)) + self.step[min(p, q), max(p, q)]
        for v in (x, y):
            self.ready[v] = end
            self.first.setdefault(v, end)
        self.log_fidelity += math.log1p(-min(self.target.two_qubit_error(p, q), 0.999999))

    def log_success(self, measured: set[int]) -> float:
        """Coupler errors, readouts of the measured placed qubits, and each placed qubit's decay (``exp(-t/T1)``, as
        the compiler's estimate charges idle time) from its first two-qubit gate to the end of the preparation."""
        end = max(self.ready.values(), default=0.0)
        total = self.log_fidelity
        for v, p in self.place.items():
            if v in measured:
                total += math.log(max(self.target.readout_fidelity(p), 1e-12))
            t1 = self.target.t1.get(p, 0.0)
            if t1 > 0:
                total -= (end - self.first.get(v, end)) / t1
        return total


def step_durations(target: Target) -> dict[tuple[int, int], float]:
    """Per coupler ``(low, high)``: the duration of a two-qubit gate there with a 1q gate on each side (a ``cx``
    lowered to ``cz``), in ns."""
    one = [p.duration for name in target.one_qubit_gates for p in (target.gates or {})[name].values()
           if p.duration > 0]
    single = float(np.median(one)) if one else 0.0
    out = {}
    for a, b in target.edges:
        two = max((target.duration(name, pair) for name in target.two_qubit_gates for pair in ((a, b), (b, a))),
                  default=0.0)
        out[a, b] = two + 2 * single
    return out


def compact_centres(target: Target, size: int, count: int = CENTRES) -> list[int]:
    """The ``count`` qubits of the first component with room for ``size`` whose ``size`` nearest qubits are nearest
    in total (the middles of the region)."""
    component = next((c for c in target.components if len(c) >= size), None)
    if component is None:
        return []
    members = np.array(component)
    dist = target.distance[np.ix_(members, members)]
    spread = np.partition(dist, size - 1, axis=1)[:, :size].sum(axis=1)
    order = sorted(range(len(members)), key=lambda i: (int(spread[i]), int(members[i])))
    return [int(members[i]) for i in order[:count]]


class FanOutLayout:
    """Rewrite fan-out controls and fix a swap-free layout when one exists (see the module docstring).

    Writes ``layout``, ``layout_method = "fanout"`` and ``fanout_rewired`` (how many gates changed a wire).
    """

    def __init__(self, target: Target) -> None:
        self.target = target

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        if self.target.unconstrained or "layout" in properties or any(isinstance(op, IfElse) for op in dag.ops):
            return dag
        if not _has_stand_ins(dag):
            return dag
        size = max(len(dag.active_qubits()), 1)
        view = layout_target(self.target, size)
        step = step_durations(view)
        measured = {op.qubits[0] for op in dag.ops if op.gate.name == "measure"}
        best: tuple[float, list[Operation], dict[int, int]] | None = None
        for centre in compact_centres(view, size):
            grower = _Grower(view, centre, step)
            try:
                ops = rewrite_controls(dag.ops, dag.num_qubits, grower.choose)
            except _Stuck:
                continue
            score = grower.log_success(measured)
            if best is None or score > best[0]:
                best = (score, ops, grower.place)
        if best is None:
            return dag
        _, ops, place = best
        properties["layout"] = complete_layout(dict(place), dag.num_qubits, self.target)
        properties["layout_method"] = "fanout"
        properties["fanout_rewired"] = sum(1 for old, new in zip(dag.ops, ops, strict=True) if old is not new)
        return dag.copy_with(ops)


def _has_stand_ins(dag: DAGCircuit) -> bool:
    """Whether some two-qubit gate of ``dag`` could take another qubit on one of its wires."""
    facts = ParityClasses(dag.num_qubits)
    for op in dag.ops:
        if len(op.qubits) == 2 and any(len(c) > 1 for c in facts.choices(op)):
            return True
        facts.apply(op)
    return False
