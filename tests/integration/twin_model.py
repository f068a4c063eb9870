"""An independent model of a Xihe twin, for comparing the twins with Qiskit Aer (issue 15).

Nothing here imports Xihe's noise code: the calibration is read from the shipped Quafu chip files, the rules are
those written in ``docs/devices.md`` ("Defaults for what the file does not say", "Noise model (one rule set)"),
and every channel is made by Qiskit Aer's own functions (``thermal_relaxation_error``, ``depolarizing_error``,
``ReadoutError``). The circuit it models is the physical circuit the server reports it ran (a result's
``compiled_qasm``), so schedule choices of Xihe's compiler do not enter; the model re-schedules that circuit ASAP
with the calibration's durations, reports any idle time the server's circuit did not write as a ``delay``, and
relaxes over it too.

The rules, as documented:

- A gate's file fidelity is its average gate fidelity. Its channel is thermal relaxation over the gate's duration
  (T1 and T2 = T2echo on each of its qubits), then depolarizing of the strength that makes the composition's
  average fidelity equal to the file's (none if relaxation alone is worse). One-qubit gates (rx, ry, h): error
  1e-3, the qubit's ``single_qubit_gate_duration``. Two-qubit gates: the coupler's fidelity (a placeholder 0.900
  gets the median of the chip's measured couplers of that gate), 60 ns. ``rz`` and ``id`` are virtual.
- Idle windows relax with T1 and dephase with T2* (``T2star``), or with T2echo on a qubit where a pi pulse (x, y,
  rx(+-pi), ry(+-pi)) sits between two idle windows. T2 and T2* are capped at 2 T1 (each the other's fallback).
- Terminal measurements start together when the last other operation ends; a qubit that finished early idles.
- Readout: P(1|0) = 0.01 + 1 / (1 + exp(h f / k T)) at T = 50 mK, P(0|1) = 0.01 + 1 - exp(-t_m / (2 T1)) with
  t_m = 1500 ns (the chip files carry no readout fidelities).
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.quantum_info import average_gate_fidelity
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, QuantumError, ReadoutError, depolarizing_error, thermal_relaxation_error
from scipy.constants import Boltzmann, Planck
from scipy.stats import chi2

# The documented defaults for what a Quafu chip file does not say (docs/devices.md).
ONE_QUBIT_ERROR = 1e-3
ONE_QUBIT_NS = 30.0  # a qubit without its own single_qubit_gate_duration
TWO_QUBIT_NS = 60.0
MEASURE_NS = 1500.0
READOUT_OVERLAP = 0.01
READOUT_TEMPERATURE_K = 0.050
PLACEHOLDER_FIDELITY = 0.900
VIRTUAL = frozenset({"rz", "id"})
IDLE_RULES = ("documented", "always_t2echo", "always_t2star")


@dataclass(frozen=True)
class Calibration:
    """One chip's numbers in Xihe's physical numbering. Times in ns."""

    labels: list[str]
    t1: dict[int, float]
    t2echo: dict[int, float]
    t2star: dict[int, float]
    one_qubit_ns: dict[int, float]
    two_qubit_fidelity: dict[tuple[int, int], float]  # both orders for a symmetric gate
    readout: dict[int, tuple[float, float]]  # (P(1|0), P(0|1))


def _number(label: str) -> int:
    return int(re.search(r"\d+", label).group())  # type: ignore[union-attr]


def physical_labels(chip: dict[str, Any]) -> list[str]:
    """docs/devices.md numbering (pyquafu's): qubits named in ``topological_structure`` by number, then the rest."""
    coupled = {name for pair in chip["topological_structure"] for name in pair.split("_")}
    names = list(chip["all_qubits_info"])
    return (sorted((n for n in names if n in coupled), key=_number)
            + sorted((n for n in names if n not in coupled), key=_number))


def readout_model(frequency_ghz: float, t1_ns: float) -> tuple[float, float]:
    """(P(1|0), P(0|1)): thermal population at the qubit's frequency, T1 decay in the first half of the readout."""
    ratio = Planck * frequency_ghz * 1e9 / (Boltzmann * READOUT_TEMPERATURE_K)
    return (READOUT_OVERLAP + 1.0 / (1.0 + math.exp(ratio)),
            READOUT_OVERLAP + 1.0 - math.exp(-MEASURE_NS / (2.0 * t1_ns)))


def load_calibration(chip_file: Path) -> Calibration:
    chip = json.loads(chip_file.read_text())
    labels = physical_labels(chip)
    index = {name: i for i, name in enumerate(labels)}
    t1, echo, star, one_q, readout = {}, {}, {}, {}, {}
    for name, info in chip["qubits_info"].items():
        q = index[name]
        t1[q] = float(info["T1"]) * 1e3
        e = float(info.get("T2echo") or info.get("T2star")) * 1e3
        s = float(info.get("T2star") or info.get("T2echo")) * 1e3
        echo[q], star[q] = min(e, 2 * t1[q]), min(s, 2 * t1[q])
        one_q[q] = float(info.get("single_qubit_gate_duration") or ONE_QUBIT_NS)
        readout[q] = readout_model(float(info["qubit_frequency"]), t1[q])
    raw: dict[tuple[int, int], float] = {}
    measured: dict[str, list[float]] = defaultdict(list)
    gate_of: dict[tuple[int, int], str] = {}
    for pair, gates in chip["topological_structure"].items():
        a, b = pair.split("_")
        if a not in chip["qubits_info"] or b not in chip["qubits_info"]:
            continue
        for gate, fields in gates.items():
            fidelity = float(fields["fidelity"])
            if fidelity <= 0:
                continue
            raw[(index[a], index[b])] = fidelity
            gate_of[(index[a], index[b])] = gate
            if fidelity != PLACEHOLDER_FIDELITY:
                measured[gate].append(fidelity)
    fidelity2: dict[tuple[int, int], float] = {}
    for (a, b), fidelity in raw.items():
        value = statistics.median(measured[gate_of[(a, b)]]) if fidelity == PLACEHOLDER_FIDELITY else fidelity
        fidelity2[(a, b)] = value
        if gate_of[(a, b)].lower() == "cz":
            fidelity2[(b, a)] = value
    return Calibration(labels, t1, echo, star, one_q, fidelity2, readout)


def gate_error(cal: Calibration, name: str, qubits: tuple[int, ...]) -> QuantumError | None:
    """Relaxation over the gate's duration, then depolarizing solved for the file's average fidelity."""
    if name in VIRTUAL:
        return None
    if len(qubits) == 1:
        duration, fidelity = cal.one_qubit_ns[qubits[0]], 1.0 - ONE_QUBIT_ERROR
    else:
        duration, fidelity = TWO_QUBIT_NS, cal.two_qubit_fidelity[(qubits[0], qubits[1])]  # KeyError: no coupler
    relax = thermal_relaxation_error(cal.t1[qubits[0]], cal.t2echo[qubits[0]], duration)
    for q in qubits[1:]:
        relax = relax.expand(thermal_relaxation_error(cal.t1[q], cal.t2echo[q], duration))  # qubits[0] is bit 0
    d = 2 ** len(qubits)
    f0 = average_gate_fidelity(relax.to_quantumchannel())
    # Depolarizing p after relaxation: F = (1 - p) F0 + p / d, so p is solved exactly.
    p = min(max((f0 - fidelity) / (f0 - 1.0 / d), 0.0), d * d / (d * d - 1))
    if p == 0.0:
        return relax
    return relax.compose(depolarizing_error(p, len(qubits)))


@dataclass(frozen=True)
class Op:
    name: str
    params: tuple[float, ...]
    qubits: tuple[int, ...]
    clbit: int | None = None  # measure: the flat classical bit index
    duration: float = 0.0  # delay: ns


_LINE = re.compile(r"^(?P<name>\w+)(?:\((?P<params>[^)]*)\))?\s+(?P<args>[^;]*);$")
_ARG = re.compile(r"^(\w+)\[(\d+)\]$")


def parse_physical(qasm_text: str) -> tuple[list[Op], int]:
    """The ops of a server-reported physical circuit (OpenQASM 2 with ``delay(Xns)``) and its classical width."""
    cregs: dict[str, int] = {}
    width = 0
    ops: list[Op] = []
    for raw in qasm_text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("OPENQASM", "include", "qreg", "//")):
            continue
        if line.startswith("creg"):
            name, size = re.match(r"creg (\w+)\[(\d+)\];", line).groups()  # type: ignore[union-attr]
            cregs[name] = width
            width += int(size)
            continue
        if line.startswith("measure"):
            qubit, reg, bit = re.match(r"measure \w+\[(\d+)\] -> (\w+)\[(\d+)\];", line).groups()  # type: ignore[union-attr]
            ops.append(Op("measure", (), (int(qubit),), cregs[reg] + int(bit)))
            continue
        match = _LINE.match(line)
        assert match, f"unexpected line in the compiled circuit: {line!r}"
        qubits = tuple(int(_ARG.match(a.strip()).group(2)) for a in match["args"].split(","))  # type: ignore[union-attr]
        params_text = match["params"]
        if match["name"] == "delay":
            assert params_text and params_text.endswith("ns"), line
            ops.append(Op("delay", (), qubits, duration=float(params_text[:-2])))
        else:
            params = tuple(float(p) for p in params_text.split(",")) if params_text else ()
            ops.append(Op(match["name"], params, qubits))
    return ops, width


