"""Each compiler pass alone, on small hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import unitary_group

from xihe.circuit import Circuit, Gate, unitary
from xihe.compiler import InstructionProperties, Target, check_native
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes import (
    ASAPSchedule,
    CommutativeCancellation,
    ConsolidateBlocks,
    DeferTerminalMeasurements,
    RemoveSwapsBeforeMeasure,
    SabreLayout,
    VF2Layout,
)
from xihe.compiler.two_qubit import cx_count, equal_up_to_phase, steps_unitary, synthesize_two_qubit
from xihe.errors import ValidationError


def _dag(qc: Circuit) -> DAGCircuit:
    return DAGCircuit.from_circuit(qc)


def test_target_distance_and_components_skip_dead_parts() -> None:
    gates = {"cz": {(0, 1): InstructionProperties(60, 0.01), (1, 0): InstructionProperties(60, 0.01),
                    (2, 3): InstructionProperties(60, 0.02), (3, 2): InstructionProperties(60, 0.02)}}
    t = Target(5, gates, working_qubits=[0, 1, 2, 3])
    assert t.components == [(0, 1), (2, 3)]
    assert t.distance[0, 1] == 1 and t.distance[0, 2] > 1000
    assert t.two_qubit_error(1, 0) == 0.01


def test_checker_names_non_native_gate() -> None:
    with pytest.raises(ValidationError, match="gate 'h'"):
        check_native(Circuit(2).h(0), Target.line(2))


@pytest.mark.parametrize(("gate", "expected"), [("cx", 1), ("cz", 1), ("swap", 3), ("iswap", 2)])
def test_two_qubit_synthesis_uses_the_fewest_cx(gate: str, expected: int) -> None:
    u = unitary(Gate(gate))
    steps = synthesize_two_qubit(u)
    assert steps is not None and equal_up_to_phase(steps_unitary(steps), u)
    assert cx_count(u) == expected


def test_two_qubit_synthesis_of_random_unitaries_needs_three_cx() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        u = unitary_group.rvs(4, random_state=rng)
        steps = synthesize_two_qubit(u)
        assert steps is not None and equal_up_to_phase(steps_unitary(steps), u)
        assert sum(1 for _, _, q in steps if len(q) == 2) == 3


def test_consolidate_merges_a_swap_with_its_cx() -> None:
    qc = Circuit(2).cx(0, 1).rz(0.3, 1).swap(0, 1)
    out = ConsolidateBlocks().run(_dag(qc), {})
    assert out.count_two_qubit() == 2


def test_commutative_cancellation_across_commuting_gates() -> None:
    qc = Circuit(3).cz(0, 1).rz(0.2, 0).cz(1, 2).cz(0, 1).rz(0.3, 0)
    out = CommutativeCancellation(frozenset({"rz", "ry"})).run(_dag(qc), {})
    names = [(op.gate.name, op.qubits) for op in out.ops]
    assert names == [("cz", (1, 2)), ("rz", (0,))]
    assert out.ops[1].gate.params[0] == pytest.approx(0.5)


def test_cx_does_not_cancel_across_a_non_commuting_gate() -> None:
    qc = Circuit(2).cx(0, 1).h(1).cx(0, 1)
    assert CommutativeCancellation(frozenset({"rz"})).run(_dag(qc), {}).count_two_qubit() == 2


def test_terminal_measurements_move_last_but_conditioned_ones_stay() -> None:
    qc = Circuit(3, 2).h(0).measure(0, 0).cx(1, 2)
    out = DeferTerminalMeasurements().run(_dag(qc), {})
    assert out.ops[-1].gate.name == "measure"
    qc2 = Circuit(2, 1).h(0).measure(0, 0)
    with qc2.conditioned("c", 1):
        qc2.x(1)
    out2 = DeferTerminalMeasurements().run(_dag(qc2), {})
    assert [op.gate.name for op in out2.ops] == ["h", "measure", "x"]


def test_swap_before_measurements_is_dropped_and_the_layout_follows() -> None:
    qc = Circuit(2, 2).x(0).swap(0, 1).measure([0, 1], [0, 1])
    props = {"final_layout": [1, 0]}
    out = RemoveSwapsBeforeMeasure().run(_dag(qc), props)
    assert [op.gate.name for op in out.ops] == ["x", "measure", "measure"]
    assert [(op.qubits, op.clbits) for op in out.ops[1:]] == [((1,), (0,)), ((0,), (1,))]
    assert props["final_layout"] == [0, 1]


def test_asap_schedule_writes_idle_gaps_as_delays() -> None:
    target = Target.line(3)
    qc = Circuit(3).rx(0.1, 0).rx(0.1, 1).cz(1, 2).cz(0, 1)
    props: dict = {}
    out = ASAPSchedule(target).run(_dag(qc), props)
    delays = [(op.qubits, op.gate.params[0]) for op in out.ops if op.gate.name == "delay"]
    assert delays == [((0,), 60.0)]
    assert props["duration"] == 30 + 60 + 60


def test_vf2_layout_picks_the_lowest_error_embedding() -> None:
    errors = {(0, 1): 0.1, (1, 2): 0.01, (2, 3): 0.01, (3, 4): 0.1}
    gates: dict[str, dict[tuple[int, ...], InstructionProperties]] = {"cz": {}}
    for (a, b), e in errors.items():
        gates["cz"][(a, b)] = gates["cz"][(b, a)] = InstructionProperties(60, e)
    target = Target(5, gates)
    props: dict = {}
    VF2Layout(target).run(_dag(Circuit(3).cz(0, 1).cz(1, 2)), props)
    assert sorted(props["layout"]) == [1, 2, 3]


def test_sabre_routes_every_two_qubit_gate_onto_a_coupler() -> None:
    target = Target.line(5)
    qc = Circuit(5).cx(0, 4).cx(1, 3).cx(0, 2).cx(4, 1)
    props: dict = {}
    out = SabreLayout(target, trials=3, iterations=1, seed=2).run(_dag(qc), props)
    assert props["swaps"] > 0
    for op in out.ops:
        if len(op.qubits) == 2:
            assert target.distance[op.qubits[0], op.qubits[1]] == 1
    assert sorted(props["layout"]) == sorted(props["final_layout"])


def test_a_bug_in_a_pass_is_not_reported_as_the_users_compile_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CompileError tells the user to change the circuit and is never retried; a pass's own failure is not that."""
    from xihe.compiler import transpile
    from xihe.compiler.passes import unroll

    def broken(self: object, dag: object, properties: object) -> object:
        raise ValueError("index out of range in a pass")

    monkeypatch.setattr(unroll.Unroll, "run", broken)
    with pytest.raises(ValueError, match="in a pass"):
        transpile(Circuit(2).h(0).cx(0, 1), Target.line(3), seed=1)


def test_sabre_candidates_do_not_leak_into_the_property_set() -> None:
    from xihe.compiler import transpile

    qc = Circuit(5)
    for a, b in [(0, 4), (1, 3), (2, 4), (0, 3), (1, 4)]:
        qc.cx(a, b)
    result = transpile(qc, Target.line(5), optimization_level=3, seed=3)
    assert "candidates" not in result.properties
    assert sorted(result.initial_layout) == sorted(set(result.initial_layout))
