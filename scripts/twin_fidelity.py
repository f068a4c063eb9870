"""Print the twin-fidelity figures of docs/characterization.md (issue 16) for the xihe on the import path.

Run on this tree (``python scripts/twin_fidelity.py``) and on an older one (``PYTHONPATH=<old>/src``) to compare:
idle relaxation of a verbatim circuit against an explicit delay and the closed form, Ramsey after 10 µs, readout
errors per twin, ``x; measure`` counts on the three twins, and how many seeded compiles for ``line10`` measure a
qubit mid-circuit. Exact probabilities come from the density-matrix engine.
"""

from __future__ import annotations

import math
import random
import statistics

from xihe import devices
from xihe.circuit import Circuit


def p1(result: object, bit: int = 0) -> float:
    probabilities = result.exact_probabilities  # type: ignore[attr-defined]
    return sum(p for key, p in probabilities.items() if key[bit] == "1")


def idle_and_ramsey(name: str, a: int, neighbour: int) -> None:
    device = devices.get(name)
    target = device.target
    pulses = int(3600 // target.duration("rx", (neighbour,)))
    idle = pulses * target.duration("rx", (neighbour,)) - target.duration("rx", (a,))
    busy = Circuit(device.num_qubits, 2).rx(math.pi, a)
    for _ in range(pulses):
        busy.rx(math.pi, neighbour)
    busy.measure(a, 0).measure(neighbour, 1)
    explicit = Circuit(device.num_qubits, 1).rx(math.pi, a).delay(idle, a).measure(a, 0)
    p10, p01 = target.readout_error[a]
    population = math.exp(-(idle + target.duration("rx", (a,))) / target.t1[a])
    closed = p10 * (1 - population) + (1 - p01) * population
    print(f"{name} q{a}: idle {idle:.0f} ns: busy neighbour (verbatim) {p1(device.run(busy, 1000, seed=1)):.4f}, "
          f"explicit delay {p1(device.run(explicit, 1000, seed=1)):.4f}, closed form {closed:.4f}")
    ramsey = Circuit(device.num_qubits, 1).rx(math.pi / 2, a).delay(10_000, a).rx(-math.pi / 2, a).measure(a, 0)
    star = getattr(target, "t2_ramsey", {}).get(a, float("nan"))
    print(f"{name} q{a}: Ramsey P(1) after 10 us {p1(device.run(ramsey, 1000, seed=1)):.4f} "
          f"(T2echo {target.t2[a] / 1e3:.2f} us, T2* {star / 1e3:.2f} us)")


def readout(name: str) -> None:
    device = devices.get(name)
    values = list(device.target.readout_error.values())
    p10 = [v[0] for v in values]
    p01 = [v[1] for v in values]
    compiled = device.compile(Circuit(1, 1).x(0).measure(0, 0), seed=1)
    counts = device.run(None, 20_000, seed=7, compiled=compiled).counts
    print(f"{name}: P(1|0) median {statistics.median(p10):.4f} ({min(p10):.4f}-{max(p10):.4f}), P(0|1) median "
          f"{statistics.median(p01):.4f} ({min(p01):.4f}-{max(p01):.4f}); x;measure 20k shots seed 7: {counts}")


def mid_circuit_measurements() -> None:
    device = devices.get("line10")
    rng = random.Random(5)
    bad = total = 0
    for _ in range(40):
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
        qc.measure(list(range(n)), list(range(n)))
        for seed in range(3):
            for level in (1, 2, 3):
                total += 1
                measured: set[int] = set()
                for op in device.compile(qc, optimization_level=level, seed=seed).circuit.operations:
                    if op.gate.name == "measure":
                        measured.add(op.qubits[0])
                    elif op.gate.name not in ("barrier", "delay") and measured & set(op.qubits):
                        bad += 1
                        break
    print(f"line10: {bad} of {total} compiles measure a qubit mid-circuit")


if __name__ == "__main__":
    idle_and_ramsey("line10", 3, 4)
    idle_and_ramsey("dongling", 56, 57)
    for twin in ("line10", "dongling", "grid36"):
        readout(twin)
    mid_circuit_measurements()
