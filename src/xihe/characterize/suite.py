"""Suites: a backend's set of characterization experiments, chosen from what the backend is, run through a runner.

``standard``: readout, T1, T2 Ramsey, T2 echo and simultaneous 1q RB on a region of coupled qubits, 2q RB and
interleaved RB of the native two-qubit gate on the region's best pair, and quantum volume for small widths.
``full`` adds XEB on that pair and GHZ fidelity along the region. ``quick`` is ``standard`` with fewer sequences
and circuits (for tests and a dashboard's first look). On an ideal simulator the coherence scans are left out
(nothing decays); on a Clifford-only backend RB uses h/s words and QV, XEB (non-Clifford) are left out.

The region is the path of ``size`` working qubits with the smallest summed two-qubit error in the calibration
(an operator's usual choice for a benchmark region), or qubits ``0..size-1`` on an all-to-all backend.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xihe.characterize.coherence import DEFAULT_TIME_NS, T1, T2Echo, T2Ramsey
from xihe.characterize.experiment import Experiment, ExperimentResult, Runner
from xihe.characterize.fitting import FitError
from xihe.characterize.ghz import GHZFidelity
from xihe.characterize.native import NativeGates
from xihe.characterize.quantum_volume import QuantumVolume, quantum_volume
from xihe.characterize.rb import InterleavedRB, RandomizedBenchmarking
from xihe.characterize.readout import ReadoutFidelity
from xihe.characterize.xeb import XEB
from xihe.errors import XiheError

SUITES = ("standard", "quick", "full")


@dataclass
class SuiteResult:
    """Every experiment's result plus the headline figures (medians over the region)."""

    backend: str
    suite: str
    qubits: list[int]
    results: list[ExperimentResult]
    summary: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed: int | None = None
    shots: int = 0
    calibration_id: str | None = None
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def result(self, experiment: str) -> ExperimentResult:
        for r in self.results:
            if r.experiment == experiment:
                return r
        raise KeyError(experiment)

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "suite": self.suite, "qubits": self.qubits,
                "results": [r.to_dict() for r in self.results], "summary": self.summary, "errors": self.errors,
                "notes": self.notes, "seed": self.seed, "shots": self.shots, "calibration_id": self.calibration_id,
                "time": self.time}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteResult:
        return cls(backend=data["backend"], suite=data["suite"], qubits=list(data["qubits"]),
                   results=[ExperimentResult.from_dict(r) for r in data["results"]], summary=dict(data["summary"]),
                   errors=dict(data.get("errors", {})), notes=list(data.get("notes", [])), seed=data.get("seed"),
                   shots=int(data.get("shots", 0)), calibration_id=data.get("calibration_id"),
                   time=str(data.get("time", "")))


