"""Qiskit adapter: a Xihe backend as a Qiskit ``BackendV2`` (needs the optional extra ``xihe[qiskit]``).

Example::

    from qiskit import QuantumCircuit, transpile
    from xihe.client import Client
    from xihe.qiskit import XiheProvider

    backend = XiheProvider(Client()).get_backend("line10")
    qc = QuantumCircuit(2, 2); qc.h(0); qc.cx(0, 1); qc.measure([0, 1], [0, 1])
    counts = backend.run(transpile(qc, backend), shots=1000).result().get_counts()

The backend's :class:`~qiskit.transpiler.Target` is built from the device the server describes (native gates,
working qubits, directed couplings, gate and measure errors and durations, T1/T2/frequency, ``dt`` = 1 ns, reset,
delay and ``if_else``). Circuits travel as Xihe's OpenQASM 2 (:func:`export_circuit`). A circuit that already fits
the Target runs verbatim; any other circuit is compiled by Xihe for the device. Counts come back in Qiskit's bit
order (clbit 0 rightmost, registers separated by spaces, last register leftmost), converted from Xihe's
``c0_leftmost`` keys.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qiskit import qasm2, qasm3
from qiskit.circuit import (
    ClassicalRegister,
    Clbit,
    ControlFlowOp,
    Delay,
    ForLoopOp,
    Gate,
    IfElseOp,
    Instruction,
    Measure,
    QuantumCircuit,
    QuantumRegister,
    Qubit,
    Reset,
)
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.providers import BackendV2, JobStatus, JobV1, Options, QubitProperties
from qiskit.qasm2 import QASM2ExportError
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


# Qiskit's V2 primitives (``EstimatorV2``, ``SamplerV2``) live in :mod:`xihe.qiskit_primitives`, which builds on
# this module; they are offered here, where an IBM user looks for them, without a circular import.
_PRIMITIVES = frozenset({"EstimatorV2", "SamplerV2", "EstimatorOptions", "SamplerOptions"})


def __getattr__(name: str) -> Any:
    if name in _PRIMITIVES:
        return getattr(importlib.import_module("xihe.qiskit_primitives"), name)
    raise AttributeError(f"module 'xihe.qiskit' has no attribute '{name}'")


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

    def __repr__(self) -> str:
        """As Qiskit's backends print (``<IBMBackend('ibm_brisbane')>``), with what tells Xihe's apart: the size,
        the kind (simulator, twin, device) and the server."""
        return f"<XiheBackend({self.name!r}, {self.info.num_qubits} qubits, {self.info.kind}, {self._client.url})>"

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> int:
        """The server's cap on circuits per job; ``run`` splits longer lists into several jobs."""
        value = self.info.raw.get("max_circuits")
        return int(value) if value else DEFAULT_MAX_CIRCUITS

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, seed_simulator=None, memory=False, compile=None, optimization_level=2,
                       precision="double", dynamical_decoupling=None)

    def run(self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any) -> XiheJob:
        """Submit one circuit or a list; options: shots, seed_simulator, memory, compile, optimization_level,
        precision (``"single"``: complex64 simulation, as Aer's ``precision`` option), dynamical_decoupling
        (``"XY4"``, ``"CPMG"`` or None: refocusing pulses in long idle windows on twins).

        A list longer than :attr:`max_circuits` becomes several Xihe jobs behind one Qiskit job. Every circuit is
        exported (:func:`export_circuit`) before anything is submitted, so a circuit Xihe cannot run fails here.
        """
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        if not circuits:
            raise ValueError("run needs at least one circuit")
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
        exported = [export_circuit(c) for c in circuits]
        seed = merged["seed_simulator"]
        jobs = []
        for start in range(0, len(exported), self.max_circuits):
            chunk = [e.qasm for e in exported[start:start + self.max_circuits]]
            jobs.append(self._client.run(
                chunk[0] if isinstance(run_input, QuantumCircuit) else chunk,
                backend=self.name,
                shots=merged["shots"],
                # Each job of a split run gets its own seed, so chunks do not repeat each other's samples.
                seed=None if seed is None else int(seed) + start,
                compile=bool(compile_flag),
                optimization_level=int(merged["optimization_level"]),
                memory=bool(merged["memory"]),
                precision=str(merged["precision"]),
                dynamical_decoupling=merged["dynamical_decoupling"],
            ))
        return XiheJob(self, jobs, circuits, [e.positions for e in exported], memory=bool(merged["memory"]))


