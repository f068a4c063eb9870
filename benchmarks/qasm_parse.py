"""Time parsing a generated 100,000-gate OpenQASM 2 program with Xihe and with ``qiskit.qasm2.loads``.

Run: ``.venv/bin/python benchmarks/qasm_parse.py [--gates 100000] [--qubits 40] [--repeat 5] [--profile]``.
Both parsers read the same text in the same process; each figure is the best of ``--repeat`` runs. Qiskit is
given ``LEGACY_CUSTOM_INSTRUCTIONS`` so that it builds its own gate objects for the legacy ``qelib1.inc`` gates
(``sx``, ``rzz``, ``swap``...) just as Xihe does. The program mixes 1-qubit gates with and without angles,
``u3`` with three angles, and 2-qubit gates with and without angles; every angle is a distinct random float
written with ``repr``, so no parser can lean on repeated parameter text.
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from collections.abc import Callable

ONE_QUBIT = ("h", "x", "sx", "t", "s", "sdg", "y")
ONE_QUBIT_ANGLE = ("rz", "rx", "ry", "u1")
TWO_QUBIT = ("cx", "cz", "swap", "cy")
TWO_QUBIT_ANGLE = ("rzz", "cu1", "crz")


def generate(num_gates: int, num_qubits: int, seed: int = 7) -> str:
    """A valid program of ``num_gates`` gate statements on ``num_qubits`` qubits (seeded)."""
    rng = random.Random(seed)
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{num_qubits}];", f"creg c[{num_qubits}];"]
    for _ in range(num_gates):
        r = rng.random()
        a = rng.randrange(num_qubits)
        if r < 0.3:
            lines.append(f"{rng.choice(ONE_QUBIT)} q[{a}];")
        elif r < 0.55:
            lines.append(f"{rng.choice(ONE_QUBIT_ANGLE)}({rng.uniform(-3.2, 3.2)!r}) q[{a}];")
        elif r < 0.6:
            angles = ",".join(repr(rng.uniform(-3.2, 3.2)) for _ in range(3))
            lines.append(f"u3({angles}) q[{a}];")
        else:
            b = rng.randrange(num_qubits - 1)
            b += b >= a
            if r < 0.9:
                lines.append(f"{rng.choice(TWO_QUBIT)} q[{a}],q[{b}];")
            else:
                lines.append(f"{rng.choice(TWO_QUBIT_ANGLE)}({rng.uniform(-3.2, 3.2)!r}) q[{a}],q[{b}];")
    return "\n".join(lines) + "\n"


def best_time(parse: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        parse()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=100_000)
    ap.add_argument("--qubits", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one Xihe parse")
    ap.add_argument("--file", help="time this .qasm file instead of a generated program")
    args = ap.parse_args()

    import qiskit
    import qiskit.qasm2

    from xihe import qasm

    if args.file:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    else:
        text = generate(args.gates, args.qubits)
    xihe_circuit = qasm.loads(text)
    qiskit_circuit = qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    assert len(xihe_circuit) == len(qiskit_circuit.data)
    args.gates = len(xihe_circuit)

    xihe_s = best_time(lambda: qasm.loads(text), args.repeat)
    qiskit_s = best_time(
        lambda: qiskit.qasm2.loads(text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS), args.repeat
    )
    dump_s = best_time(lambda: qasm.dumps(xihe_circuit), args.repeat)
    source = args.file or "generated program"
    print(f"{source}: {args.gates} operations on {xihe_circuit.num_qubits} qubits, {len(text) / 1e6:.2f} MB of text")
    print(f"python {platform.python_version()}, qiskit {qiskit.__version__}, best of {args.repeat}")
    print(f"xihe.qasm.loads      {xihe_s:.3f} s  ({args.gates / xihe_s / 1e3:.0f}k gates/s)")
    print(f"qiskit.qasm2.loads   {qiskit_s:.3f} s  ({args.gates / qiskit_s / 1e3:.0f}k gates/s)")
    print(f"ratio xihe/qiskit    {xihe_s / qiskit_s:.2f}")
    print(f"xihe.qasm.dumps      {dump_s:.3f} s")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(qasm.loads, text)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
