"""``ExecutionPlan``: how a job's circuits run on one device, decided once and read by everyone who runs or prices it.

For each circuit the plan holds the bound circuit, the compiled one (unless verbatim, or compilation is left for
later), the native circuit that runs, the physical qubits it touches, the compact circuit on those qubits, the
noise model for them, the engine and that engine's memory and thread needs. Submit-time validation and budgeting,
the worker, the Ray fan-out and the device agents all read a plan; none decides an engine or prices memory itself.

Engine rule (the one place it is applied): a simulator runs the circuit as given (``stabilizer`` on a Clifford-only
backend, else :func:`~xihe.engines.simulate.choose_engine` ideal); a twin runs the compact circuit of its touched
qubits under the calibration's noise with ``choose_engine``'s pick, except that a Clifford circuit too wide for
trajectories goes to the stabilizer engine under the Pauli-twirled noise (milliseconds, where the MPS engine would
sample relaxation shot by shot); a non-Clifford one goes to the MPS engine when its bond bound fits the cap. A
twin's ideal variant runs its compact circuit without noise.

>>> from xihe import devices
>>> from xihe.circuit import Circuit
>>> plan = devices.get("sim").plan([Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])], 100)
>>> plan.circuits[0].engine, plan.circuits[0].physical_qubits
('statevector', (0, 1))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from xihe.circuit import Circuit, Gate, Operation
from xihe.circuit.control import IfElse
from xihe.circuit.register import QuantumRegister
from xihe.compiler.passes.decouple import dd_sequence, decouple_circuit
from xihe.compiler.passes.schedule import schedule_circuit
from xihe.devices.noise import pauli_twirled_noise_model, refocused_qubits
from xihe.engines.base import SINGLE_PRECISION_ENGINES, default_memory_limit
from xihe.engines.bonds import bond_dimension_refusal
from xihe.engines.chunks import DEFAULT_CHUNK_SHOTS, plan_chunks
from xihe.engines.clifford import is_clifford
from xihe.engines.costs import PROCESS_MIN_QUBITS, choose_engine, engine_memory, trajectories_memory
from xihe.engines.program import lower
from xihe.errors import CompileError, ResourceError, ValidationError, XiheError

if TYPE_CHECKING:
    from xihe.devices.compile import Compiled
    from xihe.devices.device import Device
    from xihe.engines.noise import NoiseModel


@dataclass(frozen=True)
class ResultStorage:
    """How a runner stores per-shot results while a job runs (the service's memory and count pages): groups of
    circuits of at most ``shots`` shots in all, and per stored circuit a summary of at most ``outcomes`` counts."""

    shots: int
    outcomes: int


def shot_groups(shots: Sequence[int], limit: int) -> list[range]:
    """Positions of consecutive circuits in groups of at most ``limit`` shots in all (a larger circuit alone): the
    groups a runner stores per-shot results in, and what the plan prices as held at once.

    >>> shot_groups([10, 10, 30, 5], 25)
    [range(0, 2), range(2, 3), range(3, 4)]
    """
    groups: list[range] = []
    start = held = 0
    for position, count in enumerate(shots):
        if position > start and held + int(count) > limit:
            groups.append(range(start, position))
            start, held = position, 0
        held += int(count)
    if len(shots) > start:
        groups.append(range(start, len(shots)))
    return groups


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: compile or run verbatim, the seeds, and the memory the engine choice may assume.

    ``defer_compile``: plan the circuits as given although they will be compiled later (the API process prices a
    job without compiling it; compiling is the worker's work). A deferred plan's touched qubits are the logical
    circuit's, which compiling keeps unless routing borrows idle qubits.

    A twin schedules a verbatim circuit as the compiler schedules a compiled one (terminal measurements together at
    the end, idle gaps as delays, ``dynamical_decoupling`` in them), so both get the same idle noise.
    """

    compile: bool = True
    optimization_level: int = 2
    seeds: tuple[int | None, ...] = ()
    memory: bool = False
    memory_limit: int | None = None
    defer_compile: bool = False
    precision: str = "double"  # "single": complex64 statevector/trajectories, priced at half the memory
    dynamical_decoupling: str | None = None  # "XY4" or "CPMG" in the idle windows (Quafu's ``open_dd``), or none
    # How the runner stores per-shot results (``memory``) as they finish: None, all held until the job ends; else
    # in groups of circuits of at most ``stored_in_groups.shots`` shots (:func:`shot_groups`), each group's keys
    # stored before the next group runs and each circuit kept as a summary of at most ``.outcomes`` counts.
    stored_in_groups: ResultStorage | None = None

    def seed(self, index: int) -> int | None:
        return self.seeds[index] if index < len(self.seeds) else None

    def limit(self) -> int:
        return default_memory_limit() if self.memory_limit is None else int(self.memory_limit)


@dataclass(frozen=True)
class PlannedCircuit:
    """One circuit of a plan: what runs, on which qubits, under which noise, on which engine, at what cost."""

    index: int
    circuit: Circuit  # as submitted, parameters bound
    compiled: Compiled | None
    native: Circuit  # what the device runs: the compiled circuit, or the circuit itself
    physical_qubits: tuple[int, ...]
    compact: Circuit  # ``native`` on ``physical_qubits`` only (a simulator's circuit as is)
    noise: NoiseModel | None
    engine: str
    memory_bytes: int
    threads: int
    seed: int | None
    precision: str = "double"  # what the engine runs in ("single" only on the statevector and trajectories)
    result_bytes: int = 0  # its whole result as the worker holds it until it is stored
    shots_priced: int = 0  # the shots and the per-shot flag that result was priced for
    per_shot: bool = False
    job_circuits: int = 1  # the job's circuits and the most of their results held at once
    job_result_bytes: int = 0
    results_in_groups: bool = False  # per-shot results stored group by group as they finish

    def describe(self) -> str:
        """What this circuit needs, in words (the refusal of a job too large says this)."""
        qubits = list(self.physical_qubits)
        shown = qubits if len(qubits) <= 12 else [*qubits[:12], "..."]
        results = (f", and its result about {_gib(self.result_bytes)} ({self.result_shape})"
                   if self.result_bytes >= RESULT_MENTION_BYTES else "")
        if self.job_circuits > 1 and self.job_result_bytes >= RESULT_MENTION_BYTES:
            held = "held at once, stored as they finish," if self.results_in_groups else "together"
            results += f" (the job's {self.job_circuits} results {held} about {_gib(self.job_result_bytes)})"
        return (f"the {self.engine} engine needs about {_gib(self.memory_bytes)} for {len(qubits)} touched qubits "
                f"{shown} of a {self.native.num_qubits}-qubit circuit{results}")

    @property
    def result_shape(self) -> str:
        return f"{self.shots_priced:,} shots x {self.circuit.num_clbits} bits" + (
            ", per-shot memory" if self.per_shot else "")


@dataclass(frozen=True)
class ExecutionPlan:
    """A job's circuits planned for ``device`` with ``shots`` shots each."""

    device: Device
    shots: int
    options: PlanOptions
    circuits: tuple[PlannedCircuit, ...]

    @property
    def largest(self) -> PlannedCircuit:
        return max(self.circuits, key=lambda planned: planned.memory_bytes)

    @property
    def result_bytes(self) -> int:
        """The most of the job's results the worker holds at once: every circuit's until the job's results are
        stored, or, for per-shot results stored in groups as they finish (``options.stored_in_groups``), one
        group's whole results plus every circuit's stored summary."""
        return held_result_bytes(self.circuits, self.options)

    @property
    def memory_bytes(self) -> int:
        """What the largest circuit's engine needs (circuits of a job run one after another), plus the most of
        the job's results held at once (:attr:`result_bytes`): the one place results are priced."""
        return (self.largest.memory_bytes if self.circuits else 0) + self.result_bytes

    @property
    def threads(self) -> int:
        return max((planned.threads for planned in self.circuits), default=1)

    def check_memory(self, limit: int | None = None) -> None:
        """Raise :class:`ResourceError` naming the engine and the touched qubits if a circuit exceeds ``limit``."""
        limit = self.options.limit() if limit is None else int(limit)
        for planned in self.circuits:
            if planned.memory_bytes + self.result_bytes - planned.result_bytes > limit:
                where = f"circuit {planned.index}: " if len(self.circuits) > 1 else ""
                # Too large for a state vector: say also why the MPS engine does not take it (too entangled).
                mps = None if planned.engine == "mps" else bond_dimension_refusal(planned.compact)
                raise ResourceError(f"{where}on backend {self.device.name}, {planned.describe()}, more than the "
                                    f"{_gib(limit)} allowed" + (f"; {mps}" if mps else ""))


# Below this a result is not worth a word in a refusal.
RESULT_MENTION_BYTES = 16 * 1024**2
# Python's cost of one counts entry (a str key of the bits, an int, the dict slot) and of one per-shot memory
# entry (a str in a list, plus its JSON text when stored), beyond the bits themselves.
_COUNT_ENTRY_BYTES = 120
_SHOT_ENTRY_BYTES = 64 + 4


def result_bytes(shots: int, num_clbits: int, memory: bool) -> int:
    """Bytes of one circuit's result: its counts (at most one entry per shot or per outcome) and, with ``memory``,
    one bit string per shot (shots x measured bits: the figure a large per-shot result is refused by)."""
    outcomes = min(shots, 1 << min(num_clbits, 62))
    total = outcomes * (num_clbits + _COUNT_ENTRY_BYTES)
    if memory:
        total += shots * (2 * num_clbits + _SHOT_ENTRY_BYTES)
    return total


def held_result_bytes(circuits: Sequence[PlannedCircuit], options: PlanOptions) -> int:
    """See :attr:`ExecutionPlan.result_bytes`: with per-shot results stored in groups, the largest group's whole
    results plus each circuit's summary (its counts, at most ``stored_in_groups.outcomes`` of them)."""
    storage = options.stored_in_groups
    if not options.memory or storage is None:
        return sum(planned.result_bytes for planned in circuits)
    groups = shot_groups([planned.shots_priced for planned in circuits], storage.shots)
    largest = max((sum(circuits[i].result_bytes for i in group) for group in groups), default=0)
    kept = sum(result_bytes(min(planned.shots_priced, storage.outcomes), planned.circuit.num_clbits, False)
               for planned in circuits)
    return largest + kept


def branch_bytes(circuit: Circuit, shots: int, precision: str = "double", *, readout: bool = False) -> int:
    """What the statevector engine's outcome tree holds beyond its own estimate (which counts two copies): the
    statevector's ``run_dynamic`` keeps one final state per leaf until it samples, and a leaf per distinct outcome
    record, so at most ``min(shots, 2^m)`` leaves for ``m`` mid-circuit measurements and resets (``4^m`` with
    readout error, whose recorded bit splits an outcome again), plus one pending sibling per split on the way down.
    An upper bound: a measurement whose outcome is certain does not split. 18 qubits, 12 mid-circuit measurements,
    10^5 shots were priced at 24 MiB and took 3.5 GiB (issue 18)."""
    splits = _body_splits(circuit)
    if splits is None:  # control flow: lower it (the engine's own reading of the blocks)
        splits = sum(1 for ins in lower(circuit).body if ins.kind in ("measure", "reset"))
    if splits == 0:
        return 0
    leaves = min(shots, 1 << min(splits * (2 if readout else 1), 62))
    state = (1 << circuit.num_qubits) * (8 if precision == "single" else 16)
    return max(0, leaves + splits - 2) * state


def _body_splits(circuit: Circuit) -> int | None:
    """The measurements and resets that ``lower(circuit)`` keeps in its body (mid-circuit ones), read from the
    operations with the rule of ``program._split_terminal`` and no gate matrices (the lowering of an 86,000-gate
    circuit took 5 s of an API submit for this count, issue 18); None for a circuit with control flow."""
    touched: set[int] = set()
    later_dynamic = False
    splits = 0
    for op in reversed(circuit.operations):
        if isinstance(op, IfElse):
            return None
        name = op.gate.name
        if name in ("barrier", "delay"):
            continue
        if name == "measure":
            if op.condition is None and not later_dynamic and op.qubits[0] not in touched:
                continue  # terminal: sampled at the end, no split
            splits += 1
            touched.add(op.qubits[0])
            later_dynamic = True
        elif name == "reset":
            splits += 1
            touched.update(op.qubits)
            later_dynamic = True
        else:
            touched.update(op.qubits)
            later_dynamic = later_dynamic or op.condition is not None
    return splits


def touched_qubits(circuit: Circuit) -> list[int]:
    """The qubits a gate, measurement or reset acts on (a barrier alone does not touch a qubit)."""
    return sorted({q for op in circuit.operations if op.gate.name != "barrier" for q in op.qubits})


def threads_for(engine: str, circuit: Circuit, shots: int) -> int:
    """CPUs the engine uses for ``circuit``: trajectories fans its chunks out to processes when wide enough."""
    if engine == "trajectories" and circuit.num_qubits >= PROCESS_MIN_QUBITS:
        return max(1, min(len(plan_chunks(max(shots, 1), DEFAULT_CHUNK_SHOTS)), os.cpu_count() or 1))
    return 1


def schedule_verbatim(device: Device, circuit: Circuit, dynamical_decoupling: str | None = None) -> Circuit:
    """A verbatim circuit as a twin runs it: scheduled as compiled circuits are, with decoupling if asked for."""
    if device.target.unconstrained:
        return circuit
    scheduled, _ = schedule_circuit(circuit, device.target)
    if dynamical_decoupling is not None:
        scheduled, _ = decouple_circuit(scheduled, device.target, dynamical_decoupling)
    return scheduled


def plan_native(device: Device, index: int, circuit: Circuit, native: Circuit, compiled: Compiled | None,
                shots: int, seed: int | None, limit: int, precision: str = "double") -> PlannedCircuit:
    """Plan one circuit that is ready to run (``native``, already validated or made by the compiler).

    Idle qubits that ``native`` refocuses (an echo, decoupling pulses) dephase with T2echo, the others with T2*.
    """
    noise: NoiseModel | None = None
    if device.target.unconstrained:
        qubits = list(range(native.num_qubits))
        compact = native
        engine = "stabilizer" if device.clifford_only else choose_engine(native, None, limit, precision)
    else:
        qubits = touched_qubits(native)
        compact = compact_circuit(native, qubits)
        noise = None if device.noiseless else device.noise_model(qubits, decoupled=refocused_qubits(native))
        engine = choose_engine(compact, noise, limit, precision)
        if (noise is not None and engine in ("trajectories", "mps")
                and trajectories_memory(compact, precision) > limit
                and is_clifford(compact)):
            engine, noise = "stabilizer", pauli_twirled_noise_model(device.target, qubits)
    precision = precision if engine in SINGLE_PRECISION_ENGINES else "double"
    memory = engine_memory(engine, compact, precision)
    if engine == "statevector":
        memory += branch_bytes(compact, shots, precision, readout=noise is not None)
    return PlannedCircuit(index=index, circuit=circuit, compiled=compiled, native=native,
                          physical_qubits=tuple(qubits), compact=compact, noise=noise, engine=engine,
                          memory_bytes=memory, threads=threads_for(engine, compact, shots), seed=seed,
                          precision=precision)


def build_plan(device: Device, circuits: Sequence[Circuit], shots: int, options: PlanOptions) -> ExecutionPlan:
    """Compile (unless verbatim or deferred), then plan each circuit; see :meth:`Device.plan`."""
    limit = options.limit()
    dd = dd_sequence(options.dynamical_decoupling)
    planned = []
    for index, circuit in enumerate(circuits):
        seed = options.seed(index)
        if options.compile and not options.defer_compile:
            try:
                compiled = device.compile(circuit, optimization_level=options.optimization_level, seed=seed,
                                          dynamical_decoupling=dd)
            except XiheError as exc:
                raise exc if isinstance(exc, CompileError) else CompileError(str(exc)) from exc
            planned.append(plan_native(device, index, circuit, compiled.circuit, compiled, shots, seed, limit,
                                       options.precision))
        else:
            try:
                device.validate(circuit, verbatim=not options.compile)
            except ValidationError as exc:
                raise ValidationError(f"circuit {index}: {exc}" if len(circuits) > 1 else str(exc)) from exc
            native = circuit if options.compile else schedule_verbatim(device, circuit, dd)
            planned.append(plan_native(device, index, circuit, native, None, shots, seed, limit, options.precision))
    sized = [replace(p, result_bytes=result_bytes(shots, p.circuit.num_clbits, options.memory), shots_priced=shots,
                     per_shot=options.memory) for p in planned]
    held = held_result_bytes(sized, options)
    grouped = options.memory and options.stored_in_groups is not None
    priced = tuple(replace(p, job_circuits=len(sized), job_result_bytes=held, results_in_groups=grouped)
                   for p in sized)
    return ExecutionPlan(device=device, shots=shots, options=options, circuits=priced)


def compact_circuit(circuit: Circuit, qubits: list[int]) -> Circuit:
    """``circuit`` on a register of ``len(qubits)`` (physical ``qubits[i]`` becomes ``i``), classical bits kept."""
    index = {q: i for i, q in enumerate(qubits)}
    out = Circuit(name=circuit.name)
    if qubits:
        out.add_register(QuantumRegister("q", len(qubits)))
    for reg in circuit.cregs:
        out.add_register(reg)
    ops: list[Operation] = []
    for op in circuit.operations:
        if op.gate.name == "barrier":
            kept = tuple(index[q] for q in op.qubits if q in index)
            if kept:
                ops.append(Operation(Gate("barrier", num_qubits=len(kept)), kept))
            continue
        ops.append(op.replace(qubits=tuple(index[q] for q in op.qubits)))
    out.operations = ops
    return out


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.3g} GiB" if n >= (1 << 26) else f"{n / (1 << 20):.1f} MiB"
