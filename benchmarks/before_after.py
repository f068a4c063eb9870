"""Before and after a change, in one run: parse, compile, statevector and service load on two checkouts of Xihe.

The execution-plan redesign (issue 13) must not make the recorded figures worse. Comparing today's numbers with
ones recorded on another day compares two machine loads, so this script measures both versions in the same run,
alternating them round by round: the "before" checkout is a ``git worktree`` of ``--before`` (default: the
first build that landed, before the redesign), the "after" one is this working tree. Each measurement runs in a
child process whose ``PYTHONPATH`` puts that checkout's ``src`` first, so the same interpreter and packages run
both. It prints each figure's median over the rounds and the after/before ratio (below 1 is faster).

Measures (inputs made once by this process, the same bytes for both versions):
- ``parse``: ``xihe.qasm.loads`` of the seeded 100,000-gate program of ``benchmarks/qasm_parse.py`` (best of 3);
- ``compile``: QV-16 and QFT-24 (Qiskit's library, ``u3``/``cx``) for ``dongling`` at level 3, seed 11, after a
  warm-up compile of another circuit (numba kernels compiled, no compile-cache hit), and each one's 2q count;
- ``statevector``: QV-20 on the statevector engine, one shot, after a warm-up;
- ``service``: each checkout's own ``benchmarks/service_load.py`` (``xihe serve`` on SQLite, 2 workers,
  ``--jobs`` jobs from 4 clients): throughput, p50 submit-to-result latency, and the server's CPU per job in the
  API process and in the rest of its process group (workers; the parse pool's processes count there too). The CPU
  figures hold on a loaded machine where throughput does not: the workers run at niceness 10 (issue 18), the
  first build's at 0, so other engineers' load takes their share first.

Run: ``.venv/bin/python benchmarks/before_after.py [--before REV] [--rounds 2] [--jobs 300]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from qasm_parse import generate

REPO = Path(__file__).resolve().parent.parent
FIRST_BUILD = "77b2070"  # the end of the first build's stop (2026-11-25), before issue 13's redesign

CHILD = r"""
import json, sys, time
from xihe import qasm, devices
from xihe.engines.simulate import simulate

inputs = json.loads(open(sys.argv[1]).read())
out = {}

def best(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
    return min(times)

out["parse_s"] = best(lambda: qasm.loads(inputs["parse"]), 3)
dongling = devices.get("dongling")
# Warm-up on another circuit (numba kernels compiled; a compile cache must not answer the timed calls).
dongling.compile(qasm.loads(inputs["warm"]), optimization_level=3, seed=11)
for name in ("qv16", "qft24"):
    circuit = qasm.loads(inputs[name])
    start = time.perf_counter()
    compiled = dongling.compile(circuit, optimization_level=3, seed=11)
    out[f"compile_{name}_s"] = time.perf_counter() - start
    out[f"compile_{name}_2q"] = compiled.circuit.num_nonlocal_gates()
qv20 = qasm.loads(inputs["qv20"])
simulate(qasm.loads(inputs["warm"]), shots=1, seed=1, engine="statevector")  # warm-up
start = time.perf_counter()
simulate(qv20, shots=1, seed=1, engine="statevector")
out["statevector_qv20_s"] = time.perf_counter() - start
print(json.dumps(out))
"""


def make_inputs() -> dict[str, str]:
    """The programs both versions read: the parse program and Qiskit-built QV-16, QFT-24 and QV-20."""
    from qiskit import QuantumCircuit, qasm2, transpile
    from qiskit.circuit.library import QFTGate, quantum_volume

    def as_qasm(circuit: QuantumCircuit) -> str:
        circuit = circuit.copy()
        circuit.measure_all()
        return str(qasm2.dumps(transpile(circuit, basis_gates=["u3", "cx"], optimization_level=0)))

    qft = QuantumCircuit(24)
    qft.append(QFTGate(24), range(24))
    return {"parse": generate(100_000, 40), "qv16": as_qasm(quantum_volume(16, 16, seed=16)),
            "qft24": as_qasm(qft), "qv20": as_qasm(quantum_volume(20, 20, seed=20)),
            "warm": as_qasm(quantum_volume(12, 12, seed=12))}


def child_env(checkout: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env["PYTHONPATH"] = str(checkout / "src")
    env["NUMBA_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "2"
    return env


def measure_core(checkout: Path, inputs_file: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(inputs_file)], env=child_env(checkout),
                          capture_output=True, text=True, check=True, timeout=1800, cwd=checkout)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure_service(checkout: Path, jobs: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, str(checkout / "benchmarks" / "service_load.py"), "--jobs", str(jobs),
                           "--concurrency", "4", "--workers", "2"], env=child_env(checkout), capture_output=True,
                          text=True, check=True, timeout=1800, cwd=checkout)
    throughput = re.search(r"throughput\s+([\d.]+) jobs/s", done.stdout)
    latency = re.search(r"latency p50 / p99\s+([\d.]+) /", done.stdout)
    cpu = re.search(r"CPU per job\s+([\d.]+) ms in the API process .*?, ([\d.]+) ms in the workers", done.stdout)
    if throughput is None or latency is None or cpu is None:
        raise SystemExit(f"service_load printed no figures:\n{done.stdout}\n{done.stderr}")
    return {"service_jobs_per_s": float(throughput.group(1)), "service_p50_ms": float(latency.group(1)),
            "service_api_cpu_ms_per_job": float(cpu.group(1)), "service_workers_cpu_ms_per_job": float(cpu.group(2))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=FIRST_BUILD, help="the commit to compare this working tree with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=300, help="jobs per service-load run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        before = Path(scratch) / "before"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(before), args.before],
                       check=True)
        try:
            inputs_file = Path(scratch) / "inputs.json"
            inputs_file.write_text(json.dumps(make_inputs()))
            figures: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
            for round_number in range(args.rounds):
                order = [("before", before), ("after", REPO)]
                for side, checkout in order if round_number % 2 == 0 else order[::-1]:
                    measured = {**measure_core(checkout, inputs_file), **measure_service(checkout, args.jobs)}
                    for key, value in measured.items():
                        figures[side].setdefault(key, []).append(value)
                    print(f"round {round_number + 1} {side}: {json.dumps(measured)}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(before)], check=False)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    print(f"\nbefore: {args.before}; after: this working tree (HEAD {head}); medians of {args.rounds} rounds; "
          f"load average now {os.getloadavg()[0]:.1f}")
    print("| measure | before | after | after / before |\n|---|---|---|---|")
    for key in figures["before"]:
        old, new = statistics.median(figures["before"][key]), statistics.median(figures["after"][key])
        print(f"| {key} | {old:.4g} | {new:.4g} | {new / old:.2f} |")


if __name__ == "__main__":
    main()