def is_pi_pulse(op: Op) -> bool:
    if len(op.qubits) != 1:
        return False
    if op.name in ("x", "y"):
        return True
    return op.name in ("rx", "ry") and abs(abs(op.params[0]) - math.pi) < 1e-9


@dataclass
class Timeline:
    """The circuit as the model runs it: gates and idle windows per qubit, in time order."""

    steps: list[tuple[str, Any]]  # ("gate", Op) | ("idle", (qubit, ns))
    measured: dict[int, int]  # clbit -> physical qubit
    unwritten_idle_ns: float  # idle the server's circuit did not write as a delay
    refocused: set[int]


def schedule(ops: list[Op], cal: Calibration) -> Timeline:
    """ASAP with the calibration's durations; terminal measurements together after the last other operation."""
    free: dict[int, float] = defaultdict(float)
    started: set[int] = set()
    tokens: dict[int, list[str]] = defaultdict(list)
    steps: list[tuple[str, Any]] = []
    measured: dict[int, int] = {}
    unwritten = 0.0

    def idle(q: int, ns: float) -> None:
        steps.append(("idle", (q, ns)))
        tokens[q].append("idle")
        free[q] += ns

    for op in ops:
        if op.name == "barrier":
            continue
        if op.name == "measure":
            measured[op.clbit] = op.qubits[0]  # type: ignore[index]
            continue
        assert not any(q in measured.values() for q in op.qubits), "a measurement that is not terminal"
        if op.name == "delay":
            for q in op.qubits:
                idle(q, op.duration)
            continue
        if len(op.qubits) == 1 and op.name in VIRTUAL:
            steps.append(("gate", op))
            continue
        start = max(free[q] for q in op.qubits)
        for q in op.qubits:
            gap = start - free[q]
            if gap > 1e-6 and q in started:
                unwritten += gap
                idle(q, gap)
            free[q] = start
        duration = cal.one_qubit_ns[op.qubits[0]] if len(op.qubits) == 1 else TWO_QUBIT_NS
        steps.append(("gate", op))
        for q in op.qubits:
            free[q] = start + duration
            started.add(q)
            tokens[q].append("pi" if is_pi_pulse(op) else "gate")
    end = max(free.values(), default=0.0)
    for q in sorted(set(measured.values())):
        gap = end - free[q]
        if gap > 1e-6 and q in started:
            unwritten += gap
            idle(q, gap)
    refocused = {q for q, seq in tokens.items()
                 if any(seq[i:i + 3] == ["idle", "pi", "idle"] for i in range(len(seq) - 2))}
    return Timeline(steps, measured, unwritten, refocused)


