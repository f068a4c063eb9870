"""Xihe's compiler against Qiskit's, TKET's and QSteed's: 2q count, depth, estimated success probability, time.

Every QASMBench circuit of at most ``--max-qubits`` qubits (the source files, not the ``_transpiled`` ones) is
compiled for each device by Xihe (level 3) and by each peer in one run: Qiskit's ``transpile`` (optimization level
3, the same working coupling map, the device's native 2q gate and rx/ry/rz, same seed), TKET's default level-2 pass
for the architecture and QSteed at level 3 on the same chip file (see ``_compiler_peers.py``). All outputs are
scored by the same functions: the 2q count, the depth without delays, and the estimated success probability from
the device's calibration after the same ASAP schedule. Ratios are Xihe / peer; geometric means are printed at the
end of each device's table. Compile times are wall clock and CPU time of the compiling process (Qiskit's Rust
passes may use both cores; QSteed runs in its own worker process and is timed there), each compile after a
``gc.collect()``; ``--json`` rows also carry Xihe's calling-thread CPU (``thread_cpu_seconds``).

    python benchmarks/compiler.py                       # dongling and grid36, every circuit <= 27 qubits
    python benchmarks/compiler.py --devices line10 --max-qubits 9 --json out.json
    python benchmarks/compiler.py --large --peers qiskit tket qsteed   # the larger set, all three peers

``--large`` swaps QASMBench for larger circuits built with Qiskit (same seed, written as OpenQASM 2 in the
cx/u3 gate set at Qiskit's level 0, so every compiler reads the same text): quantum_volume(16, 16) and (20, 20),
QFT-24 and -32 (QFTGate), 50- and 100-qubit ry+cx brickworks of 8 layers (as wide as the device where it is
narrower), a 30-qubit QAOA ring (rzz, p = 2) and 20- and 60-qubit GHZ; each device gets those that fit it.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compiler_peers import qsteed_available, qsteed_circuit, qsteed_compile_all, tket_compile
from _qasmbench import qasm_files, repair

from xihe import devices, qasm
from xihe.circuit import Circuit, Gate, Operation
from xihe.circuit.register import ClassicalRegister, QuantumRegister
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.estimate import log_success_probability
from xihe.compiler.passes import ASAPSchedule
from xihe.compiler.target import Target
from xihe.devices.compile import depth_without_delays


def basis(target: Target) -> list[str]:
    """The peers' gate set: the device's native 2q gate (cz; cx on line10, one way) and rx/ry/rz. A non-native 2q
    gate would be scored without its duration and its direction change."""
    return ["cz" if "cz" in target.two_qubit_gates else "cx", "rx", "ry", "rz"]
BAD_COUPLER = 0.075  # a 2q gate on a coupler with more error than this counts as "bad" (dongling's ~10 % ones)


def source_files(max_qubits: int) -> list[Path]:
    return [p for p in qasm_files(max_qubits) if p.stem == p.parent.name]


def scored(circuit: Circuit, target: Target) -> dict[str, float]:
    """2q count, depth and ESP of a native circuit, after Xihe's ASAP schedule (so both compilers pay idle decay)."""
    bare = circuit.copy_empty()
    bare.operations = [op for op in circuit.operations if op.gate.name != "delay"]
    scheduled = ASAPSchedule(target).run(DAGCircuit.from_circuit(bare), {}).to_circuit()
    errors = [target.two_qubit_error(*op.qubits) for op in bare.operations
              if op.gate.is_unitary and len(op.qubits) == 2]
    # Every 2q gate is charged its pair's best native gate error, whatever its name: the peers emit cz, which on
    # line10 (native cx) the calibration does not list and would otherwise score as free.
    log_esp = log_success_probability(scheduled, target)
    for op in scheduled.operations:
        if op.gate.is_unitary and len(op.qubits) == 2:
            log_esp += math.log1p(-min(target.two_qubit_error(*op.qubits), 1 - 1e-12))
            log_esp -= math.log1p(-min(target.error(op.gate.name, op.qubits), 1 - 1e-12))
    return {
        "cz_error": sum(errors) / len(errors) if errors else 0.0,
        "bad": sum(e > BAD_COUPLER for e in errors),
        "two_qubit": bare.num_nonlocal_gates(),
        "depth": depth_without_delays(bare),
        "esp": math.exp(log_esp),
    }


