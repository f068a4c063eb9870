"""Fan-out layout (issue 16): a GHZ or fan-out preparation takes its controls from any qubit holding the same bit,
so it grows as a tree on the chip without swaps; valid from |0...0> only, and only while the correlation holds."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compiler.helpers import layout_fidelity, statevector
from xihe import devices
from xihe.circuit import Circuit, Gate, Operation, gate_spec
from xihe.compiler import Target, check_native, transpile
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes.fanout import Choices, Chooser, FanOutLayout, ParityClasses, rewrite_controls

# Gates drawn for random circuits: cx (which builds the correlations) most often, diagonal gates (which keep them),
# and gates that break them on some wire.
CORRELATING = ["cx", "cx", "cx", "cz", "cp", "rzz", "crz"]
KEEPING = ["t", "s", "rz", "z", "u1"]
BREAKING = ["h", "x", "ry", "sx", "cy", "ch", "swap", "rxx"]


def _draw_circuit(draw: st.DrawFn, n: int, ops: int) -> Circuit:
    qc = Circuit(n)
    for q in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2)):  # the roots of the fan-outs
        qc.h(q)
    for _ in range(ops):
        name = draw(st.sampled_from(draw(st.sampled_from([CORRELATING, CORRELATING, KEEPING, BREAKING]))))
        spec = gate_spec(name)
        assert spec is not None and spec.num_qubits is not None
        qubits = draw(st.permutations(range(n)))[: spec.num_qubits]
        params = [draw(st.floats(-3.1, 3.1)) for _ in range(spec.num_params)]
        qc.append(Gate(name, params), qubits)
    return qc


@st.composite
def prefixed_circuits(draw: st.DrawFn, max_qubits: int = 7) -> Circuit:
    """A fan-out prefix (mostly cx and diagonal gates from one or two roots), then anything."""
    n = draw(st.integers(3, max_qubits))
    return _draw_circuit(draw, n, draw(st.integers(2, 25)))


@st.composite
def fan_out_circuits(draw: st.DrawFn, max_qubits: int = 8) -> Circuit:
    """One or two GHZ-like fan-outs written with arbitrary controls, diagonal gates between, then 1q gates."""
    n = draw(st.integers(3, max_qubits))
    order = draw(st.permutations(range(n)))
    roots = order[: draw(st.integers(1, 2))]
    qc = Circuit(n, n)
    groups = [[r] for r in roots]
    for r in roots:
        qc.h(r)
    for q in order[len(roots):]:
        group = draw(st.sampled_from(groups))
        qc.cx(draw(st.sampled_from(group)), q)
        group.append(q)
        if draw(st.booleans()):  # a diagonal gate inside the group keeps every correlation
            a, b = draw(st.permutations(group))[:2]
            name = draw(st.sampled_from(["cz", "rzz", "cp"]))
            qc.append(Gate(name, [] if name == "cz" else [draw(st.floats(-3.1, 3.1))]), [a, b])
            qc.t(a)
    for q in range(n):
        qc.u3(draw(st.floats(0, 3.1)), draw(st.floats(-3.1, 3.1)), 0.0, q)
    qc.measure(list(range(n)), list(range(n)))
    return qc


def _random_chooser(rng: random.Random) -> tuple[list[int], Chooser]:
    changed = [0]

    def choose(op: Operation, options: Choices) -> tuple[int, ...]:
        while True:
            picked = tuple(rng.choice(c) for c in options)
            if len(set(picked)) == len(picked):
                changed[0] += picked != op.qubits
                return picked

    return changed, choose


@settings(max_examples=300, deadline=None)
@given(circuit=prefixed_circuits(), seed=st.integers(0, 2**32 - 1))
def test_any_allowed_stand_in_prepares_the_same_state_from_zero(circuit: Circuit, seed: int) -> None:
    _, choose = _random_chooser(random.Random(seed))
    rewired = circuit.copy()
    rewired.operations = rewrite_controls(list(circuit.operations), circuit.num_qubits, choose)
    np.testing.assert_allclose(statevector(rewired), statevector(circuit), atol=1e-9)


def test_random_rewirings_do_change_gates() -> None:
    """The property above is not vacuous: GHZ-like prefixes offer stand-ins and the chooser takes them."""
    changed_total = 0
    for seed in range(20):
        rng = random.Random(seed)
        qc = Circuit(6).h(0)
        for i in range(5):
            qc.cx(i, i + 1)
        qc.cz(0, 5).rzz(0.3, 1, 4).cx(2, 3)
        changed, choose = _random_chooser(rng)
        out = Circuit(6)
        out.operations = rewrite_controls(list(qc.operations), 6, choose)
        np.testing.assert_allclose(statevector(out), statevector(qc), atol=1e-9)
        changed_total += changed[0]
    assert changed_total >= 40


def _choices_of_last(qc: Circuit) -> Choices:
    facts = ParityClasses(qc.num_qubits)
    for op in qc.operations[:-1]:
        facts.apply(op)
    return facts.choices(qc.operations[-1])


def _with_last_rewired(qc: Circuit, qubits: tuple[int, ...]) -> Circuit:
    out = qc.copy()
    out.operations[-1] = out.operations[-1].replace(qubits=qubits)
    return out


@pytest.mark.parametrize("breaker", ["h", "rx"])
def test_no_stand_in_after_a_gate_that_does_not_commute_with_z(breaker: str) -> None:
    """And the stand-in the rule refuses would indeed prepare another state."""
    qc = Circuit(3).h(0).cx(0, 1)
    qc.append(Gate(breaker, [0.5] if breaker == "rx" else []), [1])
    qc.cx(0, 2)
    assert _choices_of_last(qc) == ((0,), (2,))
    wrong = _with_last_rewired(qc, (1, 2))
    assert not np.allclose(statevector(wrong), statevector(qc), atol=1e-6)


def test_no_stand_in_from_a_target_that_was_not_zero() -> None:
    qc = Circuit(3).h(0).x(1).cx(0, 1).cx(1, 2)  # qubit 1 ends as NOT qubit 0: opposite bits
    assert _choices_of_last(qc) == ((1,), (2,))
    wrong = _with_last_rewired(qc, (0, 2))
    assert not np.allclose(statevector(wrong), statevector(qc), atol=1e-6)


@pytest.mark.parametrize("instruction", ["measure", "reset"])
def test_no_stand_in_after_a_mid_circuit_measurement_or_reset(instruction: str) -> None:
    qc = Circuit(3, 1).h(0).cx(0, 1)
    if instruction == "measure":
        qc.measure(1, 0)
    else:
        qc.reset(1)
    qc.cx(0, 2)
    assert _choices_of_last(qc) == ((0,), (2,))


def test_diagonal_gates_and_controls_keep_the_correlation() -> None:
    qc = Circuit(4).h(0).cx(0, 1).t(1).rz(0.4, 0).cz(1, 3).cx(1, 3).cx(0, 2)
    assert _choices_of_last(qc) == ((0, 1, 3), (2,))


def test_a_u3_is_judged_by_its_matrix() -> None:
    """Qiskit writes ``t`` as ``u3(0, 0, pi/4)`` in the u3/cx basis: diagonal, so it keeps the correlation."""
    keep = Circuit(3).h(0).cx(0, 1).u3(0.0, 0.0, np.pi / 4, 1).cx(0, 2)
    assert _choices_of_last(keep) == ((0, 1), (2,))
    broken = Circuit(3).h(0).cx(0, 1).u3(0.1, 0.0, np.pi / 4, 1).cx(0, 2)
    assert _choices_of_last(broken) == ((0,), (2,))


def test_a_conditioned_gate_breaks_the_correlation() -> None:
    qc = Circuit(3, 1).h(0).cx(0, 1)
    qc.operations.append(Operation(Gate("t"), (1,), condition=("c", 1)))
    qc.cx(0, 2)
    assert _choices_of_last(qc) == ((0,), (2,))


def _ghz(n: int, t_layer: bool = True) -> Circuit:
    qc = Circuit(n, n).h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    if t_layer:
        for i in range(n):
            qc.t(i)
    qc.measure(list(range(n)), list(range(n)))
    return qc


def _two_qubit_count(circuit: Circuit) -> int:
    return sum(1 for op in circuit.operations if op.gate.is_unitary and len(op.qubits) == 2)


@pytest.mark.parametrize("n", [40, 60, 100])
def test_ghz_on_dongling_needs_one_cz_per_added_qubit(n: int) -> None:
    """Dongling's coupler graph is a tree with no 40-qubit path: the chain as written needed 95-290 CZs."""
    target = devices.get("dongling").target
    result = transpile(_ghz(n), target, 2, seed=5)
    check_native(result.circuit, target)
    assert _two_qubit_count(result.circuit) == n - 1
    assert result.properties["swaps"] == 0


