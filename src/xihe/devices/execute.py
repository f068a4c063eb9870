"""Running a planned circuit on a device: the plan's engine on its compact circuit under its noise; one stamping.

A twin's circuit lives on the chip's physical qubits (up to 130 numbered); the :class:`~xihe.devices.plan.ExecutionPlan`
remapped it onto a compact register of the qubits it touches (classical bits kept) with the noise model for those
qubits and chose the engine. Running refuses a circuit the plan says does not fit the memory limit, with a
:class:`~xihe.errors.ResourceError` that names the engine and the touched qubits, before anything is allocated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xihe.devices.plan import ExecutionPlan, PlannedCircuit, touched_qubits
from xihe.engines.simulate import simulate

if TYPE_CHECKING:
    from xihe.devices.device import Device
    from xihe.results import Result

__all__ = ["run_plan", "run_planned", "stamp_result", "touched_qubits"]


def stamp_result(device: Device, planned: PlannedCircuit, result: Result) -> Result:
    """What every run on a device adds to its result (a fanned-out run too): qubits, backend, calibration, layouts."""
    if not device.target.unconstrained:
        result.metadata["physical_qubits"] = list(planned.physical_qubits)
    result.metadata["backend"] = device.name
    result.metadata["calibration_id"] = device.calibration.id
    if planned.compiled is not None:
        result.metadata["initial_layout"] = list(planned.compiled.initial_layout)
        result.metadata["final_layout"] = list(planned.compiled.final_layout)
    return result


def run_planned(device: Device, planned: PlannedCircuit, shots: int, memory: bool, limit: int) -> Result:
    """Run one planned circuit for ``shots`` shots on its engine; the result is stamped."""
    result = simulate(planned.compact, shots, seed=planned.seed, noise=planned.noise, engine=planned.engine,
                      memory=memory, max_memory_bytes=limit, precision=planned.precision)
    return stamp_result(device, planned, result)


def run_plan(plan: ExecutionPlan) -> list[Result]:
    """Run every circuit of ``plan`` in order (the memory check first, so nothing too large is started)."""
    plan.check_memory()
    limit = plan.options.limit()
    return [run_planned(plan.device, planned, plan.shots, plan.options.memory, limit) for planned in plan.circuits]
