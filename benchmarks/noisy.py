"""Noisy and wide emulation: Xihe's density matrix, trajectories and MPS engines against Qiskit Aer's (same circuits
and noise), and Xihe's single-precision statevector against qsim.

Run: ``.venv/bin/python benchmarks/noisy.py`` (options: ``--cases dm10,dm12,mps-ghz40,...`` ``--threads 2``
``--shots 1000`` ``--rounds R``, ``--timeout`` seconds per child process).

Cases:
- ``dmN``: quantum volume QV-N (``QuantumVolume(N, depth=N, seed=N)`` transpiled to ``u3``/``cx``), depolarizing
  1e-3 after every ``u3`` and 1e-2 after every ``cx``, all qubits measured, 1,000 shots; Xihe's
  ``density_matrix`` engine against ``AerSimulator(method="density_matrix")``.
- ``mps-ghzN``: GHZ-N (``h``, a ``cx`` chain) followed by one layer of ``t`` gates, measured; ``mps-brick50``:
  a 50-qubit brickwork of depth 6 (``u3`` layers, ``cx`` on alternating pairs); Xihe's ``mps`` engine against
  ``AerSimulator(method="matrix_product_state")``, 1,000 shots.
- ``trajN``: QV-N with the ``dm`` noise on Xihe's ``trajectories`` engine against Aer's ``statevector`` method
  (which samples trajectories); ``noisy-mps-ghzN``: the GHZ case with that noise (1e-3 on ``h``/``t`` too) on
  Xihe's ``mps`` engine (trajectories) against Aer's ``matrix_product_state`` with the same noise model.
- ``twin-dongling-ghzN`` (N = 16, 40): the GHZ-N with a ``t`` gate (``h``, ``t`` on qubit 0, a ``cx`` chain)
  compiled for ``dongling`` (seed 5) and run on its twin (relaxation and depolarizing on every gate, T2* idling,
  readout; the plan picks ``trajectories`` at 16 qubits, ``mps`` at 40); the time is ``device.execute`` of the plan
  (compiling and planning excluded, ``plan_s`` reports them). Aer runs the same compiled circuit with the same
  noise (each lowered gate as a ``unitary``, each channel as a ``kraus`` instruction) on its ``statevector`` or
  ``matrix_product_state`` method; the latter takes about a minute per shot, so it runs ``AER_TWIN_SHOTS`` shots
  and its time is scaled to the case's shots (``aer_shots`` says so; the counts comparison is then meaningless).
  ``cpu_s`` and ``aer_cpu_s`` are the processes' CPU times, which the load of a shared machine does not inflate.
- ``sv1-qv20``, ``sv1-qv24``, ``sv1-qft24``: the statevector benchmark's circuits (``benchmarks/statevector.py``)
  on Xihe's statevector engine in single precision (``precision="single"``, complex64) against qsim (qsimcirq,
  single precision, ``max_fused_gate_size=4``); the time is the call that returns the final state, and
  ``fidelity`` is ``|<xihe|qsim>|^2`` of the two final states.

Interleaved mode (``--rounds R``, for a machine whose load changes while a long case runs): each case's shots are
split in R chunks of shots/R, seeded 1, 1 + shots/R, 1 + 2 shots/R, ... (both simulators: Aer seeds shot i of a
run ``seed + i``, so consecutive seeds would repeat its shots chunk after chunk, and its merged counts are then
those of one run with seed 1); in each round Xihe's and the peer's child
processes run the chunk one after the other, the first alternating from round to round (Xihe first in odd rounds),
so a burst of load falls on both alike. The times (and CPU times) are summed per simulator and the counts merged
for the distribution check; ``rounds_log`` holds each chunk's time, ratio and the 1-minute load average before
each child started, and ``mean_load_xihe`` / ``mean_load_aer`` their means; for outcomes wider than 16 bits
``marginals_xihe`` / ``marginals_aer`` list each clbit's frequency of 1 (what ``max_marginal_diff`` compares).
Each child warms up as in the plain mode (outside the timed call). Example: ``--cases traj20 --shots 1000
--rounds 10 --timeout 3000``. Without ``--rounds`` each simulator runs all the shots once, Xihe first.

Each (case, simulator) runs in its own process with ``threads`` threads (numba's and Aer's); the time is the wall
time of the call that returns the counts (circuit construction and kernel compilation excluded). Xihe's density
matrix probabilities are checked against Aer's (``tvd_exact``, total variation distance of the exact distributions;
``tvd_xihe_aer`` is that of the sampled counts, which at 1,000 shots over 2^10 outcomes is mostly sampling noise)
so a fast wrong answer cannot pass; for the wide cases ``max_marginal_diff`` (largest difference of one bit's
frequency of 1, sampling noise about 0.03-0.05 at 1,000 shots) stands in for it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

DEFAULT_CASES = ["dm10", "dm12", "traj14", "traj16", "traj20", "mps-ghz40", "mps-ghz60", "mps-ghz100",
                 "mps-brick50", "noisy-mps-ghz40", "noisy-mps-ghz100", "twin-dongling-ghz16", "twin-dongling-ghz40",
                 "sv1-qv20", "sv1-qv24", "sv1-qft24"]
# Aer's shots on the dongling twin case (about a minute each); its time is scaled to SHOTS.
AER_TWIN_SHOTS = int(os.environ.get("XIHE_BENCH_AER_TWIN_SHOTS", "2"))
# Shots per case (``--shots``; the children read it from the environment).
SHOTS = int(os.environ.get("XIHE_BENCH_SHOTS", "1000"))
# The simulators' seed for the timed run (``--rounds`` gives each chunk its own).
SEED = int(os.environ.get("XIHE_BENCH_SEED", "1"))


def _qv_qasm(n: int) -> str:
    import qiskit.qasm2
    from qiskit import transpile
    from qiskit.circuit.library import QuantumVolume

    qv = QuantumVolume(n, depth=n, seed=n)
    qv.measure_all()
    qv = transpile(qv, basis_gates=["u3", "cx"], optimization_level=1, seed_transpiler=0)
    return qiskit.qasm2.dumps(qv)


def _ghz_qasm(n: int) -> str:
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];", "h q[0];"]
    lines += [f"cx q[{i}],q[{i + 1}];" for i in range(n - 1)]
    lines += [f"t q[{i}];" for i in range(n)]
    lines += [f"measure q[{i}] -> c[{i}];" for i in range(n)]
    return "\n".join(lines) + "\n"


def _brick_qasm(n: int, depth: int) -> str:
    import numpy as np

    rng = np.random.default_rng(n * 100 + depth)
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for layer in range(depth):
        for q in range(n):
            a, b, c = rng.uniform(0, np.pi, 3)
            lines.append(f"u3({a:.12f},{b:.12f},{c:.12f}) q[{q}];")
        lines += [f"cx q[{q}],q[{q + 1}];" for q in range(layer % 2, n - 1, 2)]
    lines += [f"measure q[{i}] -> c[{i}];" for i in range(n)]
    return "\n".join(lines) + "\n"


def case_qasm(case: str) -> str:
    if case.startswith("dm"):
        return _qv_qasm(int(case[2:]))
    if case.startswith("traj"):
        return _qv_qasm(int(case[4:]))
    if case.startswith("noisy-mps-ghz"):
        return _ghz_qasm(int(case[13:]))
    if case.startswith("mps-ghz"):
        return _ghz_qasm(int(case[7:]))
    if case.startswith("mps-brick"):
        return _brick_qasm(int(case[9:]), 6)
    raise SystemExit(f"unknown case {case}")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the trajectories engine's chunk workers): what the
    load of a shared machine does not inflate."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _twin_plan(n: int) -> tuple[object, object]:
    """The dongling twin, and its plan for the GHZ-``n`` with a ``t`` gate (compiled, seed 5)."""
    from xihe import devices
    from xihe.circuit import Circuit
    from xihe.devices.plan import PlanOptions

    circuit = Circuit(n, n).h(0).t(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    circuit.measure(list(range(n)), list(range(n)))
    device = devices.get("dongling")
    return device, device.plan([circuit], SHOTS, PlanOptions(seeds=(5,)))


def _run_twin(sim: str, n: int, threads: int) -> tuple[float, dict[str, int], dict[str, object]]:
    """The dongling twin job on Xihe, or its compiled circuit and noise on Aer's MPS (see the module docstring)."""
    from xihe.engines import warm

    warm()
    start = time.perf_counter()
    device, plan = _twin_plan(n)
    plan_s = time.perf_counter() - start
    if sim == "xihe":
        start, cpu = time.perf_counter(), _cpu()
        [res] = device.execute(plan)  # type: ignore[attr-defined]
        seconds = time.perf_counter() - start
        meta: dict[str, object] = {k: v for k, v in res.metadata.items()
                                   if k in ("engine", "bond_dimension", "truncation_error", "trajectories")}
        meta["plan_s"] = round(plan_s, 2)
        meta["cpu_s"] = round(_cpu() - cpu, 2)
        top = sorted(res.counts.items(), key=lambda kv: -kv[1])[:3]
        meta["top_outcomes"] = top
        return seconds, dict(res.counts), meta
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Kraus
    from qiskit_aer import AerSimulator

    from xihe.engines.mps import instruction_matrix
    from xihe.engines.program import lower

    [planned] = plan.circuits  # type: ignore[attr-defined]
    prog = lower(planned.compact, planned.noise)
    qc = QuantumCircuit(prog.num_qubits, prog.num_clbits)
    for ins in prog.body:  # Xihe's matrices have their first qubit most significant; Qiskit's their last
        if ins.kind == "channel":
            qc.append(Kraus(ins.channel.kraus), list(reversed(ins.qubits)))
        else:
            qc.unitary(instruction_matrix(ins), list(reversed(ins.qubits)))
    for ins in prog.terminal:
        qc.measure(ins.qubits[0], ins.clbit)
    # The planned engine's counterpart: Aer's MPS for the 40-qubit job, its statevector (trajectories) below.
    method = "matrix_product_state" if planned.engine == "mps" else "statevector"
    shots = AER_TWIN_SHOTS if method == "matrix_product_state" else SHOTS
    sim_aer = AerSimulator(method=method, max_parallel_threads=threads)
    start, cpu = time.perf_counter(), _cpu()
    counts = sim_aer.run(qc, shots=shots, seed_simulator=1).result().get_counts()
    seconds = (time.perf_counter() - start) * SHOTS / shots
    meta = {"aer_shots": shots, "aer_cpu_s": round((_cpu() - cpu) * SHOTS / shots, 1)}
    return seconds, {k.replace(" ", "")[::-1]: v for k, v in counts.items()}, meta


