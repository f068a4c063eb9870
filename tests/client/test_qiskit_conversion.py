"""The Qiskit adapter's pure parts: Target from a backend description, export to Xihe's OpenQASM 2, and Xihe ->
Qiskit bit order."""

from __future__ import annotations

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit, Parameter
from qiskit.result import Result as QiskitResult

from xihe import qasm
from xihe.circuit import IfElse
from xihe.client import BackendInfo
from xihe.qiskit import ExportError, _experiment, export_circuit, fits_target, target_from_backend
from xihe.results import Result

LINE = {
    "name": "line10",
    "kind": "twin",
    "num_qubits": 10,
    "status": "online",
    "native_gates": ["cx", "rx", "ry", "rz", "h"],
    "coupling_map": [[i, i + 1] for i in range(1, 9)],
    "working_qubits": list(range(10)),
}


def test_target_has_native_gates_on_working_qubits_and_directed_couplings() -> None:
    target = target_from_backend(BackendInfo.from_json(LINE | {"working_qubits": list(range(1, 10))}))
    assert {"cx", "rx", "ry", "rz", "h", "measure"} <= set(target.operation_names)
    assert set(target["cx"]) == {(i, i + 1) for i in range(1, 9)}
    assert (0,) not in target["rx"] and (1,) in target["rx"]


PROPERTIES = {
    "measure_duration_ns": 1500.0,
    "qubits": [{"qubit": 1, "label": "Q0102", "t1_us": 15.2, "t2_us": 20.0, "frequency_ghz": 4.5,
                "readout_error": [0.02, 0.04]}],
    "gates": {"cx": [[[1, 2], 60.0, 0.004]], "rx": [[[1], 35.0, 0.001]]},
}


def test_target_takes_errors_durations_and_qubit_properties_from_the_server() -> None:
    target = target_from_backend(BackendInfo.from_json(LINE | {"properties": PROPERTIES, "max_circuits": 1000}))
    assert abs(target["cx"][(1, 2)].error - 0.004) < 1e-12
    assert abs(target["cx"][(1, 2)].duration - 60e-9) < 1e-15
    assert abs(target["rx"][(1,)].duration - 35e-9) < 1e-15 and abs(target["rx"][(1,)].error - 1e-3) < 1e-12
    assert target["cx"][(2, 3)] is None
    assert abs(target["measure"][(1,)].error - 0.03) < 1e-12
    assert abs(target["measure"][(1,)].duration - 1.5e-6) < 1e-15
    props = target.qubit_properties[1]
    assert (props.t1, props.t2, props.frequency) == pytest.approx((15.2e-6, 20e-6, 4.5e9))
    assert target.qubit_properties[0].t1 is None
    assert target.dt == 1e-9
    assert {"reset", "if_else", "delay"} <= set(target.operation_names)


def test_crz_is_not_treated_as_symmetric() -> None:
    target = target_from_backend(BackendInfo.from_json(LINE | {"native_gates": ["crz", "cz", "rx"]}))
    assert (2, 1) not in target["crz"] and (1, 2) in target["crz"]
    assert (2, 1) in target["cz"]


def test_transpiled_circuit_fits_target_and_raw_one_does_not() -> None:
    target = target_from_backend(BackendInfo.from_json(LINE))
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.cx(0, 2)
    qc.x(1)
    qc.measure(range(3), range(3))
    assert not fits_target(qc, target)
    assert fits_target(transpile(qc, target=target, seed_transpiler=3), target)


def test_counts_and_memory_convert_to_qiskit_bit_order_across_registers() -> None:
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "a"), ClassicalRegister(1, "b"))
    qc.measure(range(3), range(3))
    # Xihe key: a[0] a[1] b[0], leftmost first. Qiskit: "b0 a1a0".
    result = Result(counts={"010": 5, "111": 7}, shots=12, memory=["010"] * 5 + ["111"] * 7)
    experiment = _experiment(qc, result, export_circuit(qc).positions, memory=True)
    qiskit_result = QiskitResult.from_dict(
        {"backend_name": "x", "backend_version": "1", "job_id": "j", "qobj_id": "q", "success": True,
         "results": [experiment]}
    )
    assert qiskit_result.get_counts() == {"0 10": 5, "1 11": 7}
    assert qiskit_result.get_memory()[:1] == ["0 10"] and qiskit_result.get_memory()[-1] == "1 11"


def test_delay_is_exported_with_its_unit_in_ns_and_parses() -> None:
    qc = QuantumCircuit(2)
    qc.delay(2, 0, unit="us")
    qc.delay(30, 1)  # dt, 1 ns on Xihe
    qc.delay(15, 0, unit="ns")
    text = export_circuit(qc).qasm
    assert "opaque" not in text
    assert "delay(2000.0ns) q[0];" in text and "delay(30.0ns) q[1];" in text and "delay(15.0ns) q[0];" in text
    assert [op.gate.params[0] for op in qasm.loads(text).operations] == [2000.0, 30.0, 15.0]


