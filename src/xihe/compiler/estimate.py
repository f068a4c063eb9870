"""Estimated success probability of a native circuit from the calibration numbers in its target.

ESP = product over gates of (1 - gate error) times product over measurements of the readout fidelity, and, over
each explicit ``delay``, the chance of no relaxation, ``exp(-t/T1)`` (:func:`idle_log_fidelity`). It ranks
compilations (as in Nishio et al. 2020) and predicts roughly what fraction of shots run without any error; it is not
an exact outcome probability. The operations of both bodies of an if block count (a bound: one branch runs), so
routing inside blocks is ranked.

Layout trials are ranked before anything is scheduled: they charge each virtual qubit's wait in the unrouted
circuit's schedule (:func:`~xihe.compiler.passes.schedule.idle_times`) at :func:`idle_log_fidelity`'s rate on the
physical qubits they put it on (issue 19: a 330 us circuit on line10's 15 us qubit lost more to idle decay than to
all its gates).
"""

from __future__ import annotations

import math

from xihe.circuit import Circuit, Operation, walk
from xihe.compiler.dag import has_if_blocks
from xihe.compiler.target import Target


def idle_log_fidelity(target: Target, qubit: int, duration: float) -> float:
    """The log of the chance that ``qubit`` waits ``duration`` ns without relaxing: ``-duration / T1``; 0 where the
    calibration has no T1. The one rule for idle decay in estimates (delays here, layout trials' waits)."""
    t1 = target.t1.get(qubit, 0.0)
    return -duration / t1 if t1 > 0 else 0.0


def log_success_probability(circuit: Circuit, target: Target) -> float:
    """The log of :func:`estimated_success_probability`: each operation's term added in circuit order.

    A gate's or a measurement's term depends only on its name and qubits, so it is looked up once per pair (a
    barrier's or a reset's is none); a delay's is its own. Routing candidates are each ranked by this, on the
    compile's critical path (issue 19).
    """
    total = 0.0
    terms: dict[tuple[str, tuple[int, ...]], float | None] = {}  # per (name, qubits); None: adds nothing
    ops = circuit.operations
    for op in walk(ops) if has_if_blocks(ops) else ops:
        gate = op.gate
        name = gate.name
        if name == "delay":
            total += idle_log_fidelity(target, op.qubits[0], float(gate.params[0]))  # type: ignore[arg-type]
            continue
        key = (name, op.qubits)
        if key in terms:
            term = terms[key]
        else:
            term = terms[key] = _term(target, op)
        if term is not None:
            total += term
    return total


def _term(target: Target, op: Operation) -> float | None:
    """A measurement's or a gate's log-fidelity, or ``None`` for an operation that costs nothing (a barrier)."""
    if op.gate.name == "measure":
        return math.log(max(target.readout_fidelity(op.qubits[0]), 1e-12))
    if op.gate.is_unitary:
        return math.log1p(-min(target.error(op.gate.name, op.qubits), 1 - 1e-12))
    return None


def estimated_success_probability(circuit: Circuit, target: Target) -> float:
    """A number in (0, 1]: see the module docstring."""
    return math.exp(log_success_probability(circuit, target))