def _state_path(sim: str, case: str) -> str:
    return os.path.join(os.environ["XIHE_BENCH_STATES"], f"{sim}-{case}.npy")


def _run_single_sv(sim: str, case: str, threads: int) -> tuple[float, dict[str, int], dict[str, object]]:
    """Xihe's single-precision statevector or qsim on a statevector-benchmark circuit; the state goes to a file.

    ``cpu_s`` is the process's CPU time (all threads) over the same timed call: steadier than wall time on a
    loaded machine."""
    import numpy as np
    from _peers import process_cpu, time_qsim
    from statevector import make_circuit

    qc = make_circuit(case[4:])
    if sim == "xihe":
        from xihe.engines import simulate, warm

        warm()
        simulate(qc, shots=0, engine="statevector", precision="single")  # warm-up: numba's dispatch, page faults
        cpu, start = process_cpu(), time.perf_counter()
        res = simulate(qc, shots=0, engine="statevector", precision="single")
        seconds, cpu = time.perf_counter() - start, process_cpu() - cpu
        state = res.statevector
        meta: dict[str, object] = {"kernel_passes": res.metadata.get("kernel_passes"),
                                   "precision": res.metadata.get("precision"), "cpu_s": round(cpu, 4)}
    else:
        time_qsim(qc, threads)
        seconds, cpu, state = time_qsim(qc, threads)
        meta = {"cpu_s": round(cpu, 4)}
    assert state is not None
    np.save(_state_path(sim, case), np.asarray(state, dtype=np.complex64))
    return seconds, {}, meta