def test_bit_condition_with_else_is_sent_as_one_openqasm3_block() -> None:
    qc = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(2, "c"))
    qc.measure(0, 1)
    with qc.if_test((qc.clbits[1], 1)) as otherwise:
        qc.x(1)
    with otherwise:
        qc.h(1)
    exported = export_circuit(qc)
    assert exported.qasm.startswith("OPENQASM 3.0;") and exported.positions == [0, 1]
    assert "if (c[1]) {\n  x q[1];\n} else {\n  h q[1];\n}" in exported.qasm
    block = qasm.loads(exported.qasm).operations[1]
    assert isinstance(block, IfElse) and (block.test_bits, block.value) == ((1,), 1)
    assert [op.gate.name for op in block.false_body] == ["h"]


def test_bit_condition_in_a_wide_register_keeps_the_register_and_clbit_numbering() -> None:
    qc = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(8, "c"))
    qc.measure(0, 5)
    with qc.if_test((qc.clbits[5], 0)):
        qc.x(1)
    exported = export_circuit(qc)
    assert "bit[8] c;" in exported.qasm and "if (!c[5]) {" in exported.qasm
    assert exported.positions == list(range(8))


def test_register_condition_with_else_and_nested_blocks_that_write_their_condition() -> None:
    qc = QuantumCircuit(QuantumRegister(2, "q"), ClassicalRegister(2, "m"))
    with qc.if_test((qc.cregs[0], 2)) as otherwise:
        qc.x(0)
        qc.measure(0, 1)  # writes the register of its own condition: fine, it is read once
        with qc.if_test((qc.clbits[1], 1)):
            qc.z(1)
    with otherwise:
        qc.z(0)
    parsed = qasm.loads(export_circuit(qc).qasm)
    block = parsed.operations[0]
    assert isinstance(block, IfElse) and (block.test_bits, block.value, block.register) == ((0, 1), 2, "m")
    assert isinstance(block.true_body[2], IfElse) and [op.gate.name for op in block.false_body] == ["z"]


def test_for_loops_are_sent_and_unrolled_by_xihe() -> None:
    qc = QuantumCircuit(1, 1)
    with qc.for_loop(range(3)) as i:
        qc.rx(0.5 * i, 0)
    qc.measure(0, 0)
    parsed = qasm.loads(export_circuit(qc).qasm)
    assert [op.gate.params for op in parsed.operations if op.gate.name == "rx"] == [(0.0,), (0.5,), (1.0,)]


def test_loose_clbits_get_registers_and_counts_convert() -> None:
    loose = [Clbit(), Clbit()]
    qc = QuantumCircuit(QuantumRegister(3, "q"), loose[:1], ClassicalRegister(1, "r"), loose[1:])
    qc.measure([0, 1, 2], [0, 1, 2])
    exported = export_circuit(qc)
    # Registers first (r holds clbit 1), then the loose bits in circuit order.
    assert exported.positions == [1, 0, 2]
    result = Result(counts={"100": 3}, shots=3)  # r=1, clbit0=0, clbit2=0
    experiment = _experiment(qc, result, exported.positions, memory=False)
    qiskit_result = QiskitResult.from_dict(
        {"backend_name": "x", "backend_version": "1", "job_id": "j", "qobj_id": "q", "success": True,
         "results": [experiment]}
    )
    # Clbit 1 set: 0x2. (Qiskit's own get_counts formats by creg_sizes and shows loose bits as Aer does.)
    assert qiskit_result.results[0].data.counts == {"0x2": 3}


def test_initialize_is_unrolled_to_reset_and_gates() -> None:
    qc = QuantumCircuit(1, 1)
    qc.initialize([0.6, 0.8], 0)
    qc.measure(0, 0)
    parsed = qasm.loads(export_circuit(qc).qasm)
    assert parsed.count_ops()["reset"] == 1 and "initialize" not in parsed.count_ops()


@pytest.mark.parametrize("case", ["while_loop", "switch", "unbound_parameter"])
def test_circuits_xihe_cannot_run_are_refused_before_submit(case: str) -> None:
    qc = QuantumCircuit(2, 2)
    if case == "while_loop":
        with qc.while_loop((qc.clbits[0], 1)):
            qc.x(0)
            qc.measure(0, 0)
    elif case == "switch":
        with qc.switch(qc.clbits[0]) as case_, case_(0):
            qc.x(0)
    else:
        qc.rx(Parameter("theta"), 0)
    with pytest.raises(ExportError):
        export_circuit(qc)