@dataclass
class Suite:
    """Experiments (each with its shot count) planned for one backend."""

    name: str
    backend: str
    qubits: list[int]
    experiments: list[tuple[Experiment, int]]
    translate: Callable[[Any], Any] | None = None
    notes: list[str] = field(default_factory=list)
    calibration_id: str | None = None

    def run(self, runner: Runner, seed: int | None = None,
            progress: Callable[[str], None] | None = None) -> SuiteResult:
        """Run every experiment (seeds spawned from ``seed``); a failed fit is recorded, not raised."""
        import numpy as np

        seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(len(self.experiments))]
        results: list[ExperimentResult] = []
        errors: dict[str, str] = {}
        for (exp, shots), s in zip(self.experiments, seeds, strict=True):
            label = f"{exp.name}" + (f"[n={exp.n}]" if isinstance(exp, QuantumVolume) else "")
            if progress:
                progress(label)
            try:
                results.append(exp.run(runner, shots=shots, seed=s, translate=self.translate))
            except FitError as exc:
                errors[label] = str(exc)
        shots_used = max((s for _, s in self.experiments), default=0)
        return SuiteResult(self.backend, self.name, self.qubits, results, summarize(results), errors,
                           list(self.notes), seed, shots_used, self.calibration_id)


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def summarize(results: Sequence[ExperimentResult]) -> dict[str, Any]:
    """Headline figures: medians over qubits of T1/T2 (µs), readout error and 1q EPG; 2q errors; QV."""
    out: dict[str, Any] = {}

    def collect(experiment: str, prefix: str, resolved_only: bool = False) -> list[float]:
        values = []
        for r in results:
            if r.experiment != experiment:
                continue
            for name, est in r.estimates.items():
                if name.startswith(prefix + "["):
                    q = name[len(prefix) + 1:-1]
                    if resolved_only and not r.metadata.get("resolved", {}).get(q, True):
                        continue
                    values.append(est.value)
        return values

    out["t1_us"] = _median(collect("t1", "t1", True))
    out["t2_ramsey_us"] = _median(collect("t2_ramsey", "t2_ramsey", True))
    out["t2_echo_us"] = _median(collect("t2_echo", "t2_echo", True))
    fids = collect("readout", "fidelity")
    out["readout_error"] = _median([1 - f for f in fids])
    out["epg_1q"] = _median([v for r in results if r.experiment == "rb" and r.metadata["dimension"] == 2
                             for k, e in r.estimates.items() if k.startswith("epg[") for v in [e.value]])
    out["epc_2q"] = _median([e.value for r in results if r.experiment == "rb" and r.metadata["dimension"] == 4
                             for k, e in r.estimates.items() if k.startswith("epc[")])
    out["gate_error_2q"] = _median(collect("interleaved_rb", "gate_error"))
    out["xeb_pauli_error_per_cycle"] = _median([r.estimates["pauli_error_per_cycle"].value for r in results
                                                if r.experiment == "xeb"])
    ghz = [r for r in results if r.experiment == "ghz"]
    if ghz:
        out["ghz_fidelity"] = {str(n): ghz[0].estimates[f"fidelity[{n}]"].value for n in ghz[0].data["sizes"]}
    qv = [r for r in results if r.experiment == "quantum_volume"]
    if qv:
        out["quantum_volume"] = quantum_volume(qv)
        out["qv_heavy_output"] = {str(r.metadata["n"]): r.estimates["heavy_output_probability"].value for r in qv}
    return {k: v for k, v in out.items() if v is not None}


# --- planning from a device ----------------------------------------------------------------------------------------
def _undirected(device: Any) -> dict[int, set[int]]:
    working = set(device.working_qubits)
    graph: dict[int, set[int]] = {q: set() for q in working}
    for a, b in device.coupling_map:
        if a in working and b in working:
            graph[a].add(b)
            graph[b].add(a)
    return graph


def _pair_error(device: Any, a: int, b: int) -> float:
    target = getattr(device, "target", None)
    native = NativeGates.from_device(device)
    try:
        gate = native.two_qubit_gate
        pair = native.oriented(a, b)
        return float(target.properties(gate, pair).error) if target is not None else 0.0
    except Exception:
        return 1.0


def choose_region(device: Any, size: int) -> list[int]:
    """The path of ``size`` coupled working qubits with the smallest summed 2q error (ties: lowest numbers)."""
    if not device.coupling_map:
        return list(range(min(size, device.num_qubits)))
    graph = _undirected(device)
    best: tuple[float, list[int]] | None = None

    def extend(path: list[int], cost: float) -> None:
        nonlocal best
        if best is not None and cost > best[0] + 1e-12:
            return
        if len(path) == size:
            if best is None or (cost, path) < best:
                best = (cost, list(path))
            return
        for nxt in sorted(graph[path[-1]]):
            if nxt not in path:
                extend([*path, nxt], cost + _pair_error(device, path[-1], nxt))

    for start in sorted(graph):
        extend([start], 0.0)
    if best is None:
        raise XiheError(f"{device.name} has no path of {size} coupled working qubits")
    return best[1]


def qv_trials(n: int) -> int:
    """Quantum-volume circuits at width ``n``, in every suite: enough that the 2-sigma verdict is no coin flip.

    The twins' heavy-output probability predicted from their calibration is about 0.76 at n = 2 (the ideal mean is
    only 0.79 there) and 0.79 at n = 3. With 100 circuits they would pass only 59% and 83% of the time
    (:func:`~xihe.characterize.quantum_volume.pass_probability`); 400 and 200 circuits make that 99% and 98%.
    """
    return 400 if n == 2 else 200


def _expected_times(device: Any, qubits: Sequence[int]) -> tuple[float, float, float]:
    """Mean T1, T2echo and T2* (ns) of ``qubits`` from the last calibration, to size the delay scans."""
    target = getattr(device, "target", None)
    t1 = [target.t1[q] for q in qubits if target is not None and q in target.t1]
    t2 = [target.t2[q] for q in qubits if target is not None and q in target.t2]
    star = [target.t2_ramsey.get(q, target.t2[q]) for q in qubits if target is not None and q in target.t2]

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else DEFAULT_TIME_NS

    return mean(t1), mean(t2), mean(star)