def _run_xihe(case: str, text: str) -> tuple[float, dict[str, int], dict[str, object]]:
    from xihe import qasm
    from xihe.engines import NoiseModel, simulate, warm
    from xihe.engines.channels import depolarizing

    warm()
    qc = qasm.loads(text)
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(1e-3, 1), ["u3", "h", "t"])
    nm.add_gate_error(depolarizing(1e-2, 2), ["cx"])
    engine = {"dm": "density_matrix", "tr": "trajectories", "no": "mps"}.get(case[:2])
    if engine is not None:
        simulate(qc, shots=10, seed=1, noise=nm, engine=engine)
        start, cpu = time.perf_counter(), _cpu()
        res = simulate(qc, shots=SHOTS, seed=SEED, noise=nm, engine=engine)
    else:
        # Warmed as Aer is (its 10-shot run below) and as the noisy cases are: the first call loads the MPS
        # kernels from numba's cache (~60 ms, against 3-5 ms of work for GHZ-40), which a worker pays once.
        simulate(qc, shots=10, seed=1, engine="mps")
        start, cpu = time.perf_counter(), _cpu()
        res = simulate(qc, shots=SHOTS, seed=SEED, engine="mps")
    seconds = time.perf_counter() - start
    meta: dict[str, object] = {k: v for k, v in res.metadata.items()
                               if k in ("bond_dimension", "truncation_error", "kernel_passes", "trajectories")}
    meta["cpu_s"] = round(_cpu() - cpu, 2)
    if res.exact_probabilities:
        meta["probabilities"] = res.exact_probabilities
    return seconds, dict(res.counts), meta


