"""Compiled circuits equal their source up to the layouts, and use only native gates on working couplers."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compiler.helpers import layout_fidelity
from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import Target, check_native, transpile

ONE_Q = ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "u3", "p"]
TWO_Q = ["cx", "cz", "cy", "swap", "cp", "crz", "rzz", "rxx", "ch", "iswap"]
THREE_Q = ["ccx", "cswap"]


@st.composite
def random_circuits(draw: st.DrawFn, max_qubits: int = 6, max_ops: int = 30) -> Circuit:
    n = draw(st.integers(2, max_qubits))
    qc = Circuit(n)
    for q in range(n):  # a random first layer, so the test sees more than |0...0>
        qc.u3(draw(st.floats(0, 3.1)), draw(st.floats(-3.1, 3.1)), draw(st.floats(-3.1, 3.1)), q)
    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(st.sampled_from(["1", "2", "2", "3"] if n >= 3 else ["1", "2"]))
        names = {"1": ONE_Q, "2": TWO_Q, "3": THREE_Q}[kind]
        name = draw(st.sampled_from(names))
        qubits = draw(st.permutations(range(n)))[: int(kind)]
        from xihe.circuit import Gate, gate_spec

        spec = gate_spec(name)
        assert spec is not None
        params = [draw(st.floats(-3.1, 3.1)) for _ in range(spec.num_params)]
        qc.append(Gate(name, params), qubits)
    return qc


TARGETS = {
    "line6-cz": Target.line(6, "cz"),
    "line10": devices.get("line10").target,
    "dongling": devices.get("dongling").target,
    "grid36": devices.get("grid36").target,
}


@pytest.mark.parametrize("target_name", list(TARGETS))
@pytest.mark.parametrize("level", [0, 1, 2, 3])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(circuit=random_circuits(), seed=st.integers(0, 1000))
def test_random_circuits_compile_to_equivalent_native_circuits(target_name: str, level: int, circuit: Circuit,
                                                               seed: int) -> None:
    target = TARGETS[target_name]
    result = transpile(circuit, target, optimization_level=level, seed=seed)
    check_native(result.circuit, target)
    assert set(result.initial_layout) <= set(target.working_qubits)
    assert layout_fidelity(circuit, result.circuit, result.initial_layout, result.final_layout) >= 1 - 1e-9


def test_ideal_target_keeps_the_circuit() -> None:
    qc = Circuit(3).h(0).ccx(0, 1, 2)
    result = transpile(qc, Target.ideal(3))
    assert result.circuit.operations == qc.operations
    assert result.initial_layout == result.final_layout == [0, 1, 2]
