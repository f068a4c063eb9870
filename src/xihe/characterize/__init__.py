"""Characterization experiments: circuit generators plus fits with 95% confidence intervals.

Readout assignment fidelity, T1, T2 Ramsey, T2 echo, randomized benchmarking (1q, 2q, interleaved), cross-entropy
benchmarking, GHZ fidelity and quantum volume, runnable on any backend through a runner function
(:mod:`xihe.characterize.experiment`), grouped into suites (:mod:`xihe.characterize.suite`) and plotted as SVG
(:mod:`xihe.characterize.plots`). Layer 4: imports circuits, results, engines and devices, never the service.
"""

from __future__ import annotations

from xihe.characterize.coherence import T1, T2Echo, T2Ramsey
from xihe.characterize.experiment import Experiment, ExperimentResult, Runner
from xihe.characterize.fitting import Estimate, FitError
from xihe.characterize.native import NativeGates
from xihe.characterize.rb import InterleavedRB, RandomizedBenchmarking
from xihe.characterize.readout import ReadoutFidelity
from xihe.characterize.runners import device_runner, simulator_runner

__all__ = [
    "T1",
    "Estimate",
    "Experiment",
    "ExperimentResult",
    "FitError",
    "InterleavedRB",
    "NativeGates",
    "RandomizedBenchmarking",
    "ReadoutFidelity",
    "Runner",
    "T2Echo",
    "T2Ramsey",
    "device_runner",
    "simulator_runner",
]