def plan_suite(device: Any, suite: str = "standard", qubits: Sequence[int] | None = None, region_size: int = 4,
               seed: int | None = None, shots: int = 1000, qv_sizes: Sequence[int] | None = None) -> Suite:
    """The experiments of ``suite`` for ``device`` (a :class:`xihe.devices.Device`) on ``qubits`` or a region."""
    if suite not in SUITES:
        raise XiheError(f"unknown suite '{suite}'; choose one of {', '.join(SUITES)}")
    region = list(qubits) if qubits is not None else choose_region(device, region_size)
    if len(region) < 2:
        raise XiheError("a suite needs at least 2 qubits (one coupled pair)")
    native = NativeGates.from_device(device)
    ideal = device.kind == "simulator"
    clifford_only = bool(getattr(device, "clifford_only", False))
    quick = suite == "quick"
    # On an all-to-all simulator the circuits need only the region's width, not the backend's 34 qubits.
    width = device.num_qubits if device.coupling_map else max(region) + 1
    pair = native.oriented(region[0], region[1]) if native.pairs else (region[0], region[1])
    two_q = native.two_qubit_gate
    form = "hs" if clifford_only else "u3"
    notes: list[str] = []
    plan: list[tuple[Experiment, int]] = [(ReadoutFidelity(region, num_qubits=width), max(shots, 2000))]
    if ideal:
        notes.append("ideal simulator: coherence scans left out (no decay to measure)")
    else:
        t1_ns, t2_ns, t2_star_ns = _expected_times(device, region)
        plan += [(T1(region, expected_ns=t1_ns, num_qubits=width), shots),
                 (T2Ramsey(region, expected_ns=t2_star_ns, num_qubits=width), shots),
                 (T2Echo(region, expected_ns=t2_ns, num_qubits=width), shots)]
    samples = 4 if quick else 8
    lengths_1q = (1, 30, 80, 150, 300, 500) if quick else None
    plan += [
        (RandomizedBenchmarking(region, lengths=lengths_1q, samples=samples, clifford_form=form, num_qubits=width,
                                seed=seed), shots),
        (RandomizedBenchmarking(pair, group_size=2, samples=samples, clifford_form=form, num_qubits=width,
                                seed=None if seed is None else seed + 1), shots),
        (InterleavedRB(pair, gate=two_q, samples=samples + 2, clifford_form=form, num_qubits=width,
                       seed=None if seed is None else seed + 2), shots),
    ]
    if suite == "full" and not clifford_only:
        plan.append((GHZFidelity(region, num_qubits=width), shots))
        plan.append((XEB(list(pair), two_qubit_gate=two_q, num_qubits=width,
                         seed=None if seed is None else seed + 3), shots))
    if clifford_only:
        notes.append("Clifford-only backend: quantum volume, XEB and GHZ parity oscillations (non-Clifford "
                     "circuits) left out")
    else:
        sizes = list(qv_sizes) if qv_sizes is not None else ([2, 3] if quick else [2, 3, 4])
        for n in sizes:
            plan.append((QuantumVolume(n, trials=qv_trials(n), seed=None if seed is None else seed + 10 + n),
                         min(shots, 500)))
    calibration = getattr(device, "calibration", None)
    return Suite(suite, device.name, region, plan, None if ideal and not clifford_only else native, notes,
                 getattr(calibration, "id", None))


def run_suite(device: Any, suite: str = "standard", seed: int | None = 1, shots: int = 1000,
              qubits: Sequence[int] | None = None, region_size: int = 4,
              progress: Callable[[str], None] | None = None) -> SuiteResult:
    """Plan ``suite`` for ``device`` and run it locally on the device object (the CLI's path)."""
    from xihe.characterize.runners import device_runner

    planned = plan_suite(device, suite, qubits=qubits, region_size=region_size, seed=seed, shots=shots)
    return planned.run(device_runner(device), seed=seed, progress=progress)


def isfinite_summary(summary: dict[str, Any]) -> bool:
    """True when every numeric headline is finite (a sanity check for stored results)."""
    return all(math.isfinite(v) for v in summary.values() if isinstance(v, float))