def _run_aer(case: str, text: str, threads: int) -> tuple[float, dict[str, int], dict[str, object]]:
    import qiskit.qasm2
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel as AerNoiseModel
    from qiskit_aer.noise import depolarizing_error

    qc = qiskit.qasm2.loads(text)
    nm = AerNoiseModel()
    nm.add_all_qubit_quantum_error(depolarizing_error(1e-3, 1), ["u3", "h", "t"])
    nm.add_all_qubit_quantum_error(depolarizing_error(1e-2, 2), ["cx"])
    if case.startswith("dm"):
        sim = AerSimulator(method="density_matrix", noise_model=nm, max_parallel_threads=threads)
    elif case.startswith("traj"):
        sim = AerSimulator(method="statevector", noise_model=nm, max_parallel_threads=threads)
    elif case.startswith("noisy-mps"):
        sim = AerSimulator(method="matrix_product_state", noise_model=nm, max_parallel_threads=threads)
    else:
        sim = AerSimulator(method="matrix_product_state", max_parallel_threads=threads)
    sim.run(qc, shots=10, seed_simulator=1).result()  # warm-up: load the library, build the noise passes
    start, cpu = time.perf_counter(), _cpu()
    counts = sim.run(qc, shots=SHOTS, seed_simulator=SEED).result().get_counts()
    seconds = time.perf_counter() - start
    meta: dict[str, object] = {"aer_cpu_s": round(_cpu() - cpu, 2)}
    if case.startswith("dm"):  # exact probabilities for the check, outside the timed call
        bare = qc.remove_final_measurements(inplace=False)
        bare.save_probabilities()
        probs = sim.run(bare, shots=1).result().data()["probabilities"]
        n = bare.num_qubits
        meta["probabilities"] = {format(i, f"0{n}b")[::-1]: float(p) for i, p in enumerate(probs) if p > 1e-16}
    # Aer's keys are little-endian (clbit 0 rightmost); Xihe's are clbit 0 leftmost.
    return seconds, {k.replace(" ", "")[::-1]: v for k, v in counts.items()}, meta