def test_a_fan_out_from_one_qubit_needs_no_swap() -> None:
    """cx 0,k for every k: only qubit 0 controls as written, a star no chip has; any GHZ member may control."""
    target = devices.get("dongling").target
    qc = Circuit(30, 30).h(0)
    for k in range(1, 30):
        qc.cx(0, k)
    qc.measure(list(range(30)), list(range(30)))
    result = transpile(qc, target, 1, seed=3)
    assert _two_qubit_count(result.circuit) == 29 and result.properties["swaps"] == 0


EQUIVALENCE_TARGETS = {
    "dongling": devices.get("dongling").target,
    "grid36": devices.get("grid36").target,
    "line10": devices.get("line10").target,
}


@pytest.mark.parametrize("target_name", list(EQUIVALENCE_TARGETS))
@pytest.mark.parametrize("level", [1, 2, 3])
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(circuit=st.one_of(fan_out_circuits(), prefixed_circuits(max_qubits=8)), seed=st.integers(0, 1000))
def test_circuits_with_fan_out_prefixes_compile_to_equivalent_circuits(target_name: str, level: int,
                                                                       circuit: Circuit, seed: int) -> None:
    target = EQUIVALENCE_TARGETS[target_name]
    result = transpile(circuit, target, level, seed=seed)
    check_native(result.circuit, target)
    assert layout_fidelity(circuit, result.circuit, result.initial_layout, result.final_layout) >= 1 - 1e-9


