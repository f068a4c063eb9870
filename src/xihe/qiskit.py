"""Qiskit adapter: a Xihe backend as a Qiskit ``BackendV2`` (needs the optional extra ``xihe[qiskit]``).

Example::

    from qiskit import QuantumCircuit, transpile
    from xihe.client import Client
    from xihe.qiskit import XiheProvider

    backend = XiheProvider(Client()).get_backend("line10")
    qc = QuantumCircuit(2, 2); qc.h(0); qc.cx(0, 1); qc.measure([0, 1], [0, 1])
    counts = backend.run(transpile(qc, backend), shots=1000).result().get_counts()

The backend's :class:`~qiskit.transpiler.Target` is built from the device the server describes (native gates,
working qubits, directed couplings, and gate errors and durations from its calibration where the server gives
them). Circuits travel as OpenQASM 2. A circuit that already fits the Target runs verbatim; any other circuit is
compiled by Xihe for the device. Counts come back in Qiskit's bit order (clbit 0 rightmost, registers separated
by spaces, last register leftmost), converted from Xihe's ``c0_leftmost`` keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qiskit import qasm2
from qiskit.circuit import Delay, Gate, Measure, QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.result import Result as QiskitResult
from qiskit.transpiler import InstructionProperties, Target

from xihe.client import BackendInfo, Client, Job
from xihe.results import Result

_STATUS = {
    "QUEUED": JobStatus.QUEUED,
    "RUNNING": JobStatus.RUNNING,
    "DONE": JobStatus.DONE,
    "FAILED": JobStatus.ERROR,
    "CANCELLED": JobStatus.CANCELLED,
}
# Instructions that are never "gates" of a device but that a circuit may carry through OpenQASM 2.
_ALWAYS_ALLOWED = frozenset({"barrier"})


class XiheProvider:
    """Entry point: the backends of one Xihe server as Qiskit backends."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client if client is not None else Client()

    def backends(self, name: str | None = None) -> list[XiheBackend]:
        infos = self.client.backends()
        return [XiheBackend(self, self.client.backend(info.name)) for info in infos if name in (None, info.name)]

    def get_backend(self, name: str) -> XiheBackend:
        """The backend ``name`` (with its current calibration) as a Qiskit ``BackendV2``."""
        return XiheBackend(self, self.client.backend(name))


class XiheBackend(BackendV2):
    """One Xihe backend; ``run`` submits Qiskit circuits as one Xihe job (a list makes one batch job)."""

    def __init__(self, provider: XiheProvider, info: BackendInfo) -> None:
        super().__init__(provider=provider, name=info.name, description=f"Xihe {info.kind} backend {info.name}")
        self.info = info
        self._client = provider.client
        self._target = target_from_backend(info)

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> int | None:
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, seed_simulator=None, memory=False, compile=None, optimization_level=2)

    def run(self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any) -> XiheJob:
        """Submit one circuit or a list; options: shots, seed_simulator, memory, compile, optimization_level."""
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        known = set(self.options.__dict__) | {"meas_level"}
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown run options for {self.name}: {', '.join(sorted(unknown))}")
        if options.get("meas_level", 2) != 2:
            raise ValueError("Xihe returns classified measurement outcomes only (meas_level=2)")
        merged = {key: options.get(key, getattr(self.options, key)) for key in self.options.__dict__}
        compile_flag = merged["compile"]
        if compile_flag is None:
            compile_flag = not all(fits_target(c, self._target) for c in circuits)
        qasm = [qasm2.dumps(c) for c in circuits]
        job = self._client.run(
            qasm[0] if isinstance(run_input, QuantumCircuit) else qasm,
            backend=self.name,
            shots=int(merged["shots"]),
            seed=merged["seed_simulator"],
            compile=bool(compile_flag),
            optimization_level=int(merged["optimization_level"]),
            memory=bool(merged["memory"]),
        )
        return XiheJob(self, job, circuits, memory=bool(merged["memory"]))


class XiheJob(JobV1):
    """A Qiskit job over a Xihe job; ``result()`` waits and converts to Qiskit's result and bit order."""

    def __init__(self, backend: XiheBackend, job: Job, circuits: list[QuantumCircuit], memory: bool) -> None:
        super().__init__(backend, job.id)
        self.xihe_job = job
        self._circuits = circuits
        self._memory = memory

    def submit(self) -> None:
        raise RuntimeError("a XiheJob is submitted by XiheBackend.run")

    def status(self) -> JobStatus:
        return _STATUS[self.xihe_job.status()]

    def cancel(self) -> None:
        self.xihe_job.cancel()

    def result(self, timeout: float | None = None) -> QiskitResult:
        results = self.xihe_job.result(timeout=timeout)
        items = results if isinstance(results, list) else [results]
        experiments = [
            _experiment(circuit, result, self._memory) for circuit, result in zip(self._circuits, items, strict=True)
        ]
        backend = self.backend()
        return QiskitResult.from_dict(
            {
                "backend_name": backend.name,
                "backend_version": str(backend.backend_version),
                "job_id": self.job_id(),
                "qobj_id": uuid.uuid4().hex,
                "success": True,
                "results": experiments,
            }
        )


