"""A table of malformed programs: each must raise QasmError naming the right line, column and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from xihe import qasm
from xihe.errors import CircuitError
from xihe.qasm import QasmError

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'

# (case, program, line, column, message)
MALFORMED: list[tuple[str, str, int, int, str]] = [
    ('undefined_gate', H + 'hh q[0];\n', 5, 1,
     "undefined gate 'hh'; did you mean 'h'?"),
    ('missing_semicolon', H + 'h q[0]\nx q[1];\n', 5, 7,
     "missing ';' at the end of the 'h' statement"),
    ('undefined_qreg', H + 'h r[0];\n', 5, 3,
     "undefined quantum register 'r'"),
    ('index_oob', H + 'h q[2];\n', 5, 5,
     "index 2 is out of range for register 'q' of size 2"),
    ('too_few_qubits', H + 'cx q[0];\n', 5, 1,
     "gate 'cx' takes 2 qubit argument(s), got 1"),
    ('too_many_params', H + 'rz(0.1, 0.2) q[0];\n', 5, 1,
     "gate 'rz' takes 1 parameter(s), got 2"),
    ('missing_params', H + 'rz q[0];\n', 5, 1,
     "gate 'rz' takes 1 parameter(s), got 0"),
    ('bad_expr', H + 'rz(pi/) q[0];\n', 5, 7,
     "expected a number, 'pi', a parameter name or '(' in an expression, found ')'"),
    ('unknown_func', H + 'rz(foo(1)) q[0];\n', 5, 4,
     "unknown function 'foo'; the functions are acos, asin, atan, cos, exp, ln, sin, sqrt, tan"),
    ('div_zero', H + 'rz(1/0) q[0];\n', 5, 5,
     'division by zero in a parameter expression'),
    ('opaque', H + 'opaque magic(a) q;\n', 5, 1,
     "opaque gates are not supported: Xihe cannot run a gate without a body; define it with "
     "'gate name(params) qubits { ... }' instead"),
    ('bad_include', H + 'include "nowhere.inc";\n', 5, 9,
     "cannot include 'nowhere.inc': loads() reads no files unless given include_path=[folder]; "
     "use qasm.load(path) to resolve includes next to the program (the standard includes qelib1.inc, "
     "stdgates.inc are built in)"),
    ('redefine_original', H + 'gate h a { U(0,0,0) a; }\n', 5, 6,
     "gate 'h' is defined by qelib1.inc and cannot be redefined; give your gate another name"),
    ('redefine_user', H + 'gate foo a { x a; }\ngate foo a { y a; }\n', 6, 6,
     "gate 'foo' is already defined at line 5"),
    ('cond_unknown_creg', H + 'if (d == 1) x q[0];\n', 5, 5,
     "undefined classical register 'd' in the condition"),
    ('cond_on_qreg', H + 'if (q == 1) x q[0];\n', 5, 5,
     "undefined classical register 'q' in the condition (it is a quantum register)"),
    ('cond_too_big', H + 'if (c == 4) x q[0];\n', 5, 10,
     "value 4 does not fit classical register 'c' of 2 bit(s)"),
    ('register_redeclared', H + 'qreg q[3];\n', 5, 6,
     "register 'q' is already declared"),
    ('register_zero', H + 'qreg r[0];\n', 5, 8,
     "register 'r' must have at least one bit"),
    ('duplicate_qubit', H + 'cx q[0],q[0];\n', 5, 1,
     "'cx' is applied to qubit q[0] more than once"),
    ('broadcast_mismatch', 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg a[2];\nqreg b[3];\ncx a,b;\n', 5, 1,
     "'cx' is applied to registers of different sizes: 'a' (2), 'b' (3)"),
    ('measure_mismatch', H + 'measure q -> c[0];\n', 5, 9,
     "measure pairs 2 qubit(s) of 'q' with 1 bit(s) of 'c'; give two registers of the same size or two single bits"),
    ('measure_into_qreg', H + 'measure q[0] -> q[1];\n', 5, 17,
     "'q' is a quantum register; measure needs a classical register here"),
    ('gate_on_creg', H + 'h c[0];\n', 5, 3,
     "'c' is a classical register; gate 'h' needs a quantum register here"),
    ('version4', 'OPENQASM 4.0;\nqreg q[1];\n', 1, 10,
     'unsupported OpenQASM version 4.0; Xihe reads OpenQASM 2.0 and 3'),
    ('version_not_first', 'include "qelib1.inc";\nOPENQASM 2.0;\n', 2, 1,
     "'OPENQASM 2.0;' must be the first statement of the program"),
    ('bad_char', H + 'h q[0]; @\n', 5, 9,
     "unexpected character '@'"),
    ('unterminated_string', 'OPENQASM 2.0;\ninclude "qelib1.inc;\n', 2, 9,
     'unterminated string: a closing \'"\' is missing on this line'),
    ('unclosed_body', H + 'gate g a {\n  h a;\n', 7, 1,
     "the body of gate 'g' is not closed: '}' is missing"),
    ('body_unknown_param', H + 'gate g(t) a {\n  rz(s) a;\n}\n', 6, 6,
     "unknown name 's' in the body of gate 'g' (its parameters: t)"),
    ('body_indexed', H + 'gate g a {\n  h a[0];\n}\n', 6, 6,
     "inside a gate body, qubits are the gate's own names without an index; write 'a'"),
    ('body_measure', H + 'gate g a {\n  measure a -> c[0];\n}\n', 6, 3,
     "'measure' is not allowed inside a gate body; a body holds only gate calls and barriers"),
    ('body_unknown_qubit', H + 'gate g a {\n  cx a,b;\n}\n', 6, 8,
     "'b' is not a qubit of gate 'g' (its qubits: a)"),
    ('delay_unit', H + 'delay(100xs) q[0];\n', 5, 10,
     "unknown delay unit 'xs'; use ns, us, ms or s"),
    ('delay_no_unit', H + 'delay(100) q[0];\n', 5, 10,
     "give the delay's unit right after the number: ns, us, ms or s (as in delay(100ns))"),
    ('eof_in_statement', H + 'h q[0', 5, 6,
     "expected ']' after the index into 'q', found the end of the program"),
    ('real_size', H + 'qreg r[2.5];\n', 5, 8,
     "expected a non-negative integer as the register size, found '2.5'"),
    ('if_barrier', H + 'if (c == 1) barrier q;\n', 5, 13,
     "'barrier' cannot follow 'if (...)'; only a gate call, measure, reset or delay can"),
    ('keyword_gate_name', H + 'gate measure a { h a; }\n', 5, 6,
     "'measure' is a reserved word of OpenQASM and cannot name a gate"),
    ('used_then_defined', H + 'ryy(0.1) q[0],q[1];\ngate ryy(t) a,b { rzz(t) a,b; }\n', 6, 6,
     "gate 'ryy' is used above as the built-in gate; define it before its first use"),
    ('uppercase_register', 'OPENQASM 2.0;\nqreg Q[2];\n', 2, 6,
     "register name 'Q' is not valid OpenQASM 2 (a lower-case letter, then letters, digits or _)"),
    ('missing_arrow', H + 'measure q[0] c[0];\n', 5, 14,
     "expected '->' between the qubit and the classical bit of 'measure', found 'c'"),
    ('if_single_eq', H + 'if (c = 1) x q[0];\n', 5, 7,
     "unexpected '='; a condition compares with '==', as in if (c == 1)"),
    ('complex_power', H + 'rz((-8)^(1/3)) q[0];\n', 5, 8,
     'a parameter expression has no real value here (for example, a negative number to a fractional power)'),
    ('statement_starts_with_number', H + '3 q[0];\n', 5, 1,
     "expected a statement, found '3'"),
    ('unknown_delay_dt', H + 'delay(10dt) q[0];\n', 5, 9,
     "unknown delay unit 'dt'; use ns, us, ms or s"),
    ('duplicate_param_name', H + 'gate g(t,t) a { rz(t) a; }\n', 5, 10,
     "parameter name 't' appears twice in gate 'g'"),
    ('deep_nesting', H + 'rz(' + '(' * 150 + '1' + ')' * 150 + ') q[0];\n', 5, 104,
     'the expression nests deeper than 100 levels'),
    ('float_overflow', H + 'rz(1e999) q[0];\n', 5, 4,
     'the number 1e999 is too large for a 64-bit float'),
    ('huge_register', H + 'qreg big[2000000];\n', 5, 10,
     "register 'big' has 2000000 bits; Xihe reads registers of at most 1048576 bits"),
    ('used_in_a_body_then_defined', H + 'gate g a,b { ryy(0.1) a,b; }\ngate ryy(t) a,b { rzz(t) a,b; }\n', 6, 6,
     "gate 'ryy' is used above as the built-in gate; define it before its first use"),
    ('mcx_dup', H + 'mcx q[0],q[0];\n', 5, 1,
     "'mcx' is applied to qubit q[0] more than once"),
]


@pytest.mark.parametrize(("case", "program", "line", "column", "message"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_program_reports_line_column_and_problem(
    case: str, program: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(QasmError) as info:
        qasm.loads(program)
    error = info.value
    assert (error.line, error.column, error.message) == (line, column, message)
    assert str(error) == f"line {line}, column {column}: {message}"


def test_table_covers_at_least_thirty_distinct_problems() -> None:
    assert len({c[0] for c in MALFORMED}) == len(MALFORMED) >= 30


def test_qasm_error_is_a_circuit_error_with_the_validate_stage() -> None:
    with pytest.raises(CircuitError) as info:
        qasm.loads(H + "hh q[0];\n")
    assert info.value.stage == "validate"


def test_error_in_an_included_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "lib.inc").write_text("gate good a { h a; }\ngate bad a { hh a; }\n")
    main = tmp_path / "main.qasm"
    main.write_text(H + 'include "lib.inc";\ngood q[0];\n')
    with pytest.raises(QasmError) as info:
        qasm.load(main)
    assert (info.value.line, info.value.column) == (2, 14)
    assert info.value.filename == str(tmp_path / "lib.inc")
    assert info.value.message == "undefined gate 'hh'; did you mean 'h'?"


def test_missing_include_next_to_a_file_says_where_it_looked(tmp_path: Path) -> None:
    main = tmp_path / "main.qasm"
    main.write_text(H + 'include "gone.inc";\n')
    with pytest.raises(QasmError) as info:
        qasm.load(main)
    assert (info.value.line, info.value.column) == (5, 9)
    assert info.value.message == f"cannot find the include file 'gone.inc' (looked in {tmp_path})"


def test_include_cycle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.inc").write_text('include "b.inc";\n')
    (tmp_path / "b.inc").write_text('include "a.inc";\n')
    main = tmp_path / "main.qasm"
    main.write_text(H + 'include "a.inc";\n')
    with pytest.raises(QasmError, match="include cycle"):
        qasm.load(main)


def test_unreadable_file_is_a_qasm_error(tmp_path: Path) -> None:
    with pytest.raises(QasmError, match="cannot read"):
        qasm.load(tmp_path / "missing.qasm")


@pytest.mark.parametrize("junk", ["\x00\x01", "}", "gate", "OPENQASM", "qreg q[", "if (", "-> ->"])
def test_garbage_never_escapes_as_a_python_exception(junk: str) -> None:
    with pytest.raises(QasmError):
        qasm.loads(H + junk)
