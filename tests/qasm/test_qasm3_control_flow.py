"""OpenQASM 3 control flow (issue 15): what ``qiskit.qasm3.dumps`` writes for dynamic circuits (if/else on a bit or
a register, nested, mid-circuit measure and reset, for loops over literal ranges) is read into if/else blocks,
``dumps(version=3)`` writes the blocks back, Qiskit reads them as the same circuit, and Xihe's simulator samples
the distribution Aer samples."""

from __future__ import annotations

import contextlib
import math
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm3
from qiskit_aer import AerSimulator

from tests.compiler.test_control_flow import random_dynamic_circuit
from xihe import qasm
from xihe.circuit import Circuit, IfElse
from xihe.engines.simulate import simulate
from xihe.qasm import ParseLimits, QasmError, QasmLimitError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _qasmbench import chi2_pvalue

ONE_QUBIT = ["h", "x", "z", "s", "t", "sx"]
ROTATIONS = ["rx", "ry", "rz"]

QISKIT_PROGRAM = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] t_0;
bit[2] c;
bit[1] d;
qubit[3] q;
h q[0];
c[0] = measure q[0];
if (c[0]) {
  x q[1];
  c[1] = measure q[1];
} else {
  rx(t_0) q[2];
  reset q[2];
}
if (c == 3) {
  cx q[0], q[1];
}
if (!c[1]) {
  z q[0];
  if (d == 1) {
    y q[2];
  }
}
for int _loop_i_0 in [0:2] {
  rz(0.5*_loop_i_0) q[_loop_i_0];
}
for int _ in [0:1] {
  x q[0];
}
delay[100.0ns] q[0];
reset q[1];
d[0] = measure q[2];
"""


def test_what_qiskit_writes_for_a_dynamic_circuit_is_read_as_blocks() -> None:
    qc = qasm.loads(QISKIT_PROGRAM)
    blocks = [op for op in qc.operations if isinstance(op, IfElse)]
    assert [(b.test_bits, b.value, b.register) for b in blocks] == [((0,), 1, None), ((0, 1), 3, "c"),
                                                                    ((1,), 0, None)]
    first = blocks[0]
    assert [op.gate.name for op in first.true_body] == ["x", "measure"]
    assert [op.gate.name for op in first.false_body] == ["rx", "reset"]
    nested = blocks[2].true_body[1]
    assert isinstance(nested, IfElse) and nested.test_bits == (2,) and nested.register == "d"
    loops = [op for op in qc.operations if op.gate.name == "rz"]
    assert [(op.gate.params[0], op.qubits) for op in loops] == [(0.0, (0,)), (0.5, (1,)), (1.0, (2,))]
    assert qc.count_ops()["x"] == 2 and sorted(qc.parameters) == ["t_0"]


def test_dumps_version_3_writes_the_blocks_and_both_readers_read_them_back() -> None:
    qc = qasm.loads(QISKIT_PROGRAM)
    text = qasm.dumps(qc, version=3)
    assert "if (c[0]) {\n  x q[1];\n  c[1] = measure q[1];\n} else {\n" in text
    assert "if (c == 3) {" in text and "if (!c[1]) {" in text and "  if (d == 1) {\n    y q[2];\n  }" in text
    assert qasm.loads(text) == qc
    assert qasm.dumps(qc) == text  # a circuit with blocks is written as version 3 by default
    back = qasm3.loads(text)
    assert back.count_ops()["if_else"] == 3
    with pytest.raises(Exception, match="OpenQASM 2 cannot write"):
        qasm.dumps(qc, version=2)


def test_else_if_one_line_bodies_and_bit_comparisons_are_read() -> None:
    text = ("OPENQASM 3.0;\ninclude \"stdgates.inc\";\nbit[2] c;\nqubit[2] q;\nc[0] = measure q[0];\n"
            "if (c[0] == true) x q[1];\nif (c[1] == 0) { h q[0]; } else if (c == 2) { z q[1]; }\n"
            "for uint i in [4:-2:0] { rz(i) q[0]; }\n")
    qc = qasm.loads(text)
    one_line, chained = qc.operations[1], qc.operations[2]
    assert isinstance(one_line, IfElse) and one_line.test_bits == (0,) and one_line.value == 1
    assert isinstance(chained, IfElse) and chained.value == 0
    inner = chained.false_body[0]
    assert isinstance(inner, IfElse) and inner.test_bits == (0, 1) and inner.value == 2
    assert [op.gate.params[0] for op in qc.operations[3:]] == [4.0, 2.0, 0.0]


def test_loops_over_sets_as_qiskit_writes_them() -> None:
    qc = QuantumCircuit(1, 1)
    with qc.for_loop([0, 2, -5]) as i:
        qc.rz(0.5 * i, 0)
    text = qasm3.dumps(qc)
    assert "in {0, 2, -5} {" in text
    assert [op.gate.params[0] for op in qasm.loads(text).operations] == [0.0, 1.0, -2.5]
    with pytest.raises(QasmError, match="integer literals") as info:
        qasm.loads(text.replace("{0, 2, -5}", "{0, a}"))
    assert (info.value.line, info.value.column) == (5, 22)


def test_else_with_one_statement_or_a_brace_on_the_next_line() -> None:
    text = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[1] c;\nqubit[2] q;\nc[0] = measure q[0];\n'
            "if (c[0]) x q[1]; else c[0] = measure q[1];\nif (c[0]) {\n  x q[0];\n}\nelse\n{\n  z q[0];\n}\n")
    first, second = qasm.loads(text).operations[1:]
    assert isinstance(first, IfElse) and [op.gate.name for op in first.false_body] == ["measure"]
    assert isinstance(second, IfElse) and [op.gate.name for op in second.false_body] == ["z"]


@pytest.mark.parametrize(("body", "line", "column", "message"), [
    ("if (c == 9) {\n  x q[0];\n}\n", 6, 10, "does not fit"),
    ("if (c[0] == 2) x q[0];\n", 6, 13, "0 or 1"),
    ("if (c != 1) {\n  x q[0];\n}\n", 6, 5, "compares with '=='"),
    ("if (e[0]) {\n  x q[0];\n}\n", 6, 5, "undefined classical register 'e'"),
    ("if (c[0]) {\n  qubit[2] r;\n}\n", 7, 3, "'qubit' cannot appear inside a block"),
    ("if (c[0]) {\n  x q[0];\n", 8, 1, "not closed"),
    ("for int i in [0:3] {\n  x q[i];\n}\n", 7, 7, "index 2 is out of range"),
    ("for int i in [0:1] {\n  x q[0]\n}\n", 7, 9, "missing ';'"),
    ("if (c[0]) {\n  foo q[0];\n}\n", 7, 3, "undefined gate 'foo'"),
])
def test_control_flow_errors_keep_line_and_column(body: str, line: int, column: int | None, message: str) -> None:
    program = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nbit[2] c;\nqubit[2] q;\nc[0] = measure q[0];\n" + body
    with pytest.raises(QasmError, match=message) as info:
        qasm.loads(program)
    assert info.value.line == line
    if column is not None:
        assert info.value.column == column


def test_long_loops_are_charged_to_the_parse_limits() -> None:
    program = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nfor int i in [0:99999999] {\n}\n"
    with pytest.raises(QasmLimitError, match="max_operations"):
        qasm.loads(program, limits=ParseLimits(max_operations=1000))
    body = "OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nfor int i in [0:99] {\n  h q[0];\n}\n"
    with pytest.raises(QasmLimitError):
        qasm.loads(body, limits=ParseLimits(max_operations=50))
    assert qasm.loads(body).count_ops() == {"h": 100}


# --- hypothesis: Qiskit dynamic circuits -> qiskit.qasm3.dumps -> Xihe -> dumps(version=3) -> qiskit.qasm3.loads --
def _instructions(draw: st.DrawFn, qc: QuantumCircuit, n: int, count: int, depth: int) -> None:
    angles = st.floats(-math.pi, math.pi, allow_nan=False, allow_infinity=False)
    for _ in range(count):
        kinds = ["1q", "rot", "2q", "measure", "reset"] + (["if"] if depth < 2 else [])
        kind = draw(st.sampled_from(kinds))
        a, b = draw(st.permutations(range(n)))[:2]
        if kind == "1q":
            getattr(qc, draw(st.sampled_from(ONE_QUBIT)))(a)
        elif kind == "rot":
            getattr(qc, draw(st.sampled_from(ROTATIONS)))(round(draw(angles), 6), a)
        elif kind == "2q":
            qc.cx(a, b)
        elif kind == "measure":
            qc.measure(a, draw(st.integers(0, qc.num_clbits - 1)))
        elif kind == "reset":
            qc.reset(a)
        else:
            on_register = draw(st.booleans())
            register = qc.cregs[0]
            condition = ((register, draw(st.integers(0, 2 ** register.size - 1))) if on_register
                         else (qc.clbits[draw(st.integers(0, qc.num_clbits - 1))], draw(st.integers(0, 1))))
            with qc.if_test(condition) as else_:
                _instructions(draw, qc, n, draw(st.integers(1, 3)), depth + 1)
            if draw(st.booleans()):
                with else_:
                    _instructions(draw, qc, n, draw(st.integers(1, 3)), depth + 1)


@st.composite
def dynamic_circuits(draw: st.DrawFn) -> QuantumCircuit:
    n = draw(st.integers(2, 3))
    qc = QuantumCircuit(QuantumRegister(n, "q"), ClassicalRegister(2, "c"), ClassicalRegister(1, "d"))
    qc.h(0)
    qc.measure(0, 0)
    _instructions(draw, qc, n, draw(st.integers(2, 8)), 0)
    qc.measure(range(n), range(n))
    return qc


def _aer_key(key: str) -> str:
    return key.replace(" ", "")[::-1]


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(dynamic_circuits())
def test_dynamic_circuits_round_trip_through_xihe_and_run_as_aer_does(original: QuantumCircuit) -> None:
    text = qasm3.dumps(original)
    ours = qasm.loads(text)
    written = qasm.dumps(ours, version=3)
    assert qasm.loads(written) == ours
    back = qasm3.loads(written)
    assert back == qasm3.loads(text)  # Qiskit's own reading of its text and of Xihe's: the same circuit
    exact = simulate(ours, shots=1, seed=1, engine="density_matrix").exact_probabilities
    assert exact is not None
    aer = AerSimulator().run(original, shots=2000, seed_simulator=3).result().get_counts()
    assert chi2_pvalue({_aer_key(k): v for k, v in aer.items()}, exact) > 1e-5
    sampled = simulate(ours, shots=2000, seed=4, engine="statevector").counts
    assert chi2_pvalue(sampled, exact) > 1e-5


def test_circuits_built_in_xihe_are_written_and_read_back_by_qiskit() -> None:
    qc = Circuit(2, 2)
    qc.h(0).measure(0, 0)
    with qc.if_test(("c", 1)) as block:
        qc.x(1)
    with block.else_():
        qc.measure(1, 1)
    loaded = qasm3.loads(qasm.dumps(qc))
    assert loaded.count_ops() == {"h": 1, "measure": 1, "if_else": 1}


@pytest.mark.parametrize("seed", range(12))
def test_xihe_dynamic_circuits_round_trip_through_qiskit_exactly(seed: int) -> None:
    circuit = random_dynamic_circuit(seed)
    assert qasm.loads(qasm3.dumps(qasm3.loads(qasm.dumps(circuit, version=3)))) == circuit


def test_parameters_inside_blocks_are_bound() -> None:
    qc = qasm.loads(QISKIT_PROGRAM)
    bound = qc.bind({"t_0": 0.4})
    assert not bound.parameters
    block = bound.operations[2]
    assert isinstance(block, IfElse) and block.false_body[0].gate.params == (0.4,)
    assert simulate(bound, shots=100, seed=1).shots == 100


def test_nested_empty_loops_are_bounded_by_the_parse_limits() -> None:
    program = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\n'
               "for int i in [0:999] {\n  for int j in [0:999] {\n    for int k in [0:999] {\n    }\n  }\n}\n")
    with pytest.raises(QasmLimitError, match="max_operations") as info:
        qasm.loads(program, limits=ParseLimits(max_operations=100_000))
    assert info.value.line == 6  # the innermost loop, when the iterations so far pass the limit


def test_physical_qubits_as_qiskit_writes_a_transpiled_circuit() -> None:
    text = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[2] c;\nrz(pi/2) $3;\nc[0] = measure $3;\n'
            "if (c[0]) {\n  x $0;\n}\nc[1] = measure $0;\n")
    qc = qasm.loads(text)
    assert [(r.name, r.size) for r in qc.qregs] == [("q", 4)]
    block = qc.operations[2]
    assert isinstance(block, IfElse) and block.true_body[0].qubits == (0,)
    with pytest.raises(QasmError, match="declares no qubit registers") as info:
        qasm.loads(text.replace("bit[2] c;", "bit[2] c;\nqubit[1] r;"))
    assert (info.value.line, info.value.column) == (4, 1)
    with pytest.raises(QasmError, match="undefined gate 'foo'") as info:
        qasm.loads(text.replace("x $0;", "foo $0;"))
    assert info.value.line == 7  # lines are kept (the register is declared on the version line)


def test_empty_blocks_are_charged_to_the_parse_limits() -> None:
    program = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[1] c;\nqubit[1] q;\n'
               + "if (c[0]) { }\n" * 200)
    with pytest.raises(QasmLimitError, match="max_operations"):
        qasm.loads(program, limits=ParseLimits(max_operations=100))
    assert len(qasm.loads(program).operations) == 200


def test_mutated_dynamic_programs_raise_only_qasm_errors() -> None:
    """20,000 seeded mutations were run by hand with no other exception; the suite keeps 600 of them."""
    rng = random.Random(1)
    pieces = [*"{}()[];=!$:,.-+*/ \n0123456789abcqdxyzifelsorntu_", "if", "else", "for", "in", "==", "measure",
              "c[0]", "$1", "[0:2]"]
    for _ in range(600):
        text = QISKIT_PROGRAM
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text))
            roll = rng.random()
            if roll < 0.4:
                text = text[:at] + text[at + rng.randint(1, 5):]
            elif roll < 0.8:
                text = text[:at] + rng.choice(pieces) + text[at:]
            else:
                text = text[:at] + rng.choice(pieces) + text[at + 1:]
        with contextlib.suppress(QasmError):  # anything else (a traceback) fails the test
            qasm.loads(text)


def test_unfinished_loop_headers_are_errors_with_their_place() -> None:
    """20,000 bare 'for' words (each looked at over a bounded window: 0.2 s by hand, 0.7 s for 80,000)."""
    text = "OPENQASM 3.0;\nqubit[1] q;\n" + "for " * 20_000
    with pytest.raises(QasmError):
        qasm.loads(text)
    unclosed = "OPENQASM 3.0;\nqubit[1] q;\nfor int i in {" + "1," * 1000
    with pytest.raises(QasmError, match="a set") as info:
        qasm.loads(unclosed)
    assert (info.value.line, info.value.column) == (3, 14)
