"""Running a native circuit on a device: only the touched qubits are simulated, under the calibration's noise.

A twin's circuit lives on the chip's physical qubits (up to 130 numbered); it is remapped onto a compact register of
the qubits it touches (classical bits kept), with the noise model built for those qubits. A Clifford circuit too wide
for the statevector/trajectory engines goes to the stabilizer engine under the Pauli-twirled noise (idle relaxation
then enters only through the gates' own twirled relaxation); anything else too wide is refused with a clear
:class:`~xihe.errors.ResourceError` by the engine's memory check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xihe.circuit import Circuit
from xihe.compiler import check_native

if TYPE_CHECKING:
    from xihe.devices.device import Device
    from xihe.results import Result


def touched_qubits(circuit: Circuit) -> list[int]:
    return sorted({q for op in circuit.operations if op.gate.name != "barrier" for q in op.qubits})


def run_on_device(device: Device, circuit: Circuit, shots: int, seed: int | None, memory: bool) -> Result:
    from xihe.devices.device import compact_circuit
    from xihe.devices.noise import pauli_twirled_noise_model
    from xihe.engines.base import default_memory_limit, get_engine
    from xihe.engines.clifford import is_clifford
    from xihe.engines.simulate import simulate

    if device.target.unconstrained:
        device.validate(circuit)
        engine = "stabilizer" if device.clifford_only else "auto"
        return simulate(circuit, shots, seed=seed, engine=engine, memory=memory)
    check_native(circuit, device.target)
    qubits = touched_qubits(circuit)
    compact = compact_circuit(circuit, qubits)
    noise = device.noise_model(qubits)
    engine = "auto"
    too_wide = get_engine("trajectories").estimate_memory(compact) > default_memory_limit()
    if too_wide and is_clifford(compact):
        engine, noise = "stabilizer", pauli_twirled_noise_model(device.target, qubits)
    result = simulate(compact, shots, seed=seed, noise=noise, engine=engine, memory=memory)
    result.metadata["physical_qubits"] = qubits
    return result
