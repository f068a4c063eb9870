"""Runners: the function that executes an experiment's circuits, for a device object or for :func:`xihe.simulate`.

A runner is ``runner(circuits, shots, seed, compile=False) -> list[Result]`` (see
:mod:`xihe.characterize.experiment`). Each circuit gets its own seed drawn from ``numpy.random.SeedSequence(seed)``,
so a run is reproducible and independent of how the service later splits the circuits into jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from xihe.characterize.experiment import Runner
from xihe.circuit import Circuit
from xihe.results import Result


def circuit_seeds(seed: int | None, count: int) -> list[int]:
    """One 32-bit seed per circuit, spawned from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(count)
    return [int(c.generate_state(1)[0]) for c in children]


def simulator_runner(noise: Any = None, engine: str = "auto") -> Runner:
    """Runs circuits with :func:`xihe.simulate` under ``noise`` (a :class:`xihe.NoiseModel` or ``None``).

    ``compile=True`` circuits run as they are: a simulator has all-to-all coupling and every gate.
    """
    from xihe.engines.simulate import simulate

    def run(circuits: Sequence[Circuit], shots: int, seed: int | None, compile: bool = False) -> list[Result]:
        return [simulate(c, shots=shots, seed=s, noise=noise, engine=engine)
                for c, s in zip(circuits, circuit_seeds(seed, len(circuits)), strict=True)]

    return run


def device_runner(device: Any, optimization_level: int = 3) -> Runner:
    """Runs circuits on a :class:`xihe.devices.Device`: verbatim, or through ``device.compile`` when asked.

    An all-to-all simulator (no coupling map) runs logical circuits as they are: it has every gate everywhere.
    """

    def run(circuits: Sequence[Circuit], shots: int, seed: int | None, compile: bool = False) -> list[Result]:
        results = []
        for c, s in zip(circuits, circuit_seeds(seed, len(circuits)), strict=True):
            if compile and device.coupling_map:
                compiled = device.compile(c, optimization_level=optimization_level, seed=s)
                result = device.run(compiled.circuit, shots, seed=s, compiled=compiled)
                result.metadata["compiled_ops"] = compiled.circuit.count_ops()
                result.metadata["compiled_stats"] = dict(compiled.stats)
            else:
                result = device.run(c, shots, seed=s)
            results.append(result)
        return results

    return run
