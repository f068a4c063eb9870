"""Dynamical decoupling: fill a scheduled circuit's long idle windows with refocusing pulses (Quafu's ``open_dd``).

``XY4`` puts X, Y, X, Y and ``CPMG`` puts X, X into a qubit's idle window, spaced as Qiskit's
``PadDynamicalDecoupling`` spaces them by default: for ``n`` pulses, ``1/(2n)`` of the free time before the first
pulse and after the last, ``1/n`` between pulses. X is ``rx(pi)`` and Y ``ry(pi)``, so
each sequence is the identity up to a global phase. A window gets a sequence only when the pulses fill at most half
of it (``MAX_PULSE_FRACTION``); shorter windows keep their plain delay. Consecutive delays on a qubit form one
window; a barrier or any other operation on the qubit ends it. The circuit's duration does not change.

Why it matters for a twin: without decoupling an idle qubit dephases with T2* (Ramsey); the refocusing pulses undo
the slow part of that noise, so under decoupling it dephases with T2echo (:mod:`xihe.devices.noise`), and each
pulse carries its own gate error.
"""

from __future__ import annotations

import math

from xihe.circuit import Circuit, Gate, Operation
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.schedule import MIN_DELAY_NS
from xihe.compiler.target import Target
from xihe.errors import CompileError

#: Sequence name -> the pulses' gate names (``rx(pi)`` for X, ``ry(pi)`` for Y).
SEQUENCES: dict[str, tuple[str, ...]] = {"XY4": ("rx", "ry", "rx", "ry"), "CPMG": ("rx", "rx")}
MAX_PULSE_FRACTION = 0.5


def dd_sequence(name: str | None) -> str | None:
    """The canonical name of a decoupling sequence (``"xy4"`` -> ``"XY4"``), ``None`` for none; unknown: error."""
    if name is None or name == "":
        return None
    key = str(name).upper()
    if key not in SEQUENCES:
        raise CompileError(f"unknown dynamical decoupling sequence {name!r}; choose one of {', '.join(SEQUENCES)}")
    return key


class DynamicalDecoupling:
    """Replace each long enough idle window of a scheduled circuit by a decoupling sequence of ``sequence``."""

    def __init__(self, target: Target, sequence: str) -> None:
        name = dd_sequence(sequence)
        assert name is not None
        self.target = target
        self.sequence = name
        self.pulses = SEQUENCES[name]

    def _window(self, qubit: int, total: float) -> list[Operation] | None:
        """The pulses and spaced delays filling ``total`` ns on ``qubit``, or ``None`` if it is too short."""
        if not all(self.target.supports(g, (qubit,)) for g in self.pulses):
            raise CompileError(f"dynamical decoupling {self.sequence} needs {sorted(set(self.pulses))} on qubit "
                               f"{qubit}, which the backend does not have")
        n = len(self.pulses)
        busy = sum(self.target.duration(g, (qubit,)) for g in self.pulses)
        if busy <= 0 or busy > MAX_PULSE_FRACTION * total:
            return None
        free = total - busy
        gaps = [free / (2 * n)] + [free / n] * (n - 1) + [free / (2 * n)]
        out: list[Operation] = []
        for gap, pulse in zip(gaps, (*self.pulses, None), strict=True):
            if gap > MIN_DELAY_NS:
                out.append(Operation(Gate("delay", (gap,)), (qubit,)))
            if pulse is not None:
                out.append(Operation(Gate(pulse, (math.pi,)), (qubit,)))
        return out

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        ops = dag.ops
        runs: dict[int, list[int]] = {}  # qubit -> indices of its current run of delays
        replaced: dict[int, list[Operation]] = {}  # first delay of a filled window -> the sequence
        dropped: set[int] = set()
        windows = 0

        def close(qubit: int) -> None:
            nonlocal windows
            run = runs.pop(qubit, [])
            if not run:
                return
            total = sum(float(ops[i].gate.params[0]) for i in run)  # type: ignore[arg-type]
            sequence = self._window(qubit, total)
            if sequence is None:
                return
            replaced[run[0]] = sequence
            dropped.update(run[1:])
            windows += 1

        for i, op in enumerate(ops):
            if op.gate.name == "delay" and op.condition is None and len(op.qubits) == 1:
                runs.setdefault(op.qubits[0], []).append(i)
                continue
            for q in op.qubits:
                close(q)
        for q in list(runs):
            close(q)
        properties["dynamical_decoupling"] = self.sequence
        properties["decoupled_windows"] = windows
        if not replaced:
            return dag
        out: list[Operation] = []
        for i, op in enumerate(ops):
            if i in replaced:
                out.extend(replaced[i])
            elif i not in dropped:
                out.append(op)
        return dag.copy_with(out)


def decouple_circuit(circuit: Circuit, target: Target, sequence: str) -> tuple[Circuit, int]:
    """A scheduled ``circuit`` with ``sequence`` in its long idle windows, and how many windows got one."""
    properties: PropertySet = {}
    dag = DynamicalDecoupling(target, sequence).run(DAGCircuit.from_circuit(circuit), properties)
    return dag.to_circuit(), int(properties["decoupled_windows"])
