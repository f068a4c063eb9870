"""ASAP scheduling with the target's durations; idle periods become explicit ``delay`` operations.

Each qubit's clock starts at its first operation (a qubit waiting in ``|0>`` does not decay); from then on, any
gap before its next operation becomes a ``delay`` so that the noise model applies relaxation over it. Barriers align
their qubits. Classical wires are clocked too: a conditioned operation starts after the measurement it reads.
"""

from __future__ import annotations

from xihe.circuit import Gate, IfElse, Operation
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.target import Target

MIN_DELAY_NS = 1e-6


class ASAPSchedule:
    """Write ``duration`` (ns) to the property set and insert ``delay`` for idle stretches."""

    def __init__(self, target: Target, insert_delays: bool = True) -> None:
        self.target = target
        self.insert_delays = insert_delays

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
        return self.target.duration(name, op.qubits)

    def _length(self, ops: tuple[Operation, ...]) -> float:
        clock: dict[int, float] = {}
        for op in ops:
            wires = [*op.qubits, *(-1 - c for c in op.clbits)]
            finish = max((clock.get(w, 0.0) for w in wires), default=0.0) + self.op_duration(op)
            clock.update((w, finish) for w in wires)
        return max(clock.values(), default=0.0)

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        clock: dict[int, float] = {}
        creg_wires = dag._creg_wires()
        out: list[Operation] = []
        end = 0.0
        for op in dag.ops:
            wires = dag.wires(op, creg_wires)
            start = max((clock.get(w, 0.0) for w in wires), default=0.0)
            if self.insert_delays and op.gate.name != "delay":
                for q in op.qubits:
                    if q in clock and start - clock[q] > MIN_DELAY_NS:
                        out.append(Operation(Gate("delay", (start - clock[q],)), (q,)))
            finish = start + self.op_duration(op)
            for w in wires:
                clock[w] = finish
            end = max(end, finish)
            out.append(op)
        properties["duration"] = end
        return dag.copy_with(out)
