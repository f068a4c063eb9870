"""The Qiskit adapter's pure parts: Target from a backend description, and Xihe -> Qiskit bit order."""

from __future__ import annotations

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.result import Result as QiskitResult

from xihe.client import BackendInfo
from xihe.qiskit import _experiment, fits_target, target_from_backend
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


def test_target_takes_errors_and_durations_from_quafu_calibration() -> None:
    data = {
        "all_qubits_info": {f"Q01{i:02d}": {} for i in range(1, 11)},
        "qubits_info": {"Q0102": {"T1": 15.2, "single_qubit_gate_duration": 35.0}},
        "topological_structure": {"Q0102_Q0103": {"CX": {"fidelity": 0.996}}},
    }
    target = target_from_backend(BackendInfo.from_json(LINE | {"calibration": {"id": "c1", "data": data}}))
    assert abs(target["cx"][(1, 2)].error - 0.004) < 1e-12
    assert abs(target["rx"][(1,)].duration - 35e-9) < 1e-15
    assert target["cx"][(2, 3)] is None


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
    experiment = _experiment(qc, result, memory=True)
    qiskit_result = QiskitResult.from_dict(
        {"backend_name": "x", "backend_version": "1", "job_id": "j", "qobj_id": "q", "success": True,
         "results": [experiment]}
    )
    assert qiskit_result.get_counts() == {"0 10": 5, "1 11": 7}
    assert qiskit_result.get_memory()[:1] == ["0 10"] and qiskit_result.get_memory()[-1] == "1 11"
