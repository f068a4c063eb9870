"""The Circuit API: registers, broadcast, conditions, inverse, bind, depth, count_ops, equality."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xihe.circuit import Circuit, ClassicalRegister, Gate, Operation, Parameter, QuantumRegister, unitary
from xihe.circuit.standard_gates import embed
from xihe.errors import CircuitError


def _matrix(circuit: Circuit) -> np.ndarray:
    n = circuit.num_qubits
    total = np.eye(1 << n, dtype=complex)
    for op in circuit:
        total = embed(unitary(op.gate), op.qubits, n) @ total
    return total


def test_int_constructor_makes_q_and_c_registers() -> None:
    c = Circuit(3, 2)
    assert [(r.name, r.size) for r in c.qregs] == [("q", 3)]
    assert [(r.name, r.size) for r in c.cregs] == [("c", 2)]
    assert (c.num_qubits, c.num_clbits) == (3, 2)


def test_registers_are_numbered_in_declaration_order() -> None:
    a, b, m = QuantumRegister("a", 2), QuantumRegister("b", 3), ClassicalRegister("m", 2)
    c = Circuit(a, m, b)
    c.x(b[1]).measure(b[0], m[1])
    assert c.operations[0].qubits == (3,)
    assert (c.operations[1].qubits, c.operations[1].clbits) == ((2,), (1,))


def test_duplicate_register_name_is_refused() -> None:
    with pytest.raises(CircuitError, match="already used"):
        Circuit(QuantumRegister("q", 1), ClassicalRegister("q", 1))


def test_broadcast_over_registers_and_lists() -> None:
    a, b = QuantumRegister("a", 3), QuantumRegister("b", 3)
    c = Circuit(a, b).h(a).cx(a, b).cz(a[0], b)
    assert [op.qubits for op in c][:3] == [(0,), (1,), (2,)]
    assert [op.qubits for op in c][3:6] == [(0, 3), (1, 4), (2, 5)]
    assert [op.qubits for op in c][6:] == [(0, 3), (0, 4), (0, 5)]
    with pytest.raises(CircuitError, match="different sizes"):
        Circuit(QuantumRegister("x", 2), QuantumRegister("y", 3)).cx(QuantumRegister("x", 2),
                                                                      QuantumRegister("y", 3))


def test_wrong_qubits_are_refused_with_a_message() -> None:
    c = Circuit(2)
    with pytest.raises(CircuitError, match="out of range"):
        c.h(2)
    with pytest.raises(CircuitError, match="repeated qubits"):
        c.cx(1, 1)
    with pytest.raises(CircuitError, match="acts on 2 qubit"):
        c.append("cx", [0])
    with pytest.raises(CircuitError, match="unknown gate"):
        c.append("hh", [0])


def test_conditioned_block_conditions_each_operation() -> None:
    c = Circuit(2, 2)
    with c.conditioned("c", 3):
        c.x(0).h(1)
        c.barrier()
    c.z(0)
    assert [op.condition for op in c] == [("c", 3), ("c", 3), None, None]
    with pytest.raises(CircuitError, match="barrier cannot be conditioned"):
        c.append("barrier", [0, 1], condition=("c", 1))
    with pytest.raises(CircuitError, match="does not fit"), c.conditioned("c", 4):
        c.x(0)
    with pytest.raises(CircuitError, match="no classical register"), c.conditioned("nope", 0):
        pass


def test_inverse_undoes_the_circuit() -> None:
    c = Circuit(3).h(0).cx(0, 1).rz(0.3, 2).ccx(0, 1, 2).u3(0.1, 0.2, 0.3, 1).sx(0).iswap(1, 2).mcx([0, 1], 2)
    product = _matrix(c.inverse()) @ _matrix(c)
    assert np.allclose(product, np.eye(8), atol=1e-9)
    assert np.allclose(_matrix(c.inverse().inverse()), _matrix(c), atol=1e-9)


def test_inverse_refuses_measurements_and_conditions() -> None:
    with pytest.raises(CircuitError, match="cannot be inverted"):
        Circuit(1, 1).measure(0, 0).inverse()
    c = Circuit(1, 1)
    with c.conditioned("c", 1):
        c.x(0)
    with pytest.raises(CircuitError, match="conditioned"):
        c.inverse()


def test_bind_replaces_parameters_by_name_or_object() -> None:
    theta, phi = Parameter("theta"), Parameter("phi")
    c = Circuit(2).rx(theta, 0).rzz(2 * theta + phi, 0, 1)
    assert c.parameters == {"theta", "phi"}
    bound = c.bind({theta: 0.5, "phi": 1.0})
    assert [op.params for op in bound] == [(0.5,), (2.0,)]
    assert bound.parameters == frozenset()
    assert c.parameters == {"theta", "phi"}  # the original is untouched
    with pytest.raises(CircuitError, match="unknown parameter"):
        c.bind({"gamma": 1.0})


def test_unbound_parameter_has_no_matrix() -> None:
    with pytest.raises(CircuitError, match="unbound"):
        unitary(Gate("rz", (Parameter("t"),)))


def test_depth_counts_the_longest_path() -> None:
    c = Circuit(3, 1).h(0).h(1).cx(0, 1).h(2).barrier().x(2)
    assert c.depth() == 2
    c.measure(2, 0)
    assert c.depth() == 3
    with c.conditioned("c", 1):
        c.x(0)  # waits for the classical bit measured at depth 3
    assert c.depth() == 4


def test_count_ops_in_order_of_first_appearance() -> None:
    c = Circuit(2, 2).h(0).cx(0, 1).h(1).measure([0, 1], [0, 1]).reset(0)
    assert c.count_ops() == {"h": 2, "cx": 1, "measure": 2, "reset": 1}
    assert c.num_nonlocal_gates() == 1


def test_equality_compares_registers_and_operations() -> None:
    a = Circuit(2).h(0).cx(0, 1)
    assert a == Circuit(2).h(0).cx(0, 1)
    assert a != Circuit(2).h(1).cx(0, 1)
    assert a != Circuit(3).h(0).cx(0, 1)
    assert Circuit(1).rz(0.5, 0) != Circuit(1).rz(0.5000001, 0)
    assert a.copy() == a and a.copy() is not a


def test_copy_is_independent() -> None:
    a = Circuit(1).h(0)
    b = a.copy()
    b.x(0)
    assert len(a) == 1 and len(b) == 2


def test_operations_and_gates_are_immutable_values() -> None:
    op = Operation(Gate("h"), (0,))
    with pytest.raises(AttributeError):
        op.qubits = (1,)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        op.gate.name = "x"  # type: ignore[misc]
    assert op == Operation(Gate("h"), (0,)) and hash(op) == hash(Operation(Gate("h"), (0,)))


def test_delay_is_stored_in_ns_and_measure_all_adds_a_register() -> None:
    c = Circuit(2).delay(1.5, 0, unit="us").delay(10)
    assert [op.params[0] for op in c] == [1500.0, 10.0, 10.0]
    with pytest.raises(CircuitError, match="unit"):
        c.delay(1, 0, unit="fortnight")
    c.measure_all()
    assert [r.name for r in c.cregs] == ["meas"] and c.count_ops()["measure"] == 2


def test_multi_controlled_gates_have_the_arity_of_their_qubits() -> None:
    c = Circuit(5).mcx([0, 1, 2, 3], 4).mcz([0], 1).mcp(math.pi / 3, [0, 1], 2)
    assert [op.gate.num_qubits for op in c] == [5, 2, 3]


def test_str_is_the_text_drawing() -> None:
    c = Circuit(2).h(0).cx(0, 1)
    assert str(c) == c.draw()
    assert "Circuit" in repr(c)


def test_parameter_names_must_survive_qasm() -> None:
    for bad in ("pi", "sin", "2x", "a-b", ""):
        with pytest.raises(CircuitError):
            Parameter(bad)