@pytest.mark.parametrize("n", [8, 12])
@pytest.mark.parametrize("target_name", ["dongling", "grid36"])
def test_ghz_compiled_by_the_fan_out_layout_is_equivalent(n: int, target_name: str) -> None:
    target = EQUIVALENCE_TARGETS[target_name]
    circuit = _ghz(n)
    dag = DAGCircuit.from_circuit(circuit)
    properties: dict[str, object] = {}
    FanOutLayout(target).run(dag, properties)
    assert properties.get("layout_method") == "fanout" and properties["fanout_rewired"]
    result = transpile(circuit, target, 2, seed=1)
    assert _two_qubit_count(result.circuit) == n - 1
    assert layout_fidelity(circuit, result.circuit, result.initial_layout, result.final_layout) >= 1 - 1e-9


def test_the_pass_leaves_a_circuit_without_stand_ins_alone() -> None:
    qc = Circuit(4).h(0).h(1).h(2).ry(0.3, 3).cx(0, 1).cx(1, 2).cx(2, 3).cx(0, 3)  # no target is |0>
    dag = DAGCircuit.from_circuit(qc)
    properties: dict[str, object] = {}
    assert FanOutLayout(devices.get("dongling").target).run(dag, properties) is dag and not properties


def test_the_pass_leaves_a_circuit_it_cannot_place_without_swaps_alone() -> None:
    """A GHZ prefix, then a triangle of cx between qubits taken out of it: no line holds a triangle."""
    qc = Circuit(4).h(0)
    for i in range(3):
        qc.cx(i, i + 1)
    qc.h(0).h(1).h(2).cx(0, 1).cx(1, 2).cx(2, 0)
    dag = DAGCircuit.from_circuit(qc)
    properties: dict[str, object] = {}
    assert FanOutLayout(Target.line(4)).run(dag, properties) is dag and not properties