_STANDARD = get_standard_gate_name_mapping()


@dataclass
class NoisyCircuit:
    """The physical circuit on its touched qubits for Aer: gates, idle channels in place, gate noise as a model."""

    circuit: QuantumCircuit  # no measurements yet
    noise: NoiseModel
    clbits: list[int]  # the classical bits it measures, ascending
    measured: list[int]  # compact qubit of each of those bits
    readout: list[ReadoutError]  # of each classical bit's qubit
    timeline: Timeline


def noisy_circuit(qasm_text: str, cal: Calibration, idle_rule: str = "documented",
                  only: Collection[int] | None = None) -> NoisyCircuit:
    """``idle_rule``: ``"documented"`` (T2* unless refocused), or a wrong rule (always T2echo / always T2*) that the
    tests use to show the comparison can tell the rules apart. ``only``: the part of the circuit on these physical
    qubits (a connected component: no gate joins it to the rest), scheduled with the whole circuit."""
    assert idle_rule in IDLE_RULES
    ops, width = parse_physical(qasm_text)
    timeline = schedule(ops, cal)
    assert sorted(timeline.measured) == list(range(width)), f"every classical bit measured once: {timeline.measured}"
    touched = sorted({q for op in ops if op.name != "barrier" for q in op.qubits
                      if only is None or q in only})
    compact = {q: i for i, q in enumerate(touched)}
    circuit = QuantumCircuit(len(touched))
    noise = NoiseModel(basis_gates=sorted({op.name for op in ops if op.name in _STANDARD}))
    seen: set[tuple[str, tuple[int, ...]]] = set()
    for kind, item in timeline.steps:
        if kind == "idle":
            q, ns = item
            if q not in compact:
                continue
            echo = q in timeline.refocused if idle_rule == "documented" else idle_rule == "always_t2echo"
            circuit.append(thermal_relaxation_error(cal.t1[q], cal.t2echo[q] if echo else cal.t2star[q], ns),
                           [compact[q]])
            continue
        op: Op = item
        if not all(q in compact for q in op.qubits):
            assert not any(q in compact for q in op.qubits), f"{op} joins the component to the rest"
            continue
        gate = _STANDARD[op.name]
        if op.params:
            gate = type(gate)(*op.params)
        circuit.append(gate, [compact[q] for q in op.qubits])
        key = (op.name, tuple(compact[q] for q in op.qubits))
        if key not in seen:
            seen.add(key)
            error = gate_error(cal, op.name, op.qubits)
            if error is not None:
                noise.add_quantum_error(error, op.name, list(key[1]))
    clbits = sorted(c for c, q in timeline.measured.items() if q in compact)
    readout = []
    for c in clbits:
        p10, p01 = cal.readout[timeline.measured[c]]
        readout.append(ReadoutError([[1 - p10, p10], [p01, 1 - p01]]))
    return NoisyCircuit(circuit, noise, clbits, [compact[timeline.measured[c]] for c in clbits], readout, timeline)