def target_from_backend(info: BackendInfo) -> Target:
    """A Qiskit Target for a Xihe backend: native gates on working qubits and couplings, measure and delay."""
    standard = get_standard_gate_name_mapping()
    target = Target(description=info.name, num_qubits=info.num_qubits, dt=None)
    working = list(info.working_qubits) if info.working_qubits is not None else list(range(info.num_qubits))
    properties = _calibrated_properties(info)
    # A simulator lists no couplings: every gate runs on every qubit tuple.
    all_to_all = info.kind == "simulator" or not info.coupling_map
    for name in info.native_gates:
        gate = standard.get(name)
        if not isinstance(gate, Gate) or name in target.operation_names:
            continue  # not a gate Qiskit knows by that name, or measure/reset/delay (added below)
        if all_to_all or info.coupling_map is None:
            target.add_instruction(gate, None, name=name)
            continue
        if gate.num_qubits == 1:
            qargs: Iterable[tuple[int, ...]] = [(q,) for q in working]
        elif gate.num_qubits == 2:
            qargs = sorted(set(info.coupling_map) | _symmetric_pairs(name, info.coupling_map))
        else:
            continue
        target.add_instruction(gate, {q: properties.get((name, tuple(q))) for q in qargs}, name=name)
    if "id" not in info.native_gates and not all_to_all and "id" in standard:
        target.add_instruction(standard["id"], {(q,): None for q in working}, name="id")
    if all_to_all:
        target.add_instruction(Measure(), None)
        target.add_instruction(Delay(0), None)
    else:
        target.add_instruction(Measure(), {(q,): None for q in working})
        target.add_instruction(Delay(0), {(q,): None for q in working})
    return target


_SYMMETRIC_GATES = frozenset({"cz", "swap", "rzz", "iswap", "cp", "crz"})


def _symmetric_pairs(name: str, coupling: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """A symmetric two-qubit gate (CZ...) works either way round on a coupled pair."""
    if name not in _SYMMETRIC_GATES:
        return set()
    return {(b, a) for a, b in coupling}


def _calibrated_properties(info: BackendInfo) -> dict[tuple[str, tuple[int, ...]], InstructionProperties]:
    """Errors and durations per (gate, qubits) from the backend's calibration (Quafu chip-info data).

    Physical qubits are numbered by the order of ``all_qubits_info`` (DESIGN.md); a coupler's fidelity gives its
    two-qubit gate's error, ``single_qubit_gate_duration`` (ns) the duration of each one-qubit native gate.
    """
    calibration = info.calibration or {}
    data = calibration.get("data", calibration)
    if not isinstance(data, Mapping) or "all_qubits_info" not in data:
        return {}
    index = {name: i for i, name in enumerate(data["all_qubits_info"])}
    found: dict[tuple[str, tuple[int, ...]], InstructionProperties] = {}
    for name, fields in (data.get("qubits_info") or {}).items():
        if name not in index or not isinstance(fields, Mapping):
            continue
        duration = fields.get("single_qubit_gate_duration")
        for gate in info.native_gates:
            found[(gate, (index[name],))] = InstructionProperties(
                duration=float(duration) * 1e-9 if duration is not None else None
            )
    for pair, gates in (data.get("topological_structure") or {}).items():
        a, _, b = str(pair).partition("_")
        if a not in index or b not in index or not isinstance(gates, Mapping):
            continue
        for gate, fields in gates.items():
            fidelity = fields.get("fidelity") if isinstance(fields, Mapping) else None
            if not fidelity:
                continue
            props = InstructionProperties(error=max(0.0, 1.0 - float(fidelity)))
            found[(str(gate).lower(), (index[a], index[b]))] = props
            if str(gate).lower() in _SYMMETRIC_GATES:
                found[(str(gate).lower(), (index[b], index[a]))] = props
    return found


def fits_target(circuit: QuantumCircuit, target: Target) -> bool:
    """Whether every instruction of ``circuit`` is in ``target`` on its qubits (an ISA circuit)."""
    if circuit.num_qubits > target.num_qubits:
        return False
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in _ALWAYS_ALLOWED:
            continue
        qargs = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        if not target.instruction_supported(name, qargs):
            return False
    return True


def xihe_key_to_qiskit_int(circuit: QuantumCircuit) -> list[int]:
    """For each position of a Xihe count key, the Qiskit clbit index it holds.

    Xihe keys list the bits of the OpenQASM registers in declaration order, bit 0 of the first register leftmost;
    Qiskit numbers clbits by their index in the circuit. ``qasm2.dumps`` declares the circuit's registers in
    ``circuit.cregs`` order.
    """
    return [circuit.find_bit(bit).index for register in circuit.cregs for bit in register]


def _to_hex(key: str, positions: Sequence[int]) -> str:
    value = 0
    for char, index in zip(key, positions, strict=True):
        if char == "1":
            value |= 1 << index
    return hex(value)


def _experiment(circuit: QuantumCircuit, result: Result, memory: bool) -> dict[str, Any]:
    positions = xihe_key_to_qiskit_int(circuit)
    counts: dict[str, int] = {}
    for key, n in result.counts.items():
        hex_key = _to_hex(key, positions)
        counts[hex_key] = counts.get(hex_key, 0) + n
    data: dict[str, Any] = {"counts": counts}
    if memory:
        if result.memory is None:
            raise RuntimeError("the server returned no per-shot memory although memory=True was asked for")
        data["memory"] = [_to_hex(key, positions) for key in result.memory]
    header: Mapping[str, Any] = {
        "name": circuit.name,
        "creg_sizes": [[register.name, register.size] for register in circuit.cregs],
        "memory_slots": circuit.num_clbits,
        "n_qubits": circuit.num_qubits,
        "metadata": dict(circuit.metadata or {}),
    }
    return {
        "shots": result.shots,
        "success": True,
        "data": data,
        "header": dict(header),
        "meas_level": 2,
        "status": "DONE",
    }
