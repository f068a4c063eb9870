"""GHZ on dongling (issue 16): compiled two-qubit count, depth and ESP against Qiskit's level 3, then the twin job.

The compile rows go through ``benchmarks/compiler.py``'s ``run_device`` (Xihe level 3 against Qiskit O3, same
coupling map and basis, seed 11): GHZ-N (``h``, a ``cx`` chain) with and without a layer of ``t`` gates, written
as OpenQASM 2 in Qiskit's u3/cx basis as that benchmark's larger set is. The twin rows plan and execute the
GHZ-40 on the ``dongling`` twin (compiled at level 2, seed 5, as a job is) with ``t`` on qubit 0 (the
``twin-dongling-ghz40`` case of ``benchmarks/noisy.py``) and with the ``t`` layer, and print the CZ count, how
long the compiled circuit runs before the readout, the all-zeros and all-ones counts with the next most
frequent outcome, the engine's metadata, and the wall and CPU time of ``execute`` (this process's CPU; the engines'
kernels are compiled first, as a worker does). The first compile row's time includes the compiler's kernels.

Run: ``.venv/bin/python benchmarks/ghz_twin.py [--sizes 40 60 100] [--shots 1000 5000] [--no-compile]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import qiskit.qasm2
from qiskit import QuantumCircuit, transpile

from compiler import run_device
from xihe import devices
from xihe.circuit import Circuit
from xihe.devices.plan import PlanOptions
from xihe.engines import warm


def qiskit_ghz(n: int, t_layer: bool) -> str:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    if t_layer:
        qc.t(range(n))
    qc.measure_all()
    return qiskit.qasm2.dumps(transpile(qc, basis_gates=["u3", "cx"], optimization_level=0))


def xihe_ghz(n: int, t_layer: bool) -> Circuit:
    circuit = Circuit(n, n).h(0)
    if not t_layer:
        circuit.t(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    for i in range(n if t_layer else 0):
        circuit.t(i)
    circuit.measure(list(range(n)), list(range(n)))
    return circuit


def time_to_readout(circuit: Circuit, device: devices.Device) -> float:
    """The longest a qubit is busy (gates and delays) before the terminal readout, in us."""
    busy: dict[int, float] = {}
    for op in circuit.operations:
        if op.gate.name == "delay":
            ns = float(op.gate.params[0])  # type: ignore[arg-type]
        elif op.gate.is_unitary:
            ns = device.target.duration(op.gate.name, op.qubits)
        else:
            continue
        for q in op.qubits:
            busy[q] = busy.get(q, 0.0) + ns
    return max(busy.values(), default=0.0) / 1000


def twin_rows(shots_list: list[int]) -> None:
    warm()  # the engines' kernels compiled before the first timed run, as a worker does when it starts
    device = devices.get("dongling")
    for t_layer in (False, True):
        for shots in shots_list:
            label = f"GHZ-40, {'t layer' if t_layer else 't on 0'}, {shots} shots"
            plan = device.plan([xihe_ghz(40, t_layer)], shots, PlanOptions(seeds=(5,)))
            native = plan.circuits[0].native
            start, cpu = time.perf_counter(), time.process_time()
            [result] = device.execute(plan)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            counts = Counter(result.counts)
            zeros, ones = counts.get("0" * 40, 0), counts.get("1" * 40, 0)
            others = [v for k, v in counts.most_common(4) if set(k) not in ({"0"}, {"1"})]
            cz = sum(1 for op in native.operations if op.gate.name == "cz")
            meta = {k: result.metadata.get(k) for k in ("engine", "bond_dimension", "truncation_error", "trajectories")}
            print(f"{label}: {cz} CZ, {time_to_readout(native, device):.2f} us to readout; 0...0 {zeros}, "
                  f"1...1 {ones}, next {others[0] if others else 0}, {len(counts)} distinct; {meta}; "
                  f"{wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 60, 100])
    parser.add_argument("--shots", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--no-compile", action="store_true", help="only the twin rows")
    args = parser.parse_args()
    if not args.no_compile:
        items = [(f"ghz_{n}{'_t' if t else ''}", qiskit_ghz(n, t)) for n in args.sizes for t in (False, True)]
        run_device("dongling", items, 11, [], ["qiskit"])
    twin_rows(args.shots)


if __name__ == "__main__":
    main()