def child(sim: str, case: str, threads: int) -> None:
    if case.startswith("sv1-"):
        seconds, counts, meta = _run_single_sv(sim, case, threads)
        print(json.dumps({"seconds": seconds, "counts": counts, **meta}))
        return
    if case.startswith("twin-dongling-ghz"):
        seconds, counts, meta = _run_twin(sim, int(case[17:]), threads)
        print(json.dumps({"seconds": seconds, "counts": counts, **meta}))
        return
    text = case_qasm(case)
    seconds, counts, meta = _run_xihe(case, text) if sim == "xihe" else _run_aer(case, text, threads)
    print(json.dumps({"seconds": seconds, "counts": counts, **meta}))


def _tvd(a: dict[str, float], b: dict[str, float]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def _max_marginal_diff(a: dict[str, int], b: dict[str, int]) -> float:
    """Largest difference of one clbit's frequency of 1 between two count sets (wide outcomes never repeat)."""
    if not a or not b:
        return 0.0
    width = len(next(iter(a)))
    na, nb = sum(a.values()), sum(b.values())
    diffs = [abs(sum(v for k, v in a.items() if k[i] == "1") / na - sum(v for k, v in b.items() if k[i] == "1") / nb)
             for i in range(width)]
    return max(diffs, default=0.0)


def _run_child(sim: str, case: str, threads: int, timeout: int, env: dict[str, str]) -> dict | None:
    """One (case, simulator) in its own process; its JSON line, or None (and a message) if it failed."""
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", sim, case, str(threads)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        print(f"{case} {sim}: did not finish in {timeout} s", flush=True)
        return None
    if proc.returncode != 0:
        print(f"{case} {sim}: FAILED\n{proc.stderr[-2000:]}", flush=True)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _interleaved(case: str, peer: str, threads: int, timeout: int, shots: int, rounds: int) -> dict[str, dict]:
    """``--rounds``: the shots in ``rounds`` chunks, seeded 1, 1 + the first chunk's shots, ...; in each round
    both simulators run the chunk, one after the other, the first alternating between rounds, so a change of the
    machine's load falls on both. Times and CPU times are summed and counts merged per simulator; each chunk's
    time and the load average before it are kept in ``rounds_log``."""
    totals: dict[str, dict] = {}
    log: list[dict[str, object]] = []
    seed = 1
    for r in range(rounds):
        chunk = shots // rounds + (1 if r < shots % rounds else 0)
        env = {**os.environ, "XIHE_BENCH_SHOTS": str(chunk), "XIHE_BENCH_SEED": str(seed)}
        seed += chunk  # Aer seeds its shots seed, seed + 1, ...: consecutive seeds would repeat its shots
        entry: dict[str, object] = {"round": r + 1, "shots": chunk}
        for sim in ("xihe", peer) if r % 2 == 0 else (peer, "xihe"):
            entry[f"load_{sim}"] = round(os.getloadavg()[0], 2)
            out = _run_child(sim, case, threads, timeout, env)
            if out is None:
                return {}
            entry[f"{sim}_s"] = round(out["seconds"], 2)
            total = totals.setdefault(sim, {"seconds": 0.0, "counts": {}})
            total["seconds"] += out["seconds"]
            for key in ("cpu_s", "aer_cpu_s"):
                if key in out:
                    total[key] = round(total.get(key, 0.0) + out[key], 2)
            for k, v in out["counts"].items():
                total["counts"][k] = total["counts"].get(k, 0) + v
        entry["ratio"] = round(float(entry["xihe_s"]) / float(entry[f"{peer}_s"]), 3)  # type: ignore[arg-type]
        log.append(entry)
        print(f"{case} round {r + 1}/{rounds}: {json.dumps(entry)}", flush=True)
    for sim in ("xihe", peer):
        totals["xihe"][f"mean_load_{sim}"] = round(sum(float(e[f"load_{sim}"]) for e in log) / rounds, 2)  # type: ignore[arg-type]
    totals["xihe"]["rounds_log"] = log
    return totals


def _marginals(counts: dict[str, int]) -> list[float]:
    """Each clbit's frequency of 1 (key character ``i`` is clbit ``i``), rounded for the report."""
    if not counts:
        return []
    width, total = len(next(iter(counts))), sum(counts.values())
    return [round(sum(v for k, v in counts.items() if k[i] == "1") / total, 4) for i in range(width)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--shots", type=int, default=SHOTS, help="shots per case (default 1,000)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="interleave the simulators in this many chunks of the shots (see the docstring)")
    parser.add_argument("--child", nargs=3, metavar=("SIM", "CASE", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    os.environ["XIHE_BENCH_SHOTS"] = str(args.shots)
    from xihe import __version__

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, threads={args.threads}, "
          f"xihe {__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {os.getloadavg()[0]:.1f}, {args.shots} shots")
    states = tempfile.mkdtemp(prefix="xihe-noisy-")
    os.environ["XIHE_BENCH_STATES"] = states
    rows = []
    for case in args.cases.split(","):
        res: dict[str, dict] = {}
        peer = "qsim" if case.startswith("sv1-") else "aer"
        if args.rounds:
            res = _interleaved(case, peer, args.threads, args.timeout, args.shots, args.rounds)
        for sim in () if args.rounds else ("xihe", peer):
            out = _run_child(sim, case, args.threads, args.timeout, os.environ.copy())
            if out is not None:
                res[sim] = out
        if len(res) < 2:
            continue
        x, a = res["xihe"], res[peer]
        row = {"case": case, "peer": peer, "xihe_s": round(x["seconds"], 4), "aer_s": round(a["seconds"], 4),
               "ratio": round(x["seconds"] / a["seconds"], 3), "tvd_xihe_aer": round(_tvd(x["counts"], a["counts"]), 4),
               "max_marginal_diff": round(_max_marginal_diff(x["counts"], a["counts"]), 4),
               **{k: v for k, v in x.items() if k not in ("seconds", "counts", "probabilities")}}
        for key in ("aer_shots", "aer_cpu_s"):  # rounds_log rides in with Xihe's keys above
            if key in a:
                row[key] = a[key]
        if args.rounds and x["counts"] and len(next(iter(x["counts"]))) > 16:  # wide: the per-bit figures behind
            row["marginals_xihe"], row[f"marginals_{peer}"] = _marginals(x["counts"]), _marginals(a["counts"])
        if "probabilities" in x and "probabilities" in a:
            row["tvd_exact"] = _tvd(x["probabilities"], a["probabilities"])
        if peer == "qsim":
            import numpy as np

            sx, sq = np.load(_state_path("xihe", case)), np.load(_state_path("qsim", case))
            row["fidelity"] = float(abs(np.vdot(sx.astype(np.complex128), sq.astype(np.complex128))) ** 2)
            del row["tvd_xihe_aer"], row["max_marginal_diff"]
            if "cpu_s" in a:
                row["qsim_cpu_s"] = a["cpu_s"]
                row["cpu_ratio"] = round(float(x["cpu_s"]) / float(a["cpu_s"]), 3)
        row["load_after"] = round(os.getloadavg()[0], 1)
        rows.append(row)
        extra = {k: v for k, v in row.items() if k not in ("case", "peer", "xihe_s", "aer_s", "ratio", "tvd_xihe_aer")}
        tvd = f"TVD(counts) {row['tvd_xihe_aer']:.4f}  " if "tvd_xihe_aer" in row else ""
        print(f"{case:>16}: xihe {row['xihe_s']:8.4f} s  {peer} {row['aer_s']:8.4f} s  ratio {row['ratio']:6.3f}  "
              f"{tvd}{json.dumps(extra)}", flush=True)
    shutil.rmtree(states, ignore_errors=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
