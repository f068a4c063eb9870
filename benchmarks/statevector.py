"""Statevector speed: Xihe against Qiskit Aer, qsim (qsimcirq) and qulacs, same circuits, same threads.

Run: ``.venv/bin/python benchmarks/statevector.py`` (needs the ``bench`` extra: ``pip install -e '.[bench]'``).
Options: ``--circuits qv20,qv22,qv24,qv26,qft24,ghz28`` ``--sims xihe,aer,qsim,qulacs`` ``--threads 2``.

Circuits: quantum volume QV-n (``qiskit.circuit.library.QuantumVolume(n, depth=n, seed=n)`` transpiled to
``u3``/``cx``), QFT-24 (``h``/``cp``/``swap``) and GHZ-28. Each (circuit, simulator) runs in its own process, so
the peak memory (``ru_maxrss``) is that run's alone; the time is the wall time of the simulator's own call that
returns the final state (circuit construction excluded). Xihe's states are checked against every peer's
(fidelity) up to 22 qubits. The script also measures this machine's memory bandwidth: one pass over a
``2^n`` complex128 state (read + write, ``32 * 2^n`` bytes) can not take less than ``32 * 2^n / bandwidth``, so
the time of each run is also shown in such pass-equivalents, and Xihe's effective bandwidth is its kernel
passes (fused blocks) times ``32 * 2^n`` bytes over its time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_CIRCUITS = ["qv20", "qv22", "qv24", "qft24", "ghz28", "qv26"]
DEFAULT_SIMS = ["xihe", "aer", "qsim", "qulacs"]
CHECK_MAX_QUBITS = 22


def make_circuit(name: str):  # type: ignore[no-untyped-def]
    from xihe import qasm
    from xihe.circuit import Circuit

    if name.startswith("qv"):
        import qiskit.qasm2
        from qiskit import transpile
        from qiskit.circuit.library import QuantumVolume

        n = int(name[2:])
        qv = transpile(QuantumVolume(n, depth=n, seed=n), basis_gates=["u3", "cx"], optimization_level=1,
                       seed_transpiler=0)
        return qasm.loads(qiskit.qasm2.dumps(qv))
    if name.startswith("qft"):
        import math

        n = int(name[3:])
        qc = Circuit(n)
        for q in range(0, n, 3):
            qc.x(q)  # a non-trivial input
        for j in range(n):
            qc.h(j)
            for k in range(j + 1, n):
                qc.cp(math.pi / (1 << (k - j)), k, j)
        for q in range(n // 2):
            qc.swap(q, n - 1 - q)
        return qc
    if name.startswith("ghz"):
        n = int(name[3:])
        qc = Circuit(n)
        qc.h(0)
        for q in range(n - 1):
            qc.cx(q, q + 1)
        return qc
    raise SystemExit(f"unknown circuit {name}")


def _peak_rss() -> float:
    """This process's peak resident memory (VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> float:
    """Reset VmHWM to the current RSS (a child inherits its parent's high-water mark) and return it in MiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _peak_rss()


def child(sim: str, path: str, threads: int, state_out: str) -> None:
    """Run one simulator on one circuit and print a JSON line."""
    import resource

    import numpy as np
    from _peers import RUNNERS

    from xihe import qasm

    qc = qasm.load(path)
    runner = RUNNERS[sim]
    if sim == "xihe":
        from xihe.engines import warm

        warm()  # load the compiled kernels outside the measured CPU time (workers do this at start)
    base = _reset_peak_rss()
    before = resource.getrusage(resource.RUSAGE_SELF)
    seconds, state = runner(qc, threads, bool(state_out))
    after = resource.getrusage(resource.RUSAGE_SELF)
    peak = _peak_rss()
    if state_out and state is not None:
        np.save(state_out, state)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = {"seconds": seconds, "cpu_s": cpu, "peak_rss_mib": peak, "base_rss_mib": base}
    meta = getattr(runner, "metadata", None)
    if meta:
        out["kernel_passes"] = meta.get("kernel_passes")
        out["gates"] = meta.get("gates")
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", default=",".join(DEFAULT_CIRCUITS))
    parser.add_argument("--sims", default=",".join(DEFAULT_SIMS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per (circuit, simulator)")
    parser.add_argument("--child", nargs=4, metavar=("SIM", "QASM", "THREADS", "STATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sim, path, threads, state = args.child
        child(sim, path, int(threads), state)
        return
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    from _bandwidth import measure_bandwidth

    from xihe import __version__, qasm

    bw = measure_bandwidth()
    floor_gbs = max(bw.values())
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads={args.threads}, "
          f"xihe {__version__}")
    print(f"memory bandwidth (read+write): numpy copy {bw['numpy_copy_gbs']:.1f} GB/s, parallel "
          f"{bw['parallel_scale_gbs']:.1f} GB/s -> floor {floor_gbs:.1f} GB/s")
    sims = args.sims.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cname in args.circuits.split(","):
            qc = make_circuit(cname)
            path = str(Path(tmp) / f"{cname}.qasm")
            qasm.dump(qc, path)
            n = qc.num_qubits
            pass_s = 32 * (1 << n) / (floor_gbs * 1e9)
            results = {}
            for sim in sims:
                state = str(Path(tmp) / f"{cname}-{sim}.npy") if n <= CHECK_MAX_QUBITS else ""
                try:
                    proc = subprocess.run([sys.executable, __file__, "--child", sim, path, str(args.threads), state],
                                          capture_output=True, text=True, timeout=args.timeout, env=os.environ.copy())
                except subprocess.TimeoutExpired:
                    print(f"{cname:>6} {sim:>7}: did not finish in {args.timeout} s", flush=True)
                    continue
                if proc.returncode != 0:
                    print(f"{cname} {sim}: FAILED\n{proc.stderr[-2000:]}")
                    continue
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                if state and sim != "xihe" and Path(state).exists() and "xihe" in results:
                    a = np.load(str(Path(tmp) / f"{cname}-xihe.npy"))
                    b = np.load(state)
                    res["fidelity_vs_xihe"] = float(abs(np.vdot(a, b)) ** 2 / (np.vdot(b, b).real))
                results[sim] = res
                for f in Path(tmp).glob(f"{cname}-{sim}.npy"):
                    if sim != "xihe":
                        f.unlink()
            peers = {s: r["seconds"] for s, r in results.items() if s != "xihe"}
            fastest = min(peers, key=lambda s: peers[s]) if peers else None
            for sim, res in results.items():
                line = {"circuit": cname, "qubits": n, "sim": sim, **res, "pass_equivalents": res["seconds"] / pass_s}
                if "xihe" in results:
                    line["xihe_over_this"] = results["xihe"]["seconds"] / res["seconds"]
                if sim == "xihe" and res.get("kernel_passes"):
                    line["effective_gbs"] = res["kernel_passes"] * 32 * (1 << n) / res["seconds"] / 1e9
                if sim == "xihe" and fastest:
                    line["ratio_vs_fastest_peer"] = res["seconds"] / peers[fastest]
                    line["fastest_peer"] = fastest
                rows.append(line)
                _print_row(line, floor_gbs)
            for f in Path(tmp).glob(f"{cname}-*.npy"):
                f.unlink()
    print(json.dumps(rows))


def _print_row(r: dict, floor_gbs: float) -> None:
    text = (f"{r['circuit']:>6} {r['sim']:>7}: {r['seconds']:8.3f} s (cpu {r['cpu_s']:7.2f} s)  "
            f"peak {r['peak_rss_mib']:7.0f} MiB  "
            f"{r['pass_equivalents']:7.1f} pass-eq")
    if "xihe_over_this" in r and r["sim"] != "xihe":
        text += f"  xihe/this {r['xihe_over_this']:.2f}"
    if "fidelity_vs_xihe" in r:
        text += f"  F={r['fidelity_vs_xihe']:.9f}"
    if "effective_gbs" in r:
        text += (f"  passes {r['kernel_passes']} (gates {r['gates']})  eff {r['effective_gbs']:.1f} GB/s "
                 f"({r['effective_gbs'] / floor_gbs:.0%} of floor)")
    if "ratio_vs_fastest_peer" in r:
        text += f"  ratio vs fastest ({r['fastest_peer']}) {r['ratio_vs_fastest_peer']:.2f}"
    print(text, flush=True)


if __name__ == "__main__":
    main()
