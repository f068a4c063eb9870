"""Property: any circuit — every gate kind, parameters and expressions, registers, conditions, definitions,
measure/reset/barrier/delay — written with ``dumps`` reads back equal with ``loads``."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from xihe import qasm
from xihe.circuit import (
    Circuit,
    ClassicalRegister,
    Gate,
    GateDefinition,
    Operation,
    Parameter,
    ParameterExpression,
    QuantumRegister,
    gate_specs,
)
from xihe.circuit.parameter import FUNCTIONS, ParamValue

SPECS = gate_specs()
TABLE_GATES = sorted(SPECS)
FREE_NAMES = ("theta", "phi", "beta_2", "Gamma")

FLOATS = st.floats(allow_nan=False, allow_infinity=False)
SMALL_FLOATS = st.floats(min_value=-10, max_value=10, allow_nan=False)


def expressions(names: tuple[str, ...]) -> st.SearchStrategy[ParamValue]:
    """Numbers and expression trees over the parameters ``names`` (floats only when ``names`` is empty)."""
    if not names:
        return FLOATS
    leaves: st.SearchStrategy[ParamValue] = st.one_of(FLOATS, st.sampled_from(names).map(Parameter))

    def extend(children: st.SearchStrategy[ParamValue]) -> st.SearchStrategy[ParamValue]:
        return st.one_of(
            st.tuples(st.sampled_from("+-*/^"), children, children).map(lambda t: _combine(*t)),
            children.map(lambda v: -v),
            st.tuples(st.sampled_from(sorted(FUNCTIONS)), children).map(lambda t: _function(*t)),
        )

    return st.recursive(leaves, extend, max_leaves=6)


def _combine(op: str, left: ParamValue, right: ParamValue) -> ParamValue:
    if not isinstance(left, ParameterExpression) and not isinstance(right, ParameterExpression):
        return left  # arithmetic on two numbers folds (and may divide by zero): keep it symbolic-only here
    import operator

    fn = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "^": operator.pow}[op]
    return fn(left, right)


def _function(name: str, arg: ParamValue) -> ParamValue:
    if isinstance(arg, ParameterExpression):
        from xihe.circuit.parameter import apply_function

        return apply_function(name, arg)
    return arg


@st.composite
def definitions(draw: st.DrawFn, name: str, earlier: list[GateDefinition]) -> GateDefinition:
    num_qubits = draw(st.integers(1, 3))
    params = tuple(draw(st.lists(st.sampled_from(("a", "b", "lam")), max_size=3, unique=True)))
    body = []
    for _ in range(draw(st.integers(0, 4))):
        choices = [g for g in TABLE_GATES if (SPECS[g].num_qubits or 1) <= num_qubits] + [
            d.name for d in earlier if d.num_qubits <= num_qubits
        ]
        gate_name = draw(st.sampled_from(choices))
        inner = next((d for d in earlier if d.name == gate_name), None)
        if inner is not None:
            arity, num_params = inner.num_qubits, len(inner.params)
        else:
            spec = SPECS[gate_name]
            arity = spec.num_qubits or draw(st.integers(1, num_qubits))
            num_params = spec.num_params
        values = tuple(draw(st.lists(expressions(params), min_size=num_params, max_size=num_params)))
        qubits = tuple(draw(st.permutations(range(num_qubits)))[:arity])
        gate = inner.gate(values) if inner is not None else Gate(gate_name, values, num_qubits=arity)
        body.append(Operation(gate, qubits))
    if draw(st.booleans()):
        body.append(Operation(Gate("barrier", num_qubits=num_qubits), tuple(range(num_qubits))))
    return GateDefinition(name, params, num_qubits, tuple(body), tuple(f"x{i}" for i in range(num_qubits)))


@st.composite
def circuits(draw: st.DrawFn) -> Circuit:
    qregs = [QuantumRegister(n, draw(st.integers(1, 4))) for n in draw(
        st.lists(st.sampled_from(("q", "anc", "r2")), min_size=1, max_size=3, unique=True))]
    cregs = [ClassicalRegister(n, draw(st.integers(1, 3))) for n in draw(
        st.lists(st.sampled_from(("c", "m")), max_size=2, unique=True))]
    circuit = Circuit(*qregs, *cregs)
    n = circuit.num_qubits
    defs: list[GateDefinition] = []
    for i in range(draw(st.integers(0, 2))):
        defs.append(draw(definitions(f"g{i}", list(defs))))
    for _ in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(("table", "table", "table", "defined", "measure", "reset", "barrier", "delay")))
        condition = None
        if cregs and draw(st.integers(0, 4)) == 0:
            reg = draw(st.sampled_from(cregs))
            condition = (reg.name, draw(st.integers(0, (1 << reg.size) - 1)))
        if kind == "table":
            name = draw(st.sampled_from(TABLE_GATES))
            spec = SPECS[name]
            arity = spec.num_qubits or draw(st.integers(1, min(n, 5)))
            if arity > n:
                continue
            values = draw(st.lists(expressions(FREE_NAMES), min_size=spec.num_params, max_size=spec.num_params))
            qubits = draw(st.permutations(range(n)))[:arity]
            circuit.append(Gate(name, values, num_qubits=arity), qubits, condition=condition)
        elif kind == "defined" and defs:
            d = draw(st.sampled_from(defs))
            if d.num_qubits > n:
                continue
            values = draw(st.lists(expressions(FREE_NAMES), min_size=len(d.params), max_size=len(d.params)))
            circuit.append(d.gate(values), draw(st.permutations(range(n)))[: d.num_qubits], condition=condition)
        elif kind == "measure" and cregs:
            circuit.append("measure", [draw(st.integers(0, n - 1))], clbits=[draw(st.integers(0, circuit.num_clbits
                                                                                          - 1))], condition=condition)
        elif kind == "reset":
            circuit.append("reset", [draw(st.integers(0, n - 1))], condition=condition)
        elif kind == "barrier":
            qubits = draw(st.lists(st.integers(0, n - 1), min_size=1, unique=True))
            circuit.append(Gate("barrier", num_qubits=len(qubits)), qubits)
        elif kind == "delay":
            duration = draw(st.floats(min_value=0, max_value=1e9, allow_nan=False))
            unit = draw(st.sampled_from(("ns", "us", "ms", "s")))
            if condition is None:
                circuit.delay(duration, draw(st.integers(0, n - 1)), unit=unit)
            else:
                with circuit.conditioned(*condition):
                    circuit.delay(duration, draw(st.integers(0, n - 1)), unit=unit)
    return circuit


@settings(max_examples=300, deadline=None)
@given(circuits())
def test_random_circuit_round_trips(circuit: Circuit) -> None:
    text = qasm.dumps(circuit)
    again = qasm.loads(text)
    assert again == circuit, text
    assert qasm.dumps(again) == text


@settings(max_examples=200, deadline=None)
@given(expressions(FREE_NAMES))
def test_expression_round_trips_through_its_text(value: ParamValue) -> None:
    circuit = Circuit(1).rz(value, 0)
    assert qasm.loads(qasm.dumps(circuit)).operations[0].params == (value,)


@settings(max_examples=200, deadline=None)
@given(FLOATS)
def test_every_finite_float_is_written_with_repr_and_read_back_exactly(x: float) -> None:
    text = qasm.dumps(Circuit(1).rz(x, 0))
    assert f"rz({x!r}) q[0];" in text
    value = qasm.loads(text).operations[0].params[0]
    assert value == x and math.copysign(1, value) == math.copysign(1, x)
