"""ASAP scheduling with the target's durations; idle periods become explicit ``delay`` operations.

Each qubit's clock starts at its first operation (a qubit waiting in ``|0>`` does not decay); from then on, any
gap before its next operation becomes a ``delay`` so that the noise model applies relaxation over it. Barriers align
their qubits. Classical wires are clocked too: a conditioned operation starts after the measurement it reads.

Terminal measurements (nothing but barriers follows on the qubit, and no later operation reads or writes the bit)
start together, when the last other operation has ended: a Quafu chip reads all its qubits out at once at the end
of the circuit, so a qubit that finished early idles, and decays, until then. Mid-circuit measurements are
scheduled as soon as their qubit is free, like gates. The same pass schedules compiled and verbatim circuits
(:func:`schedule_circuit`), so the same physical circuit gets the same idle noise either way; and layout trials
estimate each virtual qubit's waits with it (:func:`idle_times`), before there are physical qubits to time.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from operator import attrgetter
from statistics import median

import numpy as np

from xihe.circuit import Circuit, Gate, IfElse, Operation, walk
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.target import Target

MIN_DELAY_NS = 1e-6
_QUBITS = attrgetter("qubits")


def terminal_measurements(dag: DAGCircuit) -> set[int]:
    """Indices of the measurements after which nothing but barriers acts on their qubit and nothing uses their bit.

    "Uses" is a later measurement into the same bit, a later operation conditioned on the bit's register, or a
    later operation (an ``if_else`` block) reading the bit.
    """
    clbit_reg: dict[int, str] = {}
    offset = 0
    for reg in dag.cregs:
        for i in range(reg.size):
            clbit_reg[offset + i] = reg.name
        offset += reg.size
    busy: set[int] = set()  # qubits with a non-barrier operation later on
    used_bits: set[int] = set()
    conditioned: set[str] = set()
    out: set[int] = set()
    ops = dag.ops
    # Once every qubit the circuit uses is busy no earlier measurement can be terminal: the scan stops there (after
    # the last layer or so, not at the first operation: the schedule of every routing candidate runs this).
    used = len(set(chain.from_iterable(map(_QUBITS, ops))))
    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        name = op.gate.name
        if (name == "measure" and op.condition is None and op.qubits[0] not in busy
                and op.clbits[0] not in used_bits and clbit_reg.get(op.clbits[0]) not in conditioned):
            out.add(i)
        if op.condition is not None:
            conditioned.add(op.condition[0])
        if name != "barrier":
            busy.update(op.qubits)
            if len(busy) == used:
                break
        if op.clbits:
            used_bits.update(op.clbits)
    return out


class ASAPSchedule:
    """Write ``duration`` (ns) to the property set and insert ``delay`` for idle stretches.

    ``gate_duration(name, qubits)``: a gate's duration where not the target's own (:func:`idle_times` times a
    circuit on virtual qubits, not yet in the native gates).
    """

    def __init__(self, target: Target, insert_delays: bool = True,
                 gate_duration: Callable[[str, tuple[int, ...]], float] | None = None) -> None:
        self.target = target
        self.insert_delays = insert_delays
        self.gate_duration = gate_duration if gate_duration is not None else target.duration

    def op_duration(self, op: Operation) -> float:
        name = op.gate.name
        if name == "delay":
            return float(op.gate.params[0])  # type: ignore[arg-type]
        if name == "measure":
            return self.target.measure_duration
        if name in ("barrier", "reset"):
            return 0.0
        if isinstance(op, IfElse):  # the longer branch, each scheduled as soon as possible on its own
            return max(self._length(body) for body in op.bodies)
        return self.gate_duration(name, op.qubits)

    def _length(self, ops: tuple[Operation, ...]) -> float:
        clock: dict[int, float] = {}
        for op in ops:
            wires = [*op.qubits, *(-1 - c for c in op.clbits)]
            finish = max((clock.get(w, 0.0) for w in wires), default=0.0) + self.op_duration(op)
            clock.update((w, finish) for w in wires)
        return max(clock.values(), default=0.0)

    def _padded(self, block: IfElse) -> IfElse:
        """The block with each body scheduled on its own, from the block's start, and every qubit of the block
        idle (a ``delay``) until the block's end: the qubits a branch leaves alone wait, and decay, while it runs."""
        length = self.op_duration(block)
        return block.map_bodies(lambda body: self._scheduled_body(body, block.qubits, length))

    def _scheduled_body(self, ops: tuple[Operation, ...], qubits: tuple[int, ...], length: float) -> list[Operation]:
        clock: dict[int, float] = dict.fromkeys(qubits, 0.0)
        out: list[Operation] = []
        for op in ops:
            wires = [*op.qubits, *(-1 - c for c in op.clbits)]
            start = max((clock.get(w, 0.0) for w in wires), default=0.0)
            if op.gate.name != "delay":
                self._idle(out, clock, op.qubits, start)
            if isinstance(op, IfElse):
                op = self._padded(op)
            finish = start + self.op_duration(op)
            clock.update((w, finish) for w in wires)
            out.append(op)
        self._idle(out, clock, qubits, length)
        return out

    def _idle(self, out: list[Operation], clock: dict[int, float], qubits: tuple[int, ...], start: float) -> None:
        if not self.insert_delays:
            return
        for q in qubits:
            if q in clock and start - clock[q] > MIN_DELAY_NS:
                out.append(Operation(Gate._trusted("delay", (start - clock[q],), 1), (q,)))

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        clock: dict[int, float] = {}
        creg_wires = dag._creg_wires()
        terminal = terminal_measurements(dag)
        out: list[Operation] = []
        end = 0.0
        durations: dict[tuple[str, tuple[int, ...]], float] = {}  # a gate's duration per qubits, looked up once
        for index, op in enumerate(dag.ops):
            name = op.gate.name
            if name == "measure" and index in terminal:
                continue
            plain = op.condition is None and not op.clbits and not isinstance(op, IfElse)
            if plain and name != "delay":  # most operations: a gate, its duration looked up once per qubits
                qubits = op.qubits
                key = (name, qubits)
                duration = durations.get(key)
                if duration is None:
                    duration = durations[key] = self.op_duration(op)
                if len(qubits) == 1:  # starts on its qubit's clock: never an idle stretch before it
                    finish = clock.get(qubits[0], 0.0) + duration
                    clock[qubits[0]] = finish
                else:
                    start = max([clock.get(w, 0.0) for w in qubits])
                    self._idle(out, clock, qubits, start)
                    finish = start + duration
                    for w in qubits:
                        clock[w] = finish
                if finish > end:
                    end = finish
                out.append(op)
                continue
            wires = op.qubits if plain else dag.wires(op, creg_wires)
            start = max((clock.get(w, 0.0) for w in wires), default=0.0)
            if name != "delay":
                self._idle(out, clock, op.qubits, start)
            if isinstance(op, IfElse) and self.insert_delays:
                op = self._padded(op)
            finish = start + self.op_duration(op)
            for w in wires:
                clock[w] = finish
            end = max(end, finish)
            out.append(op)
        if terminal:
            readout = end  # every terminal measurement starts when the last other operation has ended
            for index in sorted(terminal):
                op = dag.ops[index]
                self._idle(out, clock, op.qubits, readout)
                for w in dag.wires(op, creg_wires):
                    clock[w] = readout + self.op_duration(op)
                end = max(end, readout + self.op_duration(op))
                out.append(op)
        properties["duration"] = end
        return dag.copy_with(out)


