"""Calibration versus measurement: run the experiments on a backend and compare with the calibration it reports.

On a twin the calibration is exactly what its noise was built from (T1; T2* for an idle qubit, which a Ramsey
scan measures; T2echo for a refocused one, which a Hahn echo measures; readout confusion; gate errors), so every
measured figure's 95% interval should contain the calibration value about 95% of the time: the closed-loop check
that both the twin and the experiments are right. On hardware the same comparison shows how far
the published calibration has drifted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xihe.characterize.coherence import T1, T2Echo, T2Ramsey
from xihe.characterize.experiment import Runner
from xihe.characterize.fitting import Estimate
from xihe.characterize.native import NativeGates
from xihe.characterize.rb import InterleavedRB, RandomizedBenchmarking
from xihe.characterize.readout import ReadoutFidelity


@dataclass(frozen=True)
class Comparison:
    """One calibration figure and its measurement (same unit)."""

    quantity: str
    qubits: tuple[int, ...]
    calibration: float
    measured: Estimate

    @property
    def agrees(self) -> bool:
        return self.measured.contains(self.calibration)

    def __str__(self) -> str:
        mark = "ok" if self.agrees else "OUTSIDE"
        return (f"{self.quantity}{list(self.qubits)}: calibration {self.calibration:.4g}, "
                f"measured {self.measured} {mark}")


def compare_with_calibration(device: Any, qubits: Sequence[int], pair: tuple[int, int] | None = None,
                             seed: int = 1, shots: int = 1000, runner: Runner | None = None,
                             one_qubit_rb: bool = False, rb_samples: int = 10) -> list[Comparison]:
    """Measure readout, T1, T2 (Ramsey and echo), the 2q gate error on ``pair`` (interleaved RB) and optionally
    the 1q gate error (RB), and pair each with ``device.target``'s calibration value."""
    from xihe.characterize.runners import device_runner

    target = device.target
    run = runner or device_runner(device)
    native = NativeGates.from_device(device)
    width = device.num_qubits
    qs = list(qubits)
    t1_ns = sum(target.t1[q] for q in qs) / len(qs)
    t2_ns = sum(target.t2[q] for q in qs) / len(qs)
    t2_ramsey_ns = sum(target.t2_ramsey.get(q, target.t2[q]) for q in qs) / len(qs)
    out: list[Comparison] = []
    readout = ReadoutFidelity(qs, num_qubits=width).run(run, max(shots, 2000), seed, native)
    t1 = T1(qs, expected_ns=t1_ns, num_qubits=width).run(run, shots, seed + 1, native)
    ramsey = T2Ramsey(qs, expected_ns=t2_ramsey_ns, num_qubits=width).run(run, shots, seed + 2, native)
    echo = T2Echo(qs, expected_ns=t2_ns, num_qubits=width).run(run, shots, seed + 3, native)
    for q in qs:
        p10, p01 = target.readout_error.get(q, (0.0, 0.0))
        out += [Comparison("p1_given_0", (q,), p10, readout[f"p1_given_0[{q}]"]),
                Comparison("p0_given_1", (q,), p01, readout[f"p0_given_1[{q}]"]),
                Comparison("t1_us", (q,), target.t1[q] / 1e3, t1[f"t1[{q}]"]),
                Comparison("t2_ramsey_us", (q,), target.t2_ramsey.get(q, target.t2[q]) / 1e3,
                           ramsey[f"t2_ramsey[{q}]"]),
                Comparison("t2_echo_us", (q,), target.t2[q] / 1e3, echo[f"t2_echo[{q}]"])]
    if one_qubit_rb:
        rb = RandomizedBenchmarking(qs, samples=rb_samples, num_qubits=width, seed=seed).run(run, shots, seed + 4,
                                                                                             native)
        pulse = next(g for g in ("rx", "ry", "sx", "x", "u3", "h") if g in native.names)
        for q in qs:
            out.append(Comparison(f"{pulse}_error", (q,), target.properties(pulse, (q,)).error, rb[f"epg[{q}]"]))
    if pair is not None:
        gate = native.two_qubit_gate
        a, b = native.oriented(*pair)
        irb = InterleavedRB((a, b), gate=gate, samples=rb_samples, num_qubits=width, seed=seed).run(
            run, shots, seed + 5, native)
        out.append(Comparison(f"{gate}_error", (a, b), target.properties(gate, (a, b)).error,
                              irb[f"gate_error[{a}-{b}]"]))
    return out
