"""What the reader builds from each construct of the language and of pyquafu's extensions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from xihe import qasm
from xihe.circuit import Circuit, Gate, Operation, Parameter
from xihe.qasm import QasmError

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


def ops(text: str) -> list[Operation]:
    return qasm.loads(H + text).operations


def test_bell_program_builds_registers_and_operations() -> None:
    c = qasm.loads(H + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n")
    expected = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    assert c == expected
    assert c.count_ops() == {"h": 1, "cx": 1, "measure": 2}


def test_registers_are_flattened_in_declaration_order() -> None:
    c = qasm.loads(H + "qreg a[2];\ncreg m[1];\nqreg b[3];\ncreg n[2];\nx b[1];\nmeasure b[2] -> n[1];\n")
    assert [(r.name, r.size) for r in c.qregs] == [("a", 2), ("b", 3)]
    assert c.operations[0].qubits == (3,)
    assert (c.operations[1].qubits, c.operations[1].clbits) == ((4,), (2,))


def test_register_broadcast_pairs_registers_and_repeats_single_qubits() -> None:
    result = ops("qreg a[3];\nqreg b[3];\nqreg t[1];\nh a;\ncx a,b;\nccx a,b,t[0];\n")
    assert [o.qubits for o in result[:3]] == [(0,), (1,), (2,)]
    assert [o.qubits for o in result[3:6]] == [(0, 3), (1, 4), (2, 5)]
    assert [o.qubits for o in result[6:]] == [(0, 3, 6), (1, 4, 6), (2, 5, 6)]


def test_builtin_u_and_cx_are_the_table_gates() -> None:
    result = ops("qreg q[2];\nU(0.1,0.2,0.3) q[0];\nCX q[0],q[1];\n")
    assert result == [Operation(Gate("u", (0.1, 0.2, 0.3)), (0,)), Operation(Gate("cx"), (0, 1))]


def test_constant_expressions_fold_to_floats() -> None:
    result = ops("qreg q[1];\nrz(pi/2) q[0];\nrz(-pi^2*2) q[0];\nrz(sin(pi/6)+ln(exp(2))-sqrt(4)) q[0];\n"
                 "rz(1e-3) q[0];\nrz(2*-3) q[0];\nrz(2^3^2) q[0];\nrz(cos(0)+tan(0)) q[0];\n")
    values = [o.params[0] for o in result]
    assert values[0] == math.pi / 2
    assert values[1] == -(math.pi**2) * 2
    assert values[2] == pytest.approx(0.5)
    assert values[3] == 0.001
    assert values[4] == -6.0
    assert values[5] == 2.0**9  # '^' is right-associative
    assert values[6] == 1.0
    assert all(isinstance(v, float) for v in values)


def test_unknown_name_in_the_main_program_is_a_free_parameter() -> None:
    c = qasm.loads(H + "qreg q[1];\nrz(theta) q[0];\nrx(2*theta+phi) q[0];\n")
    assert c.parameters == {"theta", "phi"}
    assert c.operations[0].params == (Parameter("theta"),)
    bound = c.bind({"theta": 0.5, "phi": 1.0})
    assert [o.params[0] for o in bound] == [0.5, 2.0]


def test_custom_gate_stays_a_named_definition_with_parameters() -> None:
    c = qasm.loads(H + "qreg q[2];\ngate rot(t, p) a, b {\n  rz(t/2) a;\n  cx a, b;\n  ry(-p) b;\n}\n"
                   "rot(0.5, pi) q[0], q[1];\n")
    op = c.operations[0]
    assert op.name == "rot" and op.params == (0.5, math.pi)
    definition = op.gate.definition
    assert definition is not None
    assert definition.params == ("t", "p") and definition.qubit_names == ("a", "b")
    assert definition.body[0].params == (Parameter("t") / 2,)
    assert definition.body[2].params == (-Parameter("p"),)
    assert [o.params for o in definition.expand(op.params)] == [(0.25,), (), (-math.pi,)]


def test_nested_definitions_are_kept_with_their_dependencies() -> None:
    c = qasm.loads(H + "qreg q[2];\ngate inner a { h a; }\ngate outer a, b { inner a; cx a, b; }\nouter q[0], q[1];\n")
    assert [d.name for d in c.definitions] == ["inner", "outer"]
    text = qasm.dumps(c)
    assert text.index("gate inner") < text.index("gate outer")


def test_a_builtin_outside_the_original_qelib1_may_be_redefined() -> None:
    program = "qreg q[2];\ngate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; }\n" \
              "ryy(0.3) q[0], q[1];\n"
    c = qasm.loads(H + program)
    assert c.operations[0].gate.definition is not None
    assert qasm.loads(qasm.dumps(c)) == c


def test_without_qelib1_a_program_may_define_the_standard_gates_itself() -> None:
    c = qasm.loads("OPENQASM 2.0;\ngate h a { U(pi/2, 0, pi) a; }\nqreg q[1];\nh q[0];\nx q[0];\n")
    assert c.operations[0].gate.definition is not None
    assert c.operations[1].gate == Gate("x")
    text = qasm.dumps(c)
    assert 'include "qelib1.inc"' not in text
    assert qasm.loads(text) == c


def test_measure_reset_barrier_and_conditions() -> None:
    result = ops("qreg q[2];\ncreg c[2];\nmeasure q[1] -> c[0];\nreset q;\nbarrier q[1], q;\n"
                 "if (c == 2) x q[0];\nif(c==1) measure q[0] -> c[1];\nif (c == 3) reset q[1];\n"
                 "if (c == 0) delay(5ns) q[1];\n")
    assert result[0] == Operation(Gate("measure"), (1,), (0,))
    assert [o.qubits for o in result[1:3]] == [(0,), (1,)]
    assert result[3] == Operation(Gate("barrier", num_qubits=2), (1, 0))
    assert [o.condition for o in result[4:]] == [("c", 2), ("c", 1), ("c", 3), ("c", 0)]


def test_pyquafu_delay_units_are_stored_in_ns() -> None:
    result = ops("qreg q[2];\ndelay(100ns) q[0];\ndelay(2us) q[1];\ndelay(1.5ms) q;\ndelay(1e-6s) q[0];\n")
    assert [o.params[0] for o in result] == [100.0, 2000.0, 1.5e6, 1.5e6, 1e-6 * 1e9]
    assert [o.qubits for o in result] == [(0,), (1,), (0,), (1,), (0,)]


def test_multi_controlled_gates_take_any_number_of_qubits() -> None:
    result = ops("qreg q[6];\nmcx q[0],q[1],q[2],q[3],q[4],q[5];\nmcz q[0],q[1];\nmcy q[2];\n")
    assert [(o.name, o.gate.num_qubits) for o in result] == [("mcx", 6), ("mcz", 2), ("mcy", 1)]


def test_pyquafu_gates_outside_qelib1_read_by_name() -> None:
    result = ops("qreg q[2];\nsy q[0];\nw q[1];\nsw q[0];\niswap q[0],q[1];\nryy(0.5) q[0],q[1];\n")
    assert [o.name for o in result] == ["sy", "w", "sw", "iswap", "ryy"]


def test_comments_and_layout_do_not_matter() -> None:
    compact = qasm.loads(H + "qreg q[2];h q[0];cx q[0],q[1];rz(0.5)q[1];")
    spread = qasm.loads(H + "// a comment\nqreg q [ 2 ] ;\nh\n q[0]; // trailing\ncx q[0] ,\n q[1];\n"
                        "rz( 0.5 ) // inside\n q[1] ;\n")
    assert compact == spread


def test_includes_are_resolved_next_to_the_file_and_on_the_include_path(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "mine.inc").write_text("gate twice a { x a; x a; }\n")
    (tmp_path / "local.inc").write_text('include "mine.inc";\ngate thrice a { twice a; x a; }\n')
    main = tmp_path / "main.qasm"
    main.write_text(H + 'include "local.inc";\nqreg q[1];\nthrice q[0];\n')
    c = qasm.load(main, include_path=[lib])
    assert [d.name for d in c.definitions] == ["twice", "thrice"]
    assert c.name == "main"
    text = main.read_text()
    assert qasm.loads(text, include_path=[tmp_path, lib]) == c


def test_dump_and_load_a_file(tmp_path: Path) -> None:
    c = Circuit(3, 3).h(0).cx(0, 1).ccx(0, 1, 2).measure([0, 1, 2], [0, 1, 2])
    path = tmp_path / "out.qasm"
    qasm.dump(c, path)
    assert qasm.load(path) == c


def test_a_large_program_parses_in_one_piece() -> None:
    lines = [f"rz({i * 0.001!r}) q[{i % 7}];\ncx q[{i % 7}],q[{(i + 1) % 7}];" for i in range(5000)]
    c = qasm.loads(H + "qreg q[7];\n" + "\n".join(lines) + "\n")
    assert len(c) == 10000
    assert c.operations[-1] == Operation(Gate("cx"), (4999 % 7, 5000 % 7))


def test_error_after_many_fast_statements_still_has_its_line() -> None:
    body = "h q[0];\n" * 1000 + "cx q[0], q[9];\n"
    with pytest.raises(QasmError) as info:
        qasm.loads(H + "qreg q[2];\n" + body)
    assert (info.value.line, info.value.column) == (1004, 12)


def test_byte_order_mark_and_windows_line_ends_are_accepted() -> None:
    text = "\ufeff" + (H + "qreg q[1];\nx q[0];\n").replace("\n", "\r\n")
    assert qasm.loads(text) == Circuit(1).x(0)
    with pytest.raises(QasmError) as info:
        qasm.loads(text + "hh q[0];\r\n")
    assert (info.value.line, info.value.column) == (5, 1)


def test_bytes_are_read_as_utf8() -> None:
    assert qasm.loads((H + "qreg q[1];\nx q[0]; // é\n").encode()) == Circuit(1).x(0)
    with pytest.raises(QasmError, match="not UTF-8"):
        qasm.loads(b"OPENQASM 2.0;\xff")
