"""Idle decay in layout ranking (issue 19): a long circuit avoids a short-T1 qubit when the chip has another
region, and the layout trials' idle term is the estimated success's own idle term."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import InstructionProperties, Target, transpile
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.estimate import log_success_probability
from xihe.compiler.passes import ASAPSchedule
from xihe.compiler.passes.layout import IdleDecay, SabreLayout, VF2Layout
from xihe.compiler.passes.schedule import idle_times

SHORT_T1 = 2_000.0  # ns: line10's qubit 0 has 15 us; this makes the test's circuit feel it as line10's feels its


def _line_with_a_short_lived_end(short_t1: float = SHORT_T1) -> Target:
    """A 9-qubit line like line10's working part: couplers of 1 % error except (0, 1) at 0.4 % (so gate errors alone
    favour the end with qubit 0), every readout alike, every T1 50 us but qubit 0's ``short_t1``."""
    n = 9
    gates: dict[str, dict[tuple[int, ...], InstructionProperties]] = {
        "ry": {(q,): InstructionProperties(35, 1e-4) for q in range(n)},
        "rz": {(q,): InstructionProperties(0, 0.0) for q in range(n)},
        "cz": {},
    }
    for a in range(n - 1):
        error = 0.004 if a == 0 else 0.01
        gates["cz"][(a, a + 1)] = gates["cz"][(a + 1, a)] = InstructionProperties(60, error)
    t1 = {q: 50_000.0 for q in range(n)}
    t1[0] = short_t1
    return Target(n, gates, readout_error={q: (0.02, 0.02) for q in range(n)}, t1=t1,
                  t2={q: 40_000.0 for q in range(n)}, measure_duration=1500)


def _long_circuit(n: int, gates: int, seed: int) -> Circuit:
    """Random ry + cx pairs: no line embeds it, so SABRE lays it out; measured at the end as QASMBench's are."""
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for _ in range(gates):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        qc.ry(float(rng.uniform(0, 3)), a).cx(a, b)
    for q in range(n):
        qc.measure(q, q)
    return qc


def test_idle_times_are_the_waits_of_an_asap_schedule() -> None:
    target = _line_with_a_short_lived_end()
    qc = Circuit(4, 4)
    qc.cx(0, 1).cx(1, 2).ry(0.3, 3)
    for q in range(4):
        qc.measure(q, q)
    # Read out together at 120 ns: 0 busy 0-60, then waits; 1 busy 0-120; 2 starts at 60; 3 busy 0-35, then waits.
    assert idle_times(DAGCircuit.from_circuit(qc), target).tolist() == [60.0, 0.0, 0.0, 85.0]


def test_idle_times_follow_mid_circuit_measurements_and_conditions() -> None:
    """A qubit measured mid-circuit waits for nothing after; one whose gate reads that bit waits for the readout
    (1.5 us): what dongling's inverseqft_n4 showed when measurements were left out of the estimate."""
    target = _line_with_a_short_lived_end()
    qc = Circuit(2, 2)
    qc.ry(0.3, 0).ry(0.3, 1).measure(0, 0)
    with qc.conditioned("c", 1):
        qc.rz(0.5, 1)
    qc.ry(0.2, 1).measure(1, 1)
    assert idle_times(DAGCircuit.from_circuit(qc), target).tolist() == [0.0, 1500.0]


def test_a_long_circuit_is_laid_out_away_from_a_short_t1_qubit() -> None:
    target = _line_with_a_short_lived_end()
    dag = DAGCircuit.from_circuit(_long_circuit(8, 60, seed=3))
    properties: dict[str, object] = {}
    SabreLayout(target, trials=8, iterations=2, seed=5, swap_trials=2).run(dag, properties)
    assert 0 not in properties["layout"] and 0 not in properties["final_layout"]  # type: ignore[operator]


