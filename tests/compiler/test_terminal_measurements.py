"""Terminal measurements stay terminal and simultaneous (issue 16): a Quafu chip reads all qubits out together at
the end of the circuit.

Before, the router emitted a measurement as soon as its qubit was done and could then route a swap through the
measured qubit (on these seeded random circuits for ``line10``, 40 of 360 compiles measured a qubit mid-circuit), and
the scheduler started each measurement as early as its qubit allowed. The check here is independent of the
scheduler: it replays the compiled circuit with the Target's durations (each operation starts when all its qubits
are free) and requires every measurement to be the last operation on its qubit and all to start at one time.
"""

from __future__ import annotations

import random

import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import Target


def random_circuit(rng: random.Random) -> Circuit:
    n = rng.randint(3, 6)
    qc = Circuit(n, n)
    for _ in range(rng.randint(4, 20)):
        a, b = rng.sample(range(n), 2)
        r = rng.random()
        if r < 0.5:
            qc.cx(a, b)
        elif r < 0.7:
            qc.h(a)
        else:
            qc.t(a)
    return qc.measure(list(range(n)), list(range(n)))


def measurement_starts(circuit: Circuit, target: Target) -> list[float]:
    """Start time of each measurement of a qubit that did something before (a qubit only measured holds |0> and
    needs no idle time), replaying the circuit; fails if any operation follows a measurement on its qubit."""
    free: dict[int, float] = {}
    measured: set[int] = set()
    starts = []
    for op in circuit.operations:
        name = op.gate.name
        if name == "barrier":
            continue
        assert not measured & set(op.qubits), f"{name} on {op.qubits} after a measurement there"
        start = max((free.get(q, 0.0) for q in op.qubits), default=0.0)
        if name == "measure":
            measured.add(op.qubits[0])
            if op.qubits[0] in free:
                starts.append(start)
            duration = target.measure_duration
        elif name == "delay":
            duration = float(op.gate.params[0])  # type: ignore[arg-type]
        else:
            duration = target.duration(name, op.qubits)
        for q in op.qubits:
            free[q] = start + duration
    return starts


# (circuit index in the seeded stream, compiler seed): the compiles that measured mid-circuit before, then others.
CASES = [(33, 1), (35, 0), (35, 1), (38, 2), (6, 0), (19, 3)]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_terminal_measurements_stay_terminal_and_start_together(level: int) -> None:
    device = devices.get("line10")
    rng = random.Random(5)
    circuits = [random_circuit(rng) for _ in range(40)]
    for index, seed in CASES:
        compiled = device.compile(circuits[index], optimization_level=level, seed=seed)
        starts = measurement_starts(compiled.circuit, device.target)
        assert len(starts) >= 2
        assert max(starts) - min(starts) < 1e-6, (index, seed, starts)
        assert compiled.duration_ns == pytest.approx(max(starts) + device.target.measure_duration)


def test_a_mid_circuit_measurement_stays_where_it_is() -> None:
    device = devices.get("line10")
    qc = Circuit(2, 2).h(0).cx(0, 1).measure(0, 0).h(0).measure(0, 1)
    compiled = device.compile(qc, seed=1)
    names = [op.gate.name for op in compiled.circuit.operations if op.gate.name != "delay"]
    first = names.index("measure")
    assert "measure" in names[first + 1:] and any(n not in ("measure", "barrier") for n in names[first + 1:])


def test_over_many_seeds_no_compile_measures_mid_circuit() -> None:
    device = devices.get("line10")
    rng = random.Random(5)
    circuits = [random_circuit(rng) for _ in range(40)]
    for index in (33, 35, 38):
        for seed in range(24):
            compiled = device.compile(circuits[index], optimization_level=1 + seed % 3, seed=seed)
            starts = measurement_starts(compiled.circuit, device.target)
            assert max(starts) - min(starts) < 1e-6, (index, seed, starts)