def off_coupler(circuit: Circuit, target: Target) -> int:
    """Two-qubit gates the chip cannot run: a cz on a pair that is not a working coupler, any other 2q gate
    (line10's cx) against the file's direction."""
    edges = set(target.coupling_map)
    return sum(1 for op in circuit.operations if op.gate.is_unitary and len(op.qubits) == 2
               and op.qubits not in edges and not (op.gate.name == "cz" and op.qubits[::-1] in edges))


def qiskit_compile(text: str, target: Target, seed: int) -> tuple[Circuit, tuple[float, float]]:
    """Qiskit level 3 on the working qubits (relabelled 0..k-1 and back), converted to a Xihe circuit."""
    import qiskit.qasm2
    from qiskit import transpile
    from qiskit.transpiler import CouplingMap

    working = list(target.working_qubits)
    index = {q: i for i, q in enumerate(working)}
    coupling = CouplingMap([[index[a], index[b]] for a, b in sorted(target.coupling_map)])
    source = qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    gc.collect()  # as before Xihe's compile: neither is charged the process's earlier garbage
    started, cpu = time.perf_counter(), time.process_time()
    out = transpile(source, coupling_map=coupling, basis_gates=basis(target), optimization_level=3,
                    seed_transpiler=seed)
    elapsed = (time.perf_counter() - started, time.process_time() - cpu)
    circuit = Circuit(QuantumRegister("q", target.num_qubits))
    if out.num_clbits:
        circuit.add_register(ClassicalRegister("c", out.num_clbits))
    ops: list[Operation] = []
    for inst, qargs in _flatten(out.data, [out.find_bit(q).index for q in out.qubits], out):
        name = inst.operation.name
        qubits = tuple(working[q] for q in qargs)
        if name == "barrier":
            ops.append(Operation(Gate("barrier", num_qubits=len(qubits)), qubits))
        elif name == "measure":
            ops.append(Operation(Gate(name), qubits, tuple(out.find_bit(c).index for c in inst.clbits)))
        elif name == "reset":
            ops.append(Operation(Gate(name), qubits))
        else:
            ops.append(Operation(Gate(name, [float(p) for p in inst.operation.params]), qubits))
    circuit.operations = ops
    return circuit, elapsed


def _flatten(data: Any, wires: list[int], circuit: Any) -> list[tuple[Any, list[int]]]:
    """(instruction, physical qubit indices), control-flow blocks (``if_else``) flattened into their first body."""
    out = []
    for inst in data:
        qargs = [wires[circuit.find_bit(q).index] for q in inst.qubits]
        blocks = getattr(inst.operation, "blocks", None)
        if blocks:
            body = blocks[0]
            out.extend(_flatten(body.data, qargs, body))
        else:
            out.append((inst, qargs))
    return out


