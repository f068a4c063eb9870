"""OpenQASM 3 parse speed: Xihe's front end vs the reference ``openqasm3`` parser (AST only) and
``qiskit.qasm3.loads`` (qiskit-qasm3-import, which builds on ``openqasm3``), plus the error each gives.

    .venv/bin/python benchmarks/qasm3_parse.py
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import random
import statistics
import time
from collections.abc import Callable

import openqasm3
from qiskit import QuantumCircuit, qasm3

from xihe import qasm


def program(num_qubits: int, num_gates: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    qc = QuantumCircuit(num_qubits, num_qubits)
    for _ in range(num_gates):
        a, b = rng.sample(range(num_qubits), 2)
        kind = rng.random()
        if kind < 0.4:
            qc.rz(rng.uniform(-math.pi, math.pi), a)
        elif kind < 0.7:
            qc.sx(a)
        else:
            qc.cx(a, b)
    qc.barrier()
    qc.measure(range(num_qubits), range(num_qubits))
    return str(qasm3.dumps(qc))


def dynamic_program(num_qubits: int, num_blocks: int, seed: int = 1) -> str:
    """Mid-circuit measurements, each followed by an if/else block (on a bit, or on the register) of a few gates."""
    rng = random.Random(seed)
    qc = QuantumCircuit(num_qubits, num_qubits)
    for _ in range(num_blocks):
        a, b = rng.sample(range(num_qubits), 2)
        qc.sx(a)
        qc.cx(a, b)
        qc.measure(a, a)
        condition = (qc.clbits[a], 1) if rng.random() < 0.7 else (qc.cregs[0], rng.randrange(4))
        with qc.if_test(condition) as otherwise:
            qc.rz(rng.uniform(-math.pi, math.pi), b)
            qc.x(a)
        with otherwise:
            qc.cx(b, a)
    qc.measure(range(num_qubits), range(num_qubits))
    return str(qasm3.dumps(qc))


def best_of(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    print("| program | Xihe qasm.loads | openqasm3.parse (AST only) | qiskit.qasm3.loads |")
    print("|---|---|---|---|")
    for qubits, gates in ((5, 100), (20, 2_000), (50, 20_000)):
        text = program(qubits, gates)
        repeat = 5 if gates <= 2_000 else 2
        cells = []
        readers: tuple[Callable[[str], object], ...] = (qasm.loads, openqasm3.parse, qasm3.loads)
        for reader in readers:
            function = functools.partial(reader, text)
            low, _median = best_of(function, repeat)
            cells.append(f"{low * 1e3:.1f} ms")
        print(f"| {qubits} qubits, {gates} gates | " + " | ".join(cells) + " |")
    print()
    print("| dynamic program | Xihe qasm.loads | openqasm3.parse (AST only) | qiskit.qasm3.loads |")
    print("|---|---|---|---|")
    for qubits, blocks in ((5, 50), (20, 1_000)):
        text = dynamic_program(qubits, blocks)
        cells = []
        for reader in (qasm.loads, openqasm3.parse, qasm3.loads):
            low, _median = best_of(functools.partial(reader, text), 3)
            cells.append(f"{low * 1e3:.1f} ms")
        print(f"| {qubits} qubits, {blocks} if/else blocks | " + " | ".join(cells) + " |")
    broken = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0]\ncx q[0], q[1];\n'
    undefined = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nrx(theta) q[0];\n'
    for label, text in (("missing ';'", broken), ("undeclared name", undefined)):
        for name, function in (("xihe", qasm.loads), ("openqasm3", openqasm3.parse)):
            printed = io.StringIO()
            try:
                with contextlib.redirect_stderr(printed):
                    function(text)
                print(f"{label} / {name}: accepted")
            except Exception as exc:  # reporting whatever each parser raises
                message = str(exc).strip() or "(empty message)"
                print(f"{label} / {name}: {type(exc).__name__}: {message[:160]!r}; stderr: "
                      f"{printed.getvalue().strip()[:160]!r}")


if __name__ == "__main__":
    main()