class XiheJob(JobV1):
    """A Qiskit job over one Xihe job (or several, for a list longer than the backend's ``max_circuits``);
    ``result()`` waits and converts to Qiskit's result and bit order."""

    def __init__(self, backend: XiheBackend, jobs: list[Job], circuits: list[QuantumCircuit],
                 positions: list[list[int]], memory: bool) -> None:
        super().__init__(backend, ",".join(job.id for job in jobs))
        self.xihe_jobs = jobs
        self._circuits = circuits
        self._positions = positions
        self._memory = memory

    @property
    def xihe_job(self) -> Job:
        """The first (usually the only) Xihe job."""
        return self.xihe_jobs[0]

    def submit(self) -> None:
        raise RuntimeError("a XiheJob is submitted by XiheBackend.run")

    def status(self) -> JobStatus:
        statuses = [_STATUS[job.status()] for job in self.xihe_jobs]
        for status in (JobStatus.ERROR, JobStatus.CANCELLED, JobStatus.RUNNING, JobStatus.QUEUED):
            if status in statuses:
                return status
        return JobStatus.DONE

    def cancel(self) -> None:
        for job in self.xihe_jobs:
            job.cancel()

    def queue_position(self, refresh: bool = True) -> int | None:
        """Jobs ahead of this one on its backend (of the first Xihe job still queued); None once none is queued.
        ``refresh`` is accepted for qiskit-ibm-runtime compatibility: the position is always read fresh."""
        for job in self.xihe_jobs:
            info = job.refresh()
            if info.status == "QUEUED":
                return info.queue_position
        return None

    def metrics(self) -> dict[str, Any]:
        """As qiskit-ibm-runtime's ``RuntimeJob.metrics()``: timestamps (ISO), usage in seconds of execution,
        circuit count and, while queued, the position."""
        infos = [job.refresh() for job in self.xihe_jobs]
        created = [i.created_at for i in infos if i.created_at is not None]
        started = [i.started_at for i in infos if i.started_at is not None]
        finished = [i.finished_at for i in infos if i.finished_at is not None]
        seconds = sum((i.finished_at - i.started_at).total_seconds() for i in infos
                      if i.started_at is not None and i.finished_at is not None)
        return {
            "timestamps": {
                "created": min(created).isoformat() if created else None,
                "running": min(started).isoformat() if started else None,
                "finished": max(finished).isoformat() if len(finished) == len(infos) else None,
            },
            "usage": {"seconds": seconds, "quantum_seconds": seconds},
            "num_circuits": sum(i.num_circuits for i in infos),
            "position_in_queue": next((i.queue_position for i in infos if i.status == "QUEUED"), None),
            "xihe_job_ids": [i.id for i in infos],
        }

    def result(self, timeout: float | None = None) -> QiskitResult:
        items: list[Result] = []
        for job in self.xihe_jobs:
            results = job.result(timeout=timeout)
            items.extend(results if isinstance(results, list) else [results])
        experiments = [
            _experiment(circuit, result, positions, self._memory)
            for circuit, result, positions in zip(self._circuits, items, self._positions, strict=True)
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


# Xihe's IR counts time in ns; a delay in Qiskit's ``dt`` units is that many ns.
DT_SECONDS = 1e-9
# The server's cap on circuits per job when it does not say (``XIHE_MAX_CIRCUITS_PER_JOB``'s default).
DEFAULT_MAX_CIRCUITS = 1000


def target_from_backend(info: BackendInfo) -> Target:
    """A Qiskit Target for a Xihe backend: native gates on working qubits and couplings, measure, reset, delay and
    ``if_else``, with errors, durations and qubit properties from the server's view of the device (``properties``
    in the backend detail: T1, T2, frequency, readout error, gate errors and durations in its physical numbering).
    """
    standard = get_standard_gate_name_mapping()
    properties = info.raw.get("properties") if isinstance(info.raw.get("properties"), Mapping) else None
    working = list(info.working_qubits) if info.working_qubits is not None else list(range(info.num_qubits))
    target = Target(description=info.name, num_qubits=info.num_qubits, dt=DT_SECONDS,
                    qubit_properties=_qubit_properties(info.num_qubits, properties))
    gate_props = _gate_properties(properties)
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
        target.add_instruction(gate, {q: gate_props.get((name, tuple(q))) for q in qargs}, name=name)
    if "id" not in info.native_gates and not all_to_all and "id" in standard:
        target.add_instruction(standard["id"], {(q,): None for q in working}, name="id")
    if all_to_all:
        target.add_instruction(Measure(), None)
        target.add_instruction(Reset(), None)
        target.add_instruction(Delay(0), None)
    else:
        target.add_instruction(Measure(), {(q,): _measure_properties(q, properties) for q in working})
        target.add_instruction(Reset(), {(q,): None for q in working})
        target.add_instruction(Delay(0), {(q,): None for q in working})
    target.add_instruction(IfElseOp, name="if_else")
    target.add_instruction(ForLoopOp, name="for_loop")  # unrolled by Xihe's OpenQASM 3 reader
    return target


def _qubit_properties(num_qubits: int, properties: Mapping[str, Any] | None) -> list[QubitProperties] | None:
    """T1 and T2 (s) and frequency (Hz) per physical qubit; empty properties for dead qubits."""
    if properties is None:
        return None
    out = [QubitProperties() for _ in range(num_qubits)]
    for item in properties.get("qubits") or ():
        q = int(item["qubit"])
        if not 0 <= q < num_qubits:
            continue
        t1, t2, freq = item.get("t1_us"), item.get("t2_us"), item.get("frequency_ghz")
        out[q] = QubitProperties(t1=float(t1) * 1e-6 if t1 is not None else None,
                                 t2=float(t2) * 1e-6 if t2 is not None else None,
                                 frequency=float(freq) * 1e9 if freq is not None else None)
    return out


def _gate_properties(properties: Mapping[str, Any] | None) -> dict[tuple[str, tuple[int, ...]], InstructionProperties]:
    """Error and duration (s) per (gate, qubits) as the server's Target has them."""
    found: dict[tuple[str, tuple[int, ...]], InstructionProperties] = {}
    for name, rows in ((properties or {}).get("gates") or {}).items():
        for qubits, duration_ns, error in rows:
            found[(str(name), tuple(int(q) for q in qubits))] = InstructionProperties(
                duration=float(duration_ns) * 1e-9, error=float(error))
    return found


def _measure_properties(qubit: int, properties: Mapping[str, Any] | None) -> InstructionProperties | None:
    """Measurement duration and error (the mean of P(1|0) and P(0|1)) of one qubit."""
    if properties is None:
        return None
    duration = properties.get("measure_duration_ns")
    for item in properties.get("qubits") or ():
        if int(item["qubit"]) == qubit and item.get("readout_error") is not None:
            p10, p01 = item["readout_error"]
            return InstructionProperties(duration=float(duration) * 1e-9 if duration else None,
                                         error=(float(p10) + float(p01)) / 2)
    return InstructionProperties(duration=float(duration) * 1e-9 if duration else None)


_SYMMETRIC_GATES = frozenset({"cz", "swap", "rzz", "iswap", "cp"})


def _symmetric_pairs(name: str, coupling: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """A symmetric two-qubit gate (CZ...) works either way round on a coupled pair."""
    if name not in _SYMMETRIC_GATES:
        return set()
    return {(b, a) for a, b in coupling}


def fits_target(circuit: QuantumCircuit, target: Target) -> bool:
    """Whether every instruction of ``circuit`` is in ``target`` on its qubits (an ISA circuit), inside control-flow
    blocks too."""
    if circuit.num_qubits > target.num_qubits:
        return False
    return _fits(circuit, [circuit.find_bit(q).index for q in circuit.qubits], target)


def _fits(circuit: QuantumCircuit, physical: list[int], target: Target) -> bool:
    where = {bit: physical[i] for i, bit in enumerate(circuit.qubits)}
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.name in _ALWAYS_ALLOWED:
            continue
        qargs = tuple(where[q] for q in instruction.qubits)
        if not target.instruction_supported(operation.name, qargs):
            return False
        if isinstance(operation, ControlFlowOp):
            for block in operation.blocks:
                if not _fits(block, list(qargs), target):
                    return False
    return True


class ExportError(ValueError):
    """A Qiskit circuit that Xihe's OpenQASM 2 dialect cannot carry; raised before anything is submitted."""


@dataclass(frozen=True)
class Exported:
    """A circuit as Xihe reads it: OpenQASM 2 text, and for each position of a count key the Qiskit clbit index."""

    qasm: str
    positions: list[int]


# Instructions that wrap gates and are unrolled before export (Qiskit writes them as gate definitions then).
_UNROLL = frozenset({"initialize", "state_preparation"})
_DELAY_LINE = re.compile(r"^(if \([^)]*\) )?delay(?:_\d+)?\(([^)]+)\) ", re.MULTILINE)


_OPAQUE_DELAY = re.compile(r"opaque delay(?:_\d+)?\(param0\) q0;$")


def export_circuit(circuit: QuantumCircuit, *, keep_parameters: bool = False) -> Exported:
    """The text Xihe reads for a Qiskit circuit: OpenQASM 2, or OpenQASM 3 with control flow or parameters.

    - A circuit with ``if_test``/``if_else`` blocks (on a bit or a register, nested, with measurements and resets
      inside) or ``for_loop`` over ranges is written by ``qiskit.qasm3.dumps`` (:func:`_export3`); Xihe reads
      the blocks as blocks, so they run exactly as Qiskit means them. Its bits are first put in registers (a bit
      in no register, or already in an earlier one, gets a one-bit register of its own). Count keys are mapped
      back, so the result keeps Qiskit's clbit numbering.
    - ``delay`` is written with its unit in ns (``delay(100.0ns) q[0];`` / ``delay[100.0ns]``).
    - ``initialize`` is unrolled to ``reset`` and gates.
    Anything else Xihe cannot run (``while``, ``switch``, classical expressions) raises :class:`ExportError`
    naming it. Free parameters are refused unless ``keep_parameters`` (the primitives send them, with names valid
    in OpenQASM, and bind them on the server).
    """
    if circuit.parameters and not keep_parameters:
        names = ", ".join(sorted(p.name for p in circuit.parameters))
        raise ExportError(f"circuit '{circuit.name}' has unbound parameters ({names}); bind them "
                          "(assign_parameters) before run")
    circuit = _unroll(circuit)
    if any(isinstance(i.operation, ControlFlowOp) for i in circuit.data):
        return _export3(circuit)
    layout = _classical_layout(circuit)
    registers = [ClassicalRegister(len(bits), name) for name, bits in layout.items()]
    flat = QuantumCircuit(QuantumRegister(circuit.num_qubits, "q"), *registers, name=circuit.name)
    bit_of = {bit: new for register, bits in zip(registers, layout.values(), strict=True)
              for bit, new in zip(bits, register, strict=True)}
    qubit_of = dict(zip(circuit.qubits, flat.qubits, strict=True))
    for instruction in circuit.data:
        operation = instruction.operation
        qubits = [qubit_of[q] for q in instruction.qubits]
        clbits = [bit_of[c] for c in instruction.clbits]
        flat.append(_exportable(operation), qubits, clbits)  # no control flow here: _export3 takes that
    positions = [circuit.find_bit(bit).index for bits in layout.values() for bit in bits]
    if flat.parameters:  # OpenQASM 2 has no free parameters; Xihe reads OpenQASM 3's ``input float`` ones
        return Exported(qasm3.dumps(flat), positions)
    try:
        text = qasm2.dumps(flat)
    except QASM2ExportError as exc:
        raise ExportError(f"circuit '{circuit.name}' cannot be sent to Xihe: {exc}") from exc
    text = "\n".join(line for line in text.splitlines() if not _OPAQUE_DELAY.match(line))
    return Exported(_DELAY_LINE.sub(lambda m: f"{m.group(1) or ''}delay({m.group(2)}ns) ", text) + "\n",
                    positions)


def _export3(circuit: QuantumCircuit) -> Exported:
    """A circuit with control flow as OpenQASM 3, on one qubit register ``q`` and classical registers only."""
    layout = _classical_layout(circuit)
    registers = [ClassicalRegister(len(bits), name) for name, bits in layout.items()]
    flat = QuantumCircuit(QuantumRegister(circuit.num_qubits, "q"), *registers, name=circuit.name)
    bit_of = {bit: new for register, bits in zip(registers, layout.values(), strict=True)
              for bit, new in zip(bits, register, strict=True)}
    register_of = {tuple(bits): register for register, bits in zip(registers, layout.values(), strict=True)}
    _copy_into(flat, circuit, dict(zip(circuit.qubits, flat.qubits, strict=True)), bit_of, register_of)
    try:
        text = qasm3.dumps(flat)
    except Exception as exc:  # qiskit.qasm3's QASM3ExporterError, or another error on odd input
        raise ExportError(f"circuit '{circuit.name}' cannot be sent to Xihe as OpenQASM 3: {exc}") from exc
    positions = [circuit.find_bit(bit).index for bits in layout.values() for bit in bits]
    return Exported(text, positions)


def _copy_into(out: QuantumCircuit, source: QuantumCircuit, qubit_of: Mapping[Qubit, Qubit],
               bit_of: Mapping[Clbit, Clbit], register_of: Mapping[tuple[Clbit, ...], ClassicalRegister]) -> None:
    """Append ``source``'s instructions to ``out`` on renamed bits; blocks are rebuilt on the renamed bits."""
    for instruction in source.data:
        operation = instruction.operation
        qubits = [qubit_of[q] for q in instruction.qubits]
        clbits = [bit_of[c] for c in instruction.clbits]
        if isinstance(operation, IfElseOp):
            condition = operation.condition
            if not isinstance(condition, tuple):
                raise ExportError("Xihe reads conditions on one bit or one register compared with a value, not "
                                  f"classical expressions ({condition})")
            target, value = condition
            if isinstance(target, Clbit):
                renamed: tuple[Clbit | ClassicalRegister, int] = (bit_of[target], int(value))
            else:
                register = register_of.get(tuple(bit_of[b] for b in target))
                if register is None:
                    raise ExportError(f"the condition on register '{target.name}' shares bits with another "
                                      "register; give it bits of its own")
                renamed = (register, int(value))
            blocks = [_block(body, qubits, clbits, register_of) for body in operation.blocks]
            out.append(IfElseOp(renamed, *blocks), qubits, clbits)
        elif isinstance(operation, ForLoopOp):
            indexset, parameter, body = operation.params
            out.append(ForLoopOp(indexset, parameter, _block(body, qubits, clbits, register_of)), qubits, clbits)
        elif isinstance(operation, ControlFlowOp):
            raise ExportError(f"Xihe cannot run '{operation.name}' (only if_else blocks and for loops over ranges)")
        else:
            out.append(_exportable(operation), qubits, clbits)


def _block(body: QuantumCircuit, qubits: list[Qubit], clbits: list[Clbit],
           register_of: Mapping[tuple[Clbit, ...], ClassicalRegister]) -> QuantumCircuit:
    """A block's body on the renamed bits (a body lists its bits in the order of its instruction's)."""
    out = QuantumCircuit(qubits, clbits)
    for register in register_of.values():  # a nested condition on a register needs it in the block
        if all(bit in clbits for bit in register):
            out.add_register(register)
    _copy_into(out, body, dict(zip(body.qubits, qubits, strict=True)),
               dict(zip(body.clbits, clbits, strict=True)), register_of)
    return out


def _unroll(circuit: QuantumCircuit) -> QuantumCircuit:
    for _ in range(4):
        if not any(i.operation.name in _UNROLL for i in circuit.data):
            return circuit
        circuit = circuit.decompose(gates_to_decompose=list(_UNROLL))
    raise ExportError("initialize/state_preparation could not be unrolled")


def _exportable(operation: Instruction) -> Instruction:
    """The operation as it is written to Xihe: delays in ns."""
    if isinstance(operation, Delay):
        return Delay(_delay_ns(operation), unit="ns")
    return operation


def _delay_ns(delay: Delay) -> float:
    value = float(delay.duration)
    scale = {"dt": DT_SECONDS * 1e9, "ps": 1e-3, "ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}.get(delay.unit)
    if scale is None:
        raise ExportError(f"a delay in '{delay.unit}' cannot be sent to Xihe; give it in dt, ns, us, ms or s")
    return value * scale


def _classical_layout(circuit: QuantumCircuit) -> dict[str, list[Clbit]]:
    """The registers Xihe gets (name -> the Qiskit clbits they hold, in order): the circuit's registers in order,
    less bits an earlier register already holds; a bit in no register gets a one-bit register of its own."""
    layout: dict[str, list[Clbit]] = {}
    placed: set[Clbit] = set()
    for register in circuit.cregs:
        bits = [b for b in register if b not in placed]
        if bits:
            layout[_fresh_name(register.name, layout)] = bits
        placed.update(bits)
    for bit in circuit.clbits:
        if bit not in placed:
            layout[_fresh_name(f"clbit{circuit.find_bit(bit).index}", layout)] = [bit]
            placed.add(bit)
    return layout


def _fresh_name(base: str, taken: Mapping[str, object]) -> str:
    """A valid OpenQASM 2 register name from ``base``, not yet in ``taken``."""
    name = re.sub(r"\W", "_", base)
    name = name if name[:1].isalpha() and name[:1].islower() else f"c_{name}"
    candidate, n = name, 0
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def _to_hex(key: str, positions: Sequence[int]) -> str:
    value = 0
    for char, index in zip(key, positions, strict=True):
        if char == "1":
            value |= 1 << index
    return hex(value)


def _experiment(circuit: QuantumCircuit, result: Result, positions: Sequence[int], memory: bool) -> dict[str, Any]:
    """One Qiskit experiment result; ``positions`` gives the Qiskit clbit of each Xihe key position."""
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