def large_circuits(seed: int, width: int) -> list[tuple[str, str]]:
    """(name, OpenQASM 2 text) of the larger set that fits ``width`` connected working qubits, built with Qiskit.

    QV-16/20, QFT-24/32 (QFTGate), 50- and 100-qubit ry+cx brickworks of 8 layers (a device narrower than 100 gets
    one as wide as it is), a 30-qubit QAOA ring (rzz, p = 2), 20- and 60-qubit GHZ.
    """
    import numpy as np
    import qiskit.qasm2
    from qiskit import QuantumCircuit, transpile
    from qiskit.circuit.library import QFTGate, quantum_volume

    rng = np.random.default_rng(seed)

    def qft(n: int) -> QuantumCircuit:
        circuit = QuantumCircuit(n)
        circuit.append(QFTGate(n), range(n))
        return circuit

    def brickwork(n: int) -> QuantumCircuit:
        circuit = QuantumCircuit(n)
        for layer in range(8):
            for q in range(n):
                circuit.ry(float(rng.uniform(0, np.pi)), q)
            for q in range(layer % 2, n - 1, 2):
                circuit.cx(q, q + 1)
        return circuit

    def qaoa_ring(n: int) -> QuantumCircuit:
        circuit = QuantumCircuit(n)
        circuit.h(range(n))
        for _ in range(2):
            gamma, beta = (float(x) for x in rng.uniform(0, np.pi, 2))
            for q in range(n):
                circuit.rzz(gamma, q, (q + 1) % n)
            for q in range(n):
                circuit.rx(beta, q)
        return circuit

    def ghz(n: int) -> QuantumCircuit:
        circuit = QuantumCircuit(n)
        circuit.h(0)
        for q in range(n - 1):
            circuit.cx(q, q + 1)
        return circuit

    wide = min(100, width)
    built = [("qv_16x16", quantum_volume(16, 16, seed=seed)), ("qv_20x20", quantum_volume(20, 20, seed=seed)),
             ("qft_24", qft(24)), ("qft_32", qft(32)), ("brickwork_50x8", brickwork(50)),
             (f"brickwork_{wide}x8", brickwork(wide)), ("qaoa_ring_30_p2", qaoa_ring(30)), ("ghz_20", ghz(20)),
             ("ghz_60", ghz(60))]
    out = []
    for label, circuit in built:
        if circuit.num_qubits > width or label in {name for name, _ in out}:
            continue
        plain = QuantumCircuit(circuit.num_qubits)  # one register named q (QSteed's reader needs it)
        plain.compose(circuit, range(circuit.num_qubits), inplace=True)
        plain.measure_all()
        flat = transpile(plain, basis_gates=["u3", "cx"], optimization_level=0)
        out.append((label, qiskit.qasm2.dumps(flat)))
    return out


PEERS = ("qiskit", "tket", "qsteed")


def run_device(name: str, files: list[Path] | list[tuple[str, str]], seed: int, rows: list[dict[str, Any]],
               peers: list[str]) -> None:
    device = devices.get(name)
    target = device.target
    items = [item if isinstance(item, tuple) else (item.stem, repair(item.read_text())) for item in files]
    items = [(stem, text) for stem, text in items if _fits(text, target)]
    qsteed: dict[str, dict[str, Any]] = {}
    if "qsteed" in peers:
        why = qsteed_available(name)
        if why is None:
            qsteed = qsteed_compile_all(name, items)
        else:
            print(f"QSteed not run on {name}: {why}")
            peers = [p for p in peers if p != "qsteed"]
    print(f"\n## {name}: Xihe level 3 against {', '.join(peers)} (2q count, depth, ESP, CPU seconds)")
    columns = ["xihe", *peers]
    print(f"{'circuit':22} {'n':>3} " + " ".join(f"{'2q ' + c[:2]:>6} {'d ' + c[:2]:>6} {'esp ' + c[:2]:>9} "
                                                 f"{'cpu ' + c[:2]:>7}" for c in columns))
    ratios: dict[str, dict[str, list[float]]] = {p: {"two_qubit": [], "depth": [], "esp": [], "time": [],
                                                     "cpu_time": []} for p in peers}
    for stem, text in items:
        circuit = qasm.loads(text)
        # A full collection of the process's objects (both compilers' caches, the circuits) costs 0.1-0.2 s here
        # and lands in whichever compile triggers it; each side starts with none pending (issue 19).
        gc.collect()
        started, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
        compiled = device.compile(circuit, optimization_level=3, seed=seed)
        xihe_time, xihe_cpu = time.perf_counter() - started, time.process_time() - cpu
        xihe_thread = time.thread_time() - own  # the calling thread's CPU: the critical path with a core per thread
        results: dict[str, dict[str, Any]] = {"xihe": {**scored(compiled.circuit, target), "seconds": xihe_time,
                                                       "cpu_seconds": xihe_cpu, "thread_cpu_seconds": xihe_thread}}
        for peer in peers:
            try:
                if peer == "qiskit":
                    out, (wall, cpu_s) = qiskit_compile(text, target, seed)
                elif peer == "tket":
                    out, (wall, cpu_s) = tket_compile(text, target)
                else:
                    got = qsteed.get(stem)
                    if got is None or "error" in got:
                        raise RuntimeError(got["error"] if got else "not run")
                    out, wall, cpu_s = qsteed_circuit(got["qasm"], name, target), got["seconds"], got["cpu"]
                off = off_coupler(out, target)
                if off:
                    raise RuntimeError(f"{off} two-qubit gates on pairs the device does not couple")
                results[peer] = {**scored(out, target), "seconds": wall, "cpu_seconds": cpu_s}
            except Exception as exc:  # a peer that fails on a circuit is reported, not hidden
                results[peer] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
        rows.append({"device": name, "circuit": stem, "qubits": circuit.num_qubits, **results})
        cells = []
        for c in columns:
            r = results[c]
            cells.append(f"{'-':>6} {'-':>6} {'-':>9} {'-':>7}" if "error" in r else
                         f"{r['two_qubit']:>6} {r['depth']:>6} {r['esp']:>9.3g} {r['cpu_seconds']:>7.2f}")
        print(f"{stem:22} {circuit.num_qubits:>3} " + " ".join(cells), flush=True)
        mine = results["xihe"]
        for peer in peers:
            theirs = results[peer]
            if "error" in theirs:
                print(f"  {peer} failed on {stem}: {theirs['error']}")
                continue
            for key in ("two_qubit", "depth"):
                a, b = mine[key], theirs[key]
                ratios[peer][key].append(1.0 if a == b == 0 else (a + 1e-9) / (b + 1e-9) if b else float("inf"))
            ratios[peer]["esp"].append(max(mine["esp"], 1e-300) / max(theirs["esp"], 1e-300))
            ratios[peer]["time"].append(xihe_time / max(theirs["seconds"], 1e-6))
            ratios[peer]["cpu_time"].append(xihe_cpu / max(theirs["cpu_seconds"], 1e-6))
    for peer in peers:
        r = ratios[peer]
        print(f"{name}, Xihe/{peer} geometric means over {len(r['esp'])} circuits: "
              + ", ".join(f"{k} {geomean(v):.3g}" for k, v in r.items())
              + f"; 2q higher on {sum(x > 1 for x in r['two_qubit'])}, lower on "
              f"{sum(x < 1 for x in r['two_qubit'])}; ESP lower on {sum(x < 1 for x in r['esp'])}")


