"""A device: name, Target, calibration snapshot, status, noise model and engine choice; validate, compile, run.

Kinds: ``simulator`` (ideal, any gate, all-to-all), ``twin`` (an emulated chip from a real calibration file: native
gates, coupling, noise) and ``hardware`` (a real chip behind an agent's :class:`~xihe.devices.driver.Driver`). A
twin's ideal variant (:meth:`Device.ideal`, ``ideal_of`` set) is compiled exactly as the twin is and runs without
noise: what the compiled circuit would give on a perfect copy of the chip (Quafu's ``<chip>-sim-jiuding``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xihe.circuit import Circuit, IfElse
from xihe.compiler import Target, check_native
from xihe.compiler.passes import dd_sequence
from xihe.devices.calibration import CalibrationHistory, CalibrationSnapshot
from xihe.devices.connectivity import max_connected_qubits
from xihe.devices.defaults import DeviceDefaults
from xihe.devices.execute import run_plan
from xihe.devices.plan import (
    ExecutionPlan,
    PlanOptions,
    build_plan,
    compact_circuit,
    plan_native,
    schedule_verbatim,
    touched_qubits,
)
from xihe.errors import ValidationError
from xihe.status import DeviceKind, DeviceStatus

if TYPE_CHECKING:
    from xihe.devices.compile import Compiled
    from xihe.engines.noise import NoiseModel
    from xihe.results import Result

__all__ = ["Device", "compact_circuit"]


class Device:
    """One backend. Build with :func:`xihe.devices.get`; a device is never changed in place."""

    def __init__(
        self,
        name: str,
        *,
        system_id: int,
        kind: str,
        target: Target,
        calibration: CalibrationSnapshot,
        history: CalibrationHistory | None = None,
        status: str = "online",
        exclusive: bool = False,
        max_shots: int = 100_000,
        clifford_only: bool = False,
        defaults: DeviceDefaults | None = None,
        description: str = "",
        ideal_of: str | None = None,
    ) -> None:
        if kind not in tuple(DeviceKind):
            raise ValidationError(f"device kind must be simulator, twin or hardware, not {kind!r}")
        if status not in tuple(DeviceStatus):
            raise ValidationError(f"device status must be online, maintenance or offline, not {status!r}")
        self.name = name
        self.system_id = system_id
        self.kind = DeviceKind(kind)
        self.target = target
        self.calibration = calibration
        self.history = history or CalibrationHistory(name, [calibration])
        self.status = DeviceStatus(status)
        self.exclusive = exclusive
        self.max_shots = max_shots
        self.clifford_only = clifford_only
        self.defaults = defaults or DeviceDefaults()
        self.description = description
        self.ideal_of = ideal_of

    @property
    def noiseless(self) -> bool:
        """Whether runs here are ideal (a simulator, or a twin's ideal variant) rather than under calibrated noise."""
        return self.target.unconstrained or self.ideal_of is not None

    def ideal(self, name: str, system_id: int) -> Device:
        """This twin's ideal variant ``name``: the same Target and calibration (so the same compilation and
        layout), no noise, not exclusive (no chip is held)."""
        return Device(name, system_id=system_id, kind=self.kind, target=self.target, calibration=self.calibration,
                      history=self.history, status=self.status, exclusive=False, max_shots=self.max_shots,
                      clifford_only=self.clifford_only, defaults=self.defaults, ideal_of=self.name,
                      description=f"{self.name} without noise: compiled for its qubits, coupling and native gates, "
                                  f"run ideally")

    def __repr__(self) -> str:
        return f"<Device {self.name} ({self.kind}, {len(self.working_qubits)}/{self.num_qubits} qubits)>"

    # --- what the service and the SDK read -----------------------------------------------------------------------
    @property
    def num_qubits(self) -> int:
        return self.target.num_qubits

    @property
    def working_qubits(self) -> list[int]:
        return list(self.target.working_qubits)

    @property
    def max_connected_qubits(self) -> int:
        """How many qubits one compiled circuit can use together: the largest connected group of working qubits."""
        return max_connected_qubits(self.target)

    @property
    def native_gates(self) -> list[str]:
        if self.target.unconstrained:
            from xihe.circuit import gate_specs

            specs = gate_specs()
            return sorted(n for n in specs if specs[n].clifford or not self.clifford_only)
        return sorted(self.target.native_gates)

    @property
    def coupling_map(self) -> list[tuple[int, int]]:
        """Directed pairs; empty for an all-to-all simulator."""
        return sorted(self.target.coupling_map)

    def noise_model(self, qubits: list[int] | None = None, decoupled: Collection[int] = ()) -> NoiseModel:
        """The calibration's noise on the compact register standing for ``qubits`` (all physical qubits if None);
        the physical qubits in ``decoupled`` are refocused when idle (T2echo instead of T2*)."""
        from xihe.devices.noise import device_noise_model

        return device_noise_model(self.target, qubits, decoupled)

    def calibration_at(self, time: datetime) -> CalibrationSnapshot | None:
        return self.history.at(time)

    def with_calibration(self, snapshot: CalibrationSnapshot) -> Device:
        """The same device under another calibration snapshot (a twin's Target is rebuilt from its data)."""
        target = self.target
        if self.kind != "simulator":
            from xihe.devices.quafu import target_from_chip_info

            target = target_from_chip_info(snapshot.data, self.defaults)
        history = CalibrationHistory(self.name, [*self.history, snapshot] if snapshot.id not in
                                     {s.id for s in self.history} else list(self.history))
        return Device(self.name, system_id=self.system_id, kind=self.kind, target=target, calibration=snapshot,
                      history=history, status=self.status, exclusive=self.exclusive, max_shots=self.max_shots,
                      clifford_only=self.clifford_only, defaults=self.defaults, description=self.description,
                      ideal_of=self.ideal_of)

    def to_quafu_chip_info(self) -> dict[str, Any]:
        """The Quafu chip-info JSON pyquafu reads (a twin returns its calibration file's data as is)."""
        from xihe.devices.quafu import chip_info_from_target

        if self.target.unconstrained:
            names = [f"Q{i:04d}" for i in range(self.num_qubits)]
            return {"calibration_time": self.calibration.time.strftime("%Y-%m-%d %H:%M:%S"),
                    "basis_gates": self.native_gates, "coupler": {}, "all_qubits_info": {n: {} for n in names},
                    "all_topological_structure": {}, "qubits_info": {n: {} for n in names},
                    "topological_structure": {}, "priority_qubits": [], "system_id": self.system_id}
        base = self.calibration.data if "all_qubits_info" in self.calibration.data else None
        return chip_info_from_target(self.target, system_id=self.system_id, time=self.calibration.time, base=base)

    # --- validate, compile, run ------------------------------------------------------------------------------------
    def validate(self, circuit: Circuit, verbatim: bool = False) -> None:
        """Raise :class:`ValidationError` naming the problem if ``circuit`` cannot run here."""
        if verbatim and circuit.num_qubits > self.num_qubits:
            raise ValidationError(f"the circuit uses {circuit.num_qubits} qubits; backend {self.name} numbers "
                                  f"{self.num_qubits}")
        working = len(self.target.working_qubits)
        used = len(touched_qubits(circuit))
        if not verbatim and (used > self.max_connected_qubits or circuit.num_qubits > working):
            raise ValidationError(
                f"the circuit uses {used} of its {circuit.num_qubits} qubits; backend {self.name} can use at most "
                f"{self.max_connected_qubits} together (max_connected_qubits: its largest connected group of "
                f"working qubits; {working} of {self.num_qubits} qubits work)")
        if self.clifford_only:
            from xihe.engines.clifford import is_clifford_gate, is_pauli_feedback

            for index, op in enumerate(circuit.operations):
                if isinstance(op, IfElse) and not is_pauli_feedback(op):
                    raise ValidationError(f"operation {index}: backend {self.name} (a stabilizer simulator) runs if "
                                          "blocks only on one bit with Pauli x/y/z gates inside")
                if op.gate.is_parametrized:
                    continue
                if not is_clifford_gate(op.gate):
                    raise ValidationError(f"operation {index}: gate '{op.gate.name}' on qubits {op.qubits} is not "
                                          f"Clifford; backend {self.name} runs Clifford circuits only")
        if verbatim:
            check_native(circuit, self.target)

    def compile(self, circuit: Circuit, optimization_level: int = 2, seed: int | None = None,
                dynamical_decoupling: str | None = None) -> Compiled:
        from xihe.devices.compile import compile_for

        return compile_for(circuit, self, optimization_level, seed, dynamical_decoupling)

    def plan(self, circuits: Circuit | Sequence[Circuit], shots: int, options: PlanOptions | None = None
             ) -> ExecutionPlan:
        """Plan ``circuits`` (bound) for ``shots`` shots here: compile, touched qubits, noise, engine, memory.

        Raises :class:`ValidationError` for a circuit that cannot run here and
        :class:`~xihe.errors.CompileError` for one the compiler cannot map; see :mod:`xihe.devices.plan`.
        """
        batch = [circuits] if isinstance(circuits, Circuit) else list(circuits)
        return build_plan(self, batch, shots, options or PlanOptions())

    def execute(self, plan: ExecutionPlan) -> list[Result]:
        """Run a plan made by :meth:`plan`; one result per circuit, in order."""
        return run_plan(plan)

    def run(self, circuit: Circuit | None, shots: int, seed: int | None = None, memory: bool = False,
            compiled: Compiled | None = None, dynamical_decoupling: str | None = None) -> Result:
        """Run a native circuit (or ``compiled.circuit``) under this device's noise; counts over its clbits.

        A native circuit is scheduled first (as :func:`~xihe.devices.plan.schedule_verbatim`), with
        ``dynamical_decoupling`` if given; a compiled one runs as compiled (with the decoupling it was compiled with).
        """
        if circuit is None:
            if compiled is None:
                raise ValidationError("give a circuit or a compiled circuit to run")
            circuit = compiled.circuit
        options = PlanOptions(compile=False, seeds=(seed,), memory=memory)
        native = circuit
        if compiled is None:
            self.validate(circuit, verbatim=not self.target.unconstrained)
            native = schedule_verbatim(self, circuit, dd_sequence(dynamical_decoupling))
        planned = plan_native(self, 0, circuit, native, compiled, shots, seed, options.limit())
        return run_plan(ExecutionPlan(device=self, shots=shots, options=options, circuits=(planned,)))[0]
