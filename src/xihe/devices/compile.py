"""``xihe.compile(circuit, backend)``: compile for a backend's Target and report what the result will cost.

:class:`Compiled` carries the native circuit, the layouts (lists: virtual qubit ``i`` -> physical qubit) and stats:
two-qubit gate count, depth (delays not counted), scheduled duration and the estimated success probability from the
calibration. ``dynamical_decoupling`` (``"XY4"``/``"CPMG"``, Quafu's ``open_dd``) fills the scheduled circuit's
long idle windows with refocusing pulses (:mod:`xihe.compiler.passes.decouple`); the twin then lets idle qubits
dephase with T2echo instead of T2*.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xihe.circuit import Circuit
from xihe.compiler import estimated_success_probability, transpile
from xihe.compiler.passes import dd_sequence, decouple_circuit

if TYPE_CHECKING:
    from xihe.devices.device import Device


@dataclass
class Compiled:
    """A circuit compiled for one backend."""

    circuit: Circuit
    initial_layout: list[int]
    final_layout: list[int]
    backend: str
    optimization_level: int
    seed: int | None
    two_qubit_count: int
    depth: int
    duration_ns: float
    estimated_success_probability: float
    compile_seconds: float
    swaps: int = 0
    properties: dict[str, Any] = field(default_factory=dict)
    dynamical_decoupling: str | None = None

    @property
    def stats(self) -> dict[str, Any]:
        return {"two_qubit_count": self.two_qubit_count, "depth": self.depth, "duration_ns": self.duration_ns,
                "estimated_success_probability": self.estimated_success_probability, "swaps": self.swaps,
                "compile_seconds": self.compile_seconds}


def depth_without_delays(circuit: Circuit) -> int:
    bare = circuit.copy_empty()
    bare.operations = [op for op in circuit.operations if op.gate.name != "delay"]
    return bare.depth()


def compile_for(circuit: Circuit, device: Device, optimization_level: int = 2, seed: int | None = None,
                dynamical_decoupling: str | None = None) -> Compiled:
    started = time.perf_counter()
    result = transpile(circuit, device.target, optimization_level=optimization_level, seed=seed)
    out = result.circuit
    dd = None if device.target.unconstrained else dd_sequence(dynamical_decoupling)
    windows = 0
    if dd is not None:
        out, windows = decouple_circuit(out, device.target, dd)
    elapsed = time.perf_counter() - started
    return Compiled(
        circuit=out,
        initial_layout=result.initial_layout,
        final_layout=result.final_layout,
        backend=device.name,
        optimization_level=optimization_level,
        seed=seed,
        two_qubit_count=out.num_nonlocal_gates(),
        depth=depth_without_delays(out),
        duration_ns=float(result.properties.get("duration", 0.0)),
        estimated_success_probability=estimated_success_probability(out, device.target),
        compile_seconds=elapsed,
        swaps=int(result.properties.get("swaps", 0)),
        properties={k: v for k, v in result.properties.items() if k in ("layout_method",)}
        | ({"decoupled_windows": windows} if dd is not None else {}),
        dynamical_decoupling=dd,
    )


def compile(circuit: Circuit, backend: str | Device, optimization_level: int = 2, seed: int | None = None,
            dynamical_decoupling: str | None = None) -> Compiled:
    """Compile ``circuit`` for ``backend`` (a device name or a :class:`~xihe.devices.Device`).

    >>> import xihe
    >>> qc = xihe.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    >>> xihe.compile(qc, "line10", seed=1).two_qubit_count
    1
    """
    from xihe.devices.registry import get

    device = get(backend) if isinstance(backend, str) else backend
    return compile_for(circuit, device, optimization_level, seed, dynamical_decoupling)