def outcome_probabilities(qasm_text: str, cal: Calibration, *, idle_rule: str = "documented",
                          readout: bool = True, only: Collection[int] | None = None
                          ) -> tuple[dict[str, float], Timeline]:
    """Aer's exact outcome distribution (density matrix; keys in Qiskit's order, clbit 0 rightmost) of the
    circuit's classical bits, or with ``only`` of the bits measuring those qubits (ascending, relabelled from 0)."""
    model = noisy_circuit(qasm_text, cal, idle_rule, only)
    circuit = model.circuit.copy()
    width = len(model.measured)
    circuit.save_probabilities(model.measured)
    simulator = AerSimulator(method="density_matrix", noise_model=model.noise)
    probs = np.asarray(simulator.run(circuit, shots=1).result().data()["probabilities"], dtype=float)
    if readout:
        tensor = probs.reshape([2] * width)  # axis 0 is the highest clbit
        for c, error in enumerate(model.readout):
            confusion = np.asarray(error.probabilities)  # [true, read]
            tensor = np.moveaxis(np.tensordot(confusion.T, tensor, axes=([1], [width - 1 - c])), 0, width - 1 - c)
        probs = tensor.reshape(-1)
    return {format(i, f"0{width}b"): float(p) for i, p in enumerate(probs) if p > 1e-15}, model.timeline


def components(qasm_text: str) -> list[list[int]]:
    """The physical qubits of the circuit grouped by the two-qubit gates that join them."""
    ops, _ = parse_physical(qasm_text)
    parent: dict[int, int] = {}

    def root(q: int) -> int:
        while parent.setdefault(q, q) != q:
            q = parent[q]
        return q

    for op in ops:
        if op.name == "barrier":
            continue
        for q in op.qubits[1:]:
            parent[root(q)] = root(op.qubits[0])
        root(op.qubits[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for q in sorted(parent):
        groups[root(q)].append(q)
    return sorted(groups.values())


def marginal(counts: dict[str, int], clbits: list[int]) -> dict[str, int]:
    """Counts of the given clbits only (Qiskit-ordered keys; the result's clbit 0 is ``clbits[0]``)."""
    out: dict[str, int] = defaultdict(int)
    for key, n in counts.items():
        out["".join(key[len(key) - 1 - c] for c in reversed(clbits))] += n
    return dict(out)


def chi_square_pvalue(counts: dict[str, int], probabilities: dict[str, float]) -> float:
    """Pearson goodness of fit of ``counts`` to ``probabilities``; outcomes expected fewer than 5 times are pooled.
    An outcome the model gives probability 0 makes the p-value 0."""
    shots = sum(counts.values())
    if any(n and probabilities.get(k, 0.0) <= 0.0 for k, n in counts.items()):
        return 0.0
    cells: list[tuple[float, int]] = []
    pooled_e, pooled_o = 0.0, 0
    for key, p in probabilities.items():
        expected, observed = p * shots, counts.get(key, 0)
        if expected < 5:
            pooled_e += expected
            pooled_o += observed
        else:
            cells.append((expected, observed))
    if pooled_e > 0:
        cells.append((pooled_e, pooled_o))
    stat = sum((o - e) ** 2 / e for e, o in cells)
    return float(chi2.sf(stat, max(len(cells) - 1, 1)))


def parity_expectation(probabilities: dict[str, float], bits: list[int]) -> float:
    """E[(-1)^(sum of the given clbits)] under a distribution over Qiskit-ordered keys."""
    total = 0.0
    for key, p in probabilities.items():
        ones = sum(key[len(key) - 1 - b] == "1" for b in bits)
        total += -p if ones % 2 else p
    return total
