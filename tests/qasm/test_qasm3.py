"""OpenQASM 3 in and out: what ``qiskit.qasm3.dumps`` writes is read, ``dumps(version=3)`` is read back by
``qiskit.qasm3.loads``, errors keep line and column, and the OpenQASM 2 limits hold for version 3 too."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm2, qasm3
from qiskit.circuit import Parameter
from qiskit.quantum_info import Operator

from tests.client.live import WAIT_S, shared_server
from xihe import qasm
from xihe.circuit import Circuit
from xihe.circuit import Parameter as XiheParameter
from xihe.client import Client
from xihe.qasm import ParseLimits, QasmError, QasmLimitError

ONE_QUBIT = ["h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx"]
ROTATIONS = ["rx", "ry", "rz", "p"]
TWO_QUBIT = ["cx", "cz", "swap", "ch", "cy"]
TWO_QUBIT_ROTATIONS = ["rzz", "rxx", "ryy", "crx", "cry", "crz", "cp", "rzx"]


def unitary_of_xihe(circuit: Circuit) -> Operator:
    """Xihe's circuit through its own OpenQASM 2 writer and Qiskit's OpenQASM 2 reader (an independent path)."""
    unitary = circuit.copy_empty()
    unitary.operations = [op for op in circuit.operations
                          if op.gate.name not in ("measure", "barrier", "delay", "reset")]
    return Operator(qasm2.loads(qasm.dumps(unitary), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS))


def unitary_part(circuit: QuantumCircuit) -> Operator:
    stripped = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name not in ("measure", "barrier", "delay", "reset"):
            stripped.append(instruction)
    return Operator(stripped)


@st.composite
def qiskit_circuits(draw: st.DrawFn) -> QuantumCircuit:
    n = draw(st.integers(2, 4))
    qc = QuantumCircuit(QuantumRegister(n, "q"), ClassicalRegister(n, "c"))
    angles = st.floats(-2 * math.pi, 2 * math.pi, allow_nan=False, allow_infinity=False)
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["1q", "rot", "2q", "2qrot", "u", "barrier", "delay"]))
        a, b = draw(st.permutations(range(n)))[:2]
        if kind == "1q":
            getattr(qc, draw(st.sampled_from(ONE_QUBIT)))(a)
        elif kind == "rot":
            getattr(qc, draw(st.sampled_from(ROTATIONS)))(draw(angles), a)
        elif kind == "2q":
            getattr(qc, draw(st.sampled_from(TWO_QUBIT)))(a, b)
        elif kind == "2qrot":
            getattr(qc, draw(st.sampled_from(TWO_QUBIT_ROTATIONS)))(draw(angles), a, b)
        elif kind == "u":
            qc.u(draw(angles), draw(angles), draw(angles), a)
        elif kind == "barrier":
            qc.barrier()
        else:
            qc.delay(draw(st.integers(1, 500)), a, unit=draw(st.sampled_from(["ns", "us"])))
    qc.measure(range(n), range(n))
    return qc


@settings(max_examples=60, deadline=None)
@given(qiskit_circuits())
def test_qiskit_qasm3_round_trips_through_xihe(original: QuantumCircuit) -> None:
    ours = qasm.loads(qasm3.dumps(original))
    assert ours.count_ops().get("measure") == original.count_ops().get("measure")
    assert ours.count_ops().get("delay", 0) == original.count_ops().get("delay", 0)
    assert unitary_of_xihe(ours).equiv(unitary_part(original))
    back = qasm3.loads(qasm.dumps(ours, version=3))
    assert unitary_part(back).equiv(unitary_part(original))
    assert back.count_ops().get("measure") == original.count_ops().get("measure")
    assert back.count_ops().get("delay", 0) == original.count_ops().get("delay", 0)
    assert qasm.loads(qasm.dumps(ours, version=3)) == ours


def test_parameters_reset_and_several_registers_are_read() -> None:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "c"), ClassicalRegister(1, "d"))
    qc.ry(a, 0)
    qc.rzz(2 * b + 0.1, 1, 2)
    qc.reset(2)
    qc.delay(2, 1, unit="us")
    qc.measure([0, 1, 2], [0, 1, 2])
    ours = qasm.loads(qasm3.dumps(qc))
    assert sorted(ours.parameters) == ["a", "b"]
    assert [reg.name for reg in ours.cregs] == ["c", "d"]
    assert ours.count_ops()["reset"] == 1
    delay = next(op for op in ours.operations if op.gate.name == "delay")
    assert delay.gate.params[0] == pytest.approx(2000.0)  # ns in the IR
    bound = qc.assign_parameters({a: 0.3, b: -0.7})
    assert unitary_of_xihe(ours.bind({"a": 0.3, "b": -0.7})).equiv(unitary_part(bound))


def test_dumps_version_3_declares_free_parameters_as_inputs() -> None:
    theta = XiheParameter("theta")
    circuit = Circuit(2, 2).rx(theta, 0).cx(0, 1).measure([0, 1], [0, 1])
    text = qasm.dumps(circuit, version=3)
    assert text.startswith("OPENQASM 3.0;\ninclude \"stdgates.inc\";\ninput float[64] theta;")
    loaded = qasm3.loads(text)
    assert [p.name for p in loaded.parameters] == ["theta"]
    assert qasm.loads(text) == circuit


def test_conditioned_gate_is_written_as_an_if_block_qiskit_reads() -> None:
    circuit = Circuit(2, 2).h(0).measure([0], [0])
    with circuit.conditioned("c", 1):
        circuit.x(1)
    text = qasm.dumps(circuit, version=3)
    assert "if (c == 1) { x q[1]; }" in text
    assert qasm3.loads(text).count_ops()["if_else"] == 1


def test_version_2_is_still_the_default() -> None:
    assert qasm.dumps(Circuit(1).h(0)).startswith("OPENQASM 2.0;")
    with pytest.raises(ValueError, match="2 or 3"):
        qasm.dumps(Circuit(1), version=4)


@pytest.mark.parametrize(("program", "line", "column", "message"), [
    ("OPENQASM 3.0;\nqubit[1] q;\nbit[1] c;\nwhile (c[0]) {\n  x q[0];\n}\n", 4, 1, "'while' loops"),
    ("OPENQASM 3.0;\nqubit[2] q;\nfor int i in [0:n] {\n  x q[i];\n}\n", 3, 14, "a loop range is"),
    ("OPENQASM 3.0;\nqubit[2] q;\nrx(th) q[0];\n", 3, 4, "'th' is not declared"),
    ("OPENQASM 3.0;\nqubit[2] q;\ndelay[10dt] q[0];\n", 3, 9, "unit 'dt'"),
    ("OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[2] q;\nfoo q[0];\n", 4, 1, "undefined gate 'foo'"),
    ("OPENQASM 3.0;\nqubit[2] q;\nint x = 3;\n", 3, 1, "classical variables"),
    ("OPENQASM 3.0;\nqubit[2] q;\nlet r = q[0];\n", 3, 1, "'let'"),
    ("// a comment\nOPENQASM 3;\nqubit[2] q;\ncx q[0], q[5];\n", 4, None, "out of range"),
])
def test_errors_name_line_and_column(program: str, line: int, column: int | None, message: str) -> None:
    with pytest.raises(QasmError, match=message) as info:
        qasm.loads(program)
    assert info.value.line == line
    if column is not None:
        assert info.value.column == column


def test_the_qasm2_limits_apply_to_qasm3_programs() -> None:
    with pytest.raises(QasmLimitError):
        qasm.loads("OPENQASM 3.0;\nqubit[50] q;\n", limits=ParseLimits(max_qubits=20))
    with pytest.raises(QasmLimitError):
        qasm.loads("OPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[4] q;\nh q;\nh q;\nh q;\n",
                   limits=ParseLimits(max_operations=8))


def test_a_comment_before_the_version_line_still_selects_version_3() -> None:
    text = "/* made by hand */\n// second\nOPENQASM 3.0;\ninclude \"stdgates.inc\";\nqubit[1] q;\nh q[0];\n"
    assert qasm.loads(text).count_ops() == {"h": 1}


def test_native_api_and_client_take_qasm3_in_the_qasm_field(tmp_path_factory: pytest.TempPathFactory,
                                                             request: pytest.FixtureRequest) -> None:
    server = shared_server(tmp_path_factory, request)
    qc = QuantumCircuit(2, 2)
    qc.x(0)
    qc.delay(100, 1, unit="ns")
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    text = qasm3.dumps(qc)
    with server.client() as http:
        created = http.post("/jobs", json={"qasm": text, "backend": "sim", "shots": 50, "seed": 1})
        assert created.status_code == 201, created.text
        job = http.get(f"/jobs/{created.json()['id']}", params={"wait": 60}).json()
        refused = http.post("/jobs", json={"qasm": text.replace("cx q[0], q[1];", "while (c[0]) {\n  x q[1];\n}"),
                                           "backend": "sim"})
    assert job["status"] == "DONE" and job["result"]["counts"] == {"11": 50}
    assert refused.status_code == 400 and refused.json()["line"] > 1 and "'while'" in refused.json()["detail"]
    with Client(server.url, token=server.token) as client:
        result = client.run(text, backend="sim", shots=20, seed=2).result(timeout=WAIT_S)
    assert not isinstance(result, list) and result.counts == {"11": 20}