def test_without_the_short_t1_the_better_couplers_win() -> None:
    """The same circuit and seed on the same line with qubit 0 as long-lived as the rest: the layout uses (0, 1),
    the best coupler, so avoiding qubit 0 above is the idle term's doing."""
    target = _line_with_a_short_lived_end(short_t1=50_000.0)
    dag = DAGCircuit.from_circuit(_long_circuit(8, 60, seed=3))
    properties: dict[str, object] = {}
    SabreLayout(target, trials=8, iterations=2, seed=5, swap_trials=2).run(dag, properties)
    assert 0 in properties["layout"]  # type: ignore[operator]


@pytest.mark.parametrize("level", [2, 3])
def test_compiled_long_circuit_avoids_the_short_t1_qubit(level: int) -> None:
    target = _line_with_a_short_lived_end()
    result = transpile(_long_circuit(8, 60, seed=3), target, optimization_level=level, seed=11)
    touched = {q for op in result.circuit.operations if op.gate.name != "delay" for q in op.qubits}
    assert 0 not in touched


def test_a_swap_free_long_circuit_is_placed_away_from_a_short_t1_qubit() -> None:
    """VF2Layout (no swaps needed): a CX chain over 8 qubits, 40 times, embeds at either end of the 9-qubit line;
    the end with the best coupler has the 2 us qubit, where the chain's end waits ~5 us."""
    qc = Circuit(8, 8)
    for _ in range(40):
        for a in range(7):
            qc.cx(a, a + 1)
    for q in range(8):
        qc.measure(q, q)
    for short_t1, uses_qubit_0 in ((SHORT_T1, False), (50_000.0, True)):
        properties: dict[str, object] = {}
        VF2Layout(_line_with_a_short_lived_end(short_t1)).run(DAGCircuit.from_circuit(qc), properties)
        assert properties["layout_method"] == "vf2"
        assert (0 in properties["layout"]) is uses_qubit_0  # type: ignore[operator]


def _native_chain(target: Target, placed: list[int], rounds: int) -> Circuit:
    """A swap-free circuit on line10's physical qubits ``placed`` (consecutive): cx down the chain, ``rounds`` times,
    each qubit measured at the end; native cx in the calibration's direction. Only cx (60 ns on every coupler): the
    trials' typical durations are then every gate's own (line10's ry takes 30-42 ns by qubit)."""
    qc = Circuit(target.num_qubits, len(placed))
    for _ in range(rounds):
        for a, b in itertools.pairwise(placed):
            if target.supports("cx", (a, b)):
                qc.cx(a, b)
            else:
                qc.cx(b, a)
    for i, q in enumerate(placed):
        qc.measure(q, i)
    return qc


def test_line10_ranking_idle_term_is_the_estimates_idle_term() -> None:
    """On line10 (qubit 0: T1 15 us) the trials' idle term for a swap-free circuit is exactly the idle decay the
    benchmark's estimated success charges its ASAP schedule (the delays), and it prefers qubits 1-8 to 0-7."""
    target = devices.get("line10").target
    terms = {}
    for placed in (list(range(8)), list(range(1, 9))):
        circuit = _native_chain(target, placed, rounds=40)
        dag = DAGCircuit.from_circuit(circuit)
        scheduled = ASAPSchedule(target).run(dag, {}).to_circuit()
        delays = scheduled.copy_empty()
        delays.operations = [op for op in scheduled.operations if op.gate.name == "delay"]
        estimated = log_success_probability(delays, target)
        # The trials see the circuit on virtual qubits: virtual i on placed[i].
        virtual = DAGCircuit.from_circuit(circuit).copy_with(
            [op.replace(qubits=tuple(placed.index(q) for q in op.qubits)) for op in circuit.operations],
            num_qubits=len(placed))
        idle = IdleDecay.of(virtual, target)
        terms[placed[0]] = idle.log_fidelity(placed, placed, 0)
        assert math.isclose(terms[placed[0]], estimated, rel_tol=1e-9), (terms[placed[0]], estimated)
    assert terms[1] > terms[0]  # the region without qubit 0 loses less to idling
