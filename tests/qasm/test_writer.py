"""The text ``dumps`` writes: header, definitions first, registers, one statement per operation."""

from __future__ import annotations

import pytest

from xihe import qasm
from xihe.circuit import Circuit, ClassicalRegister, Gate, GateDefinition, Operation, Parameter, QuantumRegister
from xihe.errors import CircuitError


def test_layout_of_a_written_program() -> None:
    c = Circuit(QuantumRegister("q", 2), ClassicalRegister("c", 2))
    c.h(0).rz(0.1, 1).cx(0, 1).measure([0, 1], [0, 1])
    with c.conditioned("c", 3):
        c.x(0)
    c.delay(2, 1, unit="us").barrier()
    assert qasm.dumps(c) == (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\nrz(0.1) q[1];\ncx q[0],q[1];\n'
        "measure q[0] -> c[0];\nmeasure q[1] -> c[1];\nif(c==3) x q[0];\ndelay(2000.0ns) q[1];\n"
        "barrier q[0],q[1];\n"
    )


def test_gates_outside_qelib1_are_written_by_name_and_read_back() -> None:
    c = Circuit(4).sy(0).sydg(1).w(2).sw(3).swdg(0).iswap(0, 1).ryy(0.25, 2, 3).cs(0, 1).ct(1, 2)
    c.mcx([0, 1, 2], 3).mcy([0], 1).mcz([0, 1, 2], 3).mcp(0.5, [0, 1], 2)
    text = qasm.dumps(c)
    assert "mcx q[0],q[1],q[2],q[3];" in text and "iswap q[0],q[1];" in text
    assert qasm.loads(text) == c


def test_parameters_are_written_as_expressions() -> None:
    theta = Parameter("theta")
    c = Circuit(1).rz(2 * theta + 0.5, 0).rx(-theta, 0)
    text = qasm.dumps(c)
    assert "rz(2.0*theta+0.5) q[0];" in text and "rx(-theta) q[0];" in text


def test_definition_with_unusable_qubit_names_gets_fresh_ones() -> None:
    body = (Operation(Gate("cx"), (0, 1)),)
    d = GateDefinition("pair", ("q0",), 2, body, qubit_names=("if", "b"))
    c = Circuit(2).gate(d, 0, 1, params=[0.1])
    text = qasm.dumps(c)
    assert "gate pair(q0) q_0,q_1 {" in text
    assert qasm.loads(text) == c


def test_builtin_and_definition_of_the_same_name_are_refused() -> None:
    d = GateDefinition("ryy", ("t",), 2, (Operation(Gate("cx"), (0, 1)),))
    c = Circuit(2).gate(d, 0, 1, params=[0.1]).ryy(0.2, 0, 1)
    with pytest.raises(CircuitError, match="rename the definition"):
        qasm.dumps(c)


def test_builtin_u_and_cx_stay_writable_when_a_definition_shadows_them() -> None:
    c = qasm.loads("OPENQASM 2.0;\ngate cx a, b { CX a, b; }\nqreg q[2];\ncx q[0], q[1];\nCX q[1], q[0];\n")
    text = qasm.dumps(c)
    assert "CX q[1],q[0];" in text
    assert qasm.loads(text) == c


def test_infinite_parameters_cannot_be_written() -> None:
    with pytest.raises(CircuitError, match="cannot be written"):
        qasm.dumps(Circuit(1).rz(float("inf"), 0))


def test_circuit_does_not_reach_up_to_qasm() -> None:
    """Layer 1 (circuit) imports nothing of layer 2 (qasm): a circuit is written with ``qasm.dumps``."""
    import ast
    from pathlib import Path

    import xihe.circuit

    for path in Path(xihe.circuit.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("xihe.qasm"), f"{path.name} imports {node.module}"
    assert not hasattr(Circuit(1), "to_qasm")