def _fits(text: str, target: Target) -> bool:
    """Whether the circuit reads and fits the device's largest connected group (else it is left out, said so)."""
    try:
        circuit = qasm.loads(text)
    except Exception as exc:  # a file Xihe cannot read is reported, not hidden
        print(f"skipped: {exc}")
        return False
    return circuit.num_qubits <= len(target.components[0])


def geomean(values: list[float]) -> float:
    finite = [v for v in values if 0 < v < float("inf")]
    return math.exp(sum(math.log(v) for v in finite) / len(finite)) if finite else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", nargs="+", default=["dongling", "grid36"])
    parser.add_argument("--max-qubits", type=int, default=27)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--only", nargs="*", help="circuit names to run (default: all)")
    parser.add_argument("--exclude", nargs="*", default=[], help="circuit names to leave out")
    parser.add_argument("--json", type=Path, help="write per-circuit rows here")
    parser.add_argument("--large", action="store_true", help="the larger set instead of QASMBench")
    parser.add_argument("--peers", nargs="+", default=["qiskit"], choices=PEERS,
                        help="compilers to compare with (default: qiskit; tket needs pytket, qsteed .venv-qsteed)")
    args = parser.parse_args()
    files: list[Path] | list[tuple[str, str]] = []
    if not args.large:
        files = [p for p in source_files(args.max_qubits)
                 if (not args.only or p.stem in args.only) and p.stem not in args.exclude]
    rows: list[dict[str, Any]] = []
    # Load the compiled kernels before timing anything (a swap after a CX: block resynthesis loads the KAK kernel;
    # its triangle of pairs needs routing, and a Bell pair embeds, so VF2Layout's scoring kernel loads too).
    warm = Circuit(3).h(0).cx(0, 2).cx(1, 2).swap(0, 2).rz(0.3, 1).cx(1, 2)
    bell = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    for name in args.devices:
        for circuit in (warm, bell):
            devices.get(name).compile(circuit, optimization_level=3, seed=0)
    for name in args.devices:
        if args.large:
            width = len(devices.get(name).target.components[0])
            files = [(n, t) for n, t in large_circuits(args.seed, width)
                     if (not args.only or n in args.only) and n not in args.exclude]
        run_device(name, files, args.seed, rows, args.peers)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
