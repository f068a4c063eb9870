"""The statevector benchmark's peers: Xihe circuits converted for Qiskit Aer, qsim (via Cirq) and qulacs.

Each runner takes a Xihe :class:`~xihe.circuit.Circuit` made of ``u3``, ``cx``, ``h``, ``cp``, ``swap`` (what the
benchmark circuits use), builds the peer's own circuit outside the timed region, and returns
``(seconds, final state in Xihe's big-endian order or None)``. Every peer runs with the same thread count.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import numpy as np

from xihe.circuit import Circuit

Runner = Callable[[Circuit, int, bool], tuple[float, np.ndarray | None]]


def _little_to_big(state: np.ndarray, n: int) -> np.ndarray:
    return np.ascontiguousarray(state.reshape([2] * n).transpose(list(range(n))[::-1])).reshape(-1)


def run_xihe(qc: Circuit, threads: int, keep_state: bool) -> tuple[float, np.ndarray | None]:
    from xihe.engines import simulate, warm

    warm()
    t0 = time.perf_counter()
    result = simulate(qc, shots=0, engine="statevector")
    elapsed = time.perf_counter() - t0
    run_xihe.metadata = result.metadata  # type: ignore[attr-defined]
    return elapsed, result.statevector if keep_state else None


def run_aer(qc: Circuit, threads: int, keep_state: bool) -> tuple[float, np.ndarray | None]:
    import qiskit.qasm2
    from qiskit_aer import AerSimulator

    from xihe import qasm

    qk = qiskit.qasm2.loads(qasm.dumps(qc), custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    qk.save_statevector()  # type: ignore[attr-defined]
    sim = AerSimulator(method="statevector", precision="double", max_parallel_threads=threads)
    t0 = time.perf_counter()
    result = sim.run(qk, shots=1).result()
    state = result.get_statevector()
    elapsed = time.perf_counter() - t0
    return elapsed, _little_to_big(np.asarray(state), qc.num_qubits) if keep_state else None


def _cirq_circuit(qc: Circuit):  # type: ignore[no-untyped-def]
    import cirq

    from xihe.circuit.protocols import unitary

    qubits = cirq.LineQubit.range(qc.num_qubits)
    ops = []
    for op in qc.operations:
        name, qs = op.gate.name, [qubits[q] for q in op.qubits]
        if name == "cx":
            ops.append(cirq.CNOT(*qs))
        elif name == "h":
            ops.append(cirq.H(*qs))
        elif name == "x":
            ops.append(cirq.X(*qs))
        elif name == "swap":
            ops.append(cirq.SWAP(*qs))
        elif name == "cp":
            ops.append(cirq.CZPowGate(exponent=float(op.gate.params[0]) / np.pi)(*qs))  # type: ignore[arg-type]
        elif name in ("measure", "barrier"):
            continue
        else:
            ops.append(cirq.MatrixGate(unitary(op.gate)).on(*qs))
    return cirq.Circuit(ops), qubits


def process_cpu() -> float:
    """CPU seconds of this process so far, all threads (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_qsim(qc: Circuit, threads: int) -> tuple[float, float, np.ndarray]:
    """qsim's ``(wall seconds, CPU seconds, final state)`` on ``qc``, the Cirq translation outside both times."""
    import qsimcirq

    circuit, qubits = _cirq_circuit(qc)
    sim = qsimcirq.QSimSimulator(qsim_options=qsimcirq.QSimOptions(cpu_threads=threads, max_fused_gate_size=4))
    c0, t0 = process_cpu(), time.perf_counter()
    result = sim.simulate(circuit, qubit_order=qubits)
    state = result.final_state_vector
    elapsed, cpu = time.perf_counter() - t0, process_cpu() - c0
    return elapsed, cpu, state


def run_qsim(qc: Circuit, threads: int, keep_state: bool) -> tuple[float, np.ndarray | None]:
    elapsed, _, state = time_qsim(qc, threads)
    return elapsed, np.asarray(state, dtype=np.complex128) if keep_state else None


def run_qulacs(qc: Circuit, threads: int, keep_state: bool) -> tuple[float, np.ndarray | None]:
    from qulacs import QuantumCircuit, QuantumState
    from qulacs.gate import CNOT, SWAP, U3, DenseMatrix, H, X

    n = qc.num_qubits
    circuit = QuantumCircuit(n)
    for op in qc.operations:
        name, qs = op.gate.name, op.qubits
        params = [float(p) for p in op.gate.params]  # type: ignore[arg-type]
        if name == "cx":
            circuit.add_gate(CNOT(qs[0], qs[1]))
        elif name == "h":
            circuit.add_gate(H(qs[0]))
        elif name == "x":
            circuit.add_gate(X(qs[0]))
        elif name == "swap":
            circuit.add_gate(SWAP(qs[0], qs[1]))
        elif name == "u3":
            circuit.add_gate(U3(qs[0], *params))
        elif name == "cp":
            gate = DenseMatrix(qs[1], np.diag([1.0, np.exp(1j * params[0])]))
            gate.add_control_qubit(qs[0], 1)
            circuit.add_gate(gate)
        elif name in ("measure", "barrier"):
            continue
        else:
            raise ValueError(f"no qulacs mapping for {name}")
    state = QuantumState(n)
    t0 = time.perf_counter()
    circuit.update_quantum_state(state)
    elapsed = time.perf_counter() - t0
    return elapsed, _little_to_big(state.get_vector(), n) if keep_state else None


RUNNERS: dict[str, Runner] = {"xihe": run_xihe, "aer": run_aer, "qsim": run_qsim, "qulacs": run_qulacs}