def schedule_circuit(circuit: Circuit, target: Target) -> tuple[Circuit, float]:
    """``circuit`` (native to ``target``) scheduled as the compiler schedules, and its duration in ns."""
    properties: PropertySet = {}
    dag = ASAPSchedule(target).run(DAGCircuit.from_circuit(circuit), properties)
    return dag.to_circuit(), float(properties["duration"])


def typical_durations(target: Target) -> dict[str, float]:
    """Each native gate's median duration (ns) over the qubits it acts on, and under ``1q`` / ``2q`` the longest of
    those of that arity: what a gate the target lacks is timed as (it becomes at least one native gate)."""
    out: dict[str, float] = {}
    longest = {1: 0.0, 2: 0.0}
    for name, props in (target.gates or {}).items():
        if props:
            out[name] = median(p.duration for p in props.values())
            arity = len(next(iter(props)))
            if arity in longest:
                longest[arity] = max(longest[arity], out[name])
    out["1q"], out["2q"] = longest[1], longest[2]
    return out


def idle_times(dag: DAGCircuit, target: Target) -> np.ndarray:
    """How long (ns) each qubit of ``dag`` (virtual, before layout) idles in its ASAP schedule: the delays
    :class:`ASAPSchedule` inserts, every gate timed at the target's typical duration (:func:`typical_durations`),
    measurements at the target's. What a layout costs in idle decay is these waits at its physical qubits' rates."""
    typical = typical_durations(target)

    def duration(name: str, qubits: tuple[int, ...]) -> float:
        return typical.get(name, typical["2q" if len(qubits) > 1 else "1q"])

    waits = np.zeros(dag.num_qubits)
    for op in walk(ASAPSchedule(target, gate_duration=duration).run(dag, {}).ops):
        if op.gate.name == "delay":
            waits[op.qubits[0]] += float(op.gate.params[0])  # type: ignore[arg-type]
    return waits
