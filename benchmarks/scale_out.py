"""Scale-out on one machine: the same load with one and two ``xihe worker`` processes, and a heavy job with and
without Ray.

Run: ``.venv/bin/python benchmarks/scale_out.py [--jobs 40] [--layers 40] [--shots 10000] [--skip-ray]``.

Part 1 (workers): a fresh PostgreSQL database on 127.0.0.1:5432 (dropped after), migrated by ``xihe db upgrade``,
one API replica (``xihe serve --no-workers``) and 1, then 2, ``xihe worker --processes 1`` processes. Each worker
is warmed with one job; then ``--jobs`` jobs (a ``--qubits``-qubit circuit of ``--layers`` RY+CX layers on ``sim``,
1,000 shots, a fraction of a second of compute each) are submitted at once and timed from the first submit to the
last DONE. Each worker gets one engine thread (``XIHE_THREAD_BUDGET=1``), standing in for a one-core machine.
Prints jobs/s for each and the ratio.

Part 2 (Ray): one ``--shots``-shot noisy trajectories job (13 qubits on the ``grid36`` twin) run (a) as a worker
without Ray runs it (the engine, unsplit), (b) as the same 40 chunks one after the other in one process, and
(c) fanned out as Ray tasks over a two-node local Ray cluster (1 CPU per node) started on free ports. Prints the
seconds, the ratios, and checks that all three give the same counts.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.service.helpers import (  # noqa: E402  (the repository's own test helpers: real servers, fresh DBs)
    Server,
    fresh_postgres_database,
    run_xihe,
    server_env,
    wait_all,
    xihe_command,
)


def start_workers(env: dict[str, str], count: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(xihe_command("worker", "--processes", "1"), env=env,
                             stdout=(log_dir / f"worker{i}.log").open("ab"), stderr=subprocess.STDOUT,
                             start_new_session=True) for i in range(count)]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    import signal

    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def load_qasm(seed: int, num_qubits: int, layers: int) -> str:
    """Layers of distinct RY angles and a CX brick: nothing for the compiler to cancel, all work for the engine."""
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{num_qubits}];", f"creg c[{num_qubits}];"]
    for layer in range(layers):
        lines += [f"ry({0.1 + 0.37 * ((seed + layer * num_qubits + j) % 17)}) q[{j}];" for j in range(num_qubits)]
        lines += [f"cx q[{j}],q[{j + 1}];" for j in range(layer % 2, num_qubits - 1, 2)]
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def run_load(client: httpx.Client, jobs: int, args: argparse.Namespace, tag: str) -> float:
    """Submit ``jobs`` jobs at once; seconds from the first submit to the last DONE."""
    started = time.perf_counter()
    ids = []
    for i in range(jobs):
        body = {"qasm": load_qasm(i, args.qubits, args.layers), "backend": "sim", "shots": 1000, "seed": i,
                "tags": [tag]}
        response = client.post("/jobs", json=body)
        response.raise_for_status()
        ids.append(response.json()["id"])
    done = wait_all(client, ids, timeout=1800)
    elapsed = time.perf_counter() - started
    bad = [j for j in done.values() if j["status"] != "DONE"]
    if bad:
        raise SystemExit(f"{len(bad)} job(s) did not finish DONE: {bad[0]}")
    return elapsed


def workers_part(args: argparse.Namespace) -> dict[str, float]:
    out: dict[str, float] = {}
    with fresh_postgres_database() as url, tempfile.TemporaryDirectory(prefix="xihe-scale-") as tmp:
        data = Path(tmp)
        # Each worker stands in for a one-core machine (one engine thread): the question is how the queue scales
        # with machines, not how two workers share one machine's threads.
        env = server_env(data, url, rate_limit_per_second="100000", rate_limit_burst="100000", thread_budget="1")
        run_xihe("db", "upgrade", env=env)
        token = run_xihe("users", "add", "bench", env=env).splitlines()[-1]
        server = Server(data, env).start("--no-workers")
        try:
            with server.client(token) as client:
                for count in (1, 2):
                    workers = start_workers(env, count, data)
                    try:
                        run_load(client, count, args, f"warm{count}")  # each worker warm (kernels, devices)
                        seconds = run_load(client, args.jobs, args, f"load{count}")
                    finally:
                        stop_workers(workers)
                    out[f"workers_{count}_jobs_per_s"] = args.jobs / seconds
                    print(f"{count} worker(s): {args.jobs} jobs in {seconds:.2f} s = {args.jobs / seconds:.2f} jobs/s",
                          flush=True)
        finally:
            server.stop()
    out["workers_ratio"] = out["workers_2_jobs_per_s"] / out["workers_1_jobs_per_s"]
    print(f"two workers / one worker: {out['workers_ratio']:.2f}x", flush=True)
    return out


def ray_part(args: argparse.Namespace) -> dict[str, float]:
    from tests.cluster.helpers import wide_qasm

    from xihe import devices
    from xihe.service import executor
    from xihe.service.cluster.executors import LocalExecutor, RayExecutor, shutdown_ray
    from xihe.service.cluster.fanout import FanOut
    from xihe.service.cluster.localray import local_ray_cluster

    device = devices.get("grid36")
    items = executor.work_items({"circuits": [wide_qasm()], "seed": 2024}, args.shots)
    executor.run_item(device, executor.work_items({"circuits": [wide_qasm()], "seed": 1}, 64)[0])  # warm kernels
    out: dict[str, float] = {}
    timings: dict[str, tuple[float, Any]] = {}

    def timed(name: str, run: Any) -> None:
        started = time.perf_counter()
        result = run()
        timings[name] = (time.perf_counter() - started, result["counts"])
        print(f"{name}: {timings[name][0]:.2f} s", flush=True)

    timed("engine (no Ray, the worker's own run)", lambda: executor.run_item(device, items[0]))
    timed("same chunks, one process", lambda: FanOut(LocalExecutor(), min_shots=1)(device, items, lambda: False)[0])
    with local_ray_cluster(nodes=2, cpus_per_node=1) as cluster:
        fanout = FanOut(RayExecutor(cluster.address), min_shots=1)
        try:
            warm = executor.work_items({"circuits": [wide_qasm()], "seed": 1}, 2048)
            fanout(device, warm, lambda: False)  # Ray workers started and their kernels loaded
            timed("Ray, 2 nodes x 1 CPU", lambda: fanout(device, items, lambda: False)[0])
        finally:
            shutdown_ray()
    counts = {str(sorted(c.items())) for _t, c in timings.values()}
    if len(counts) != 1:
        raise SystemExit("the three runs gave different counts")
    engine = timings["engine (no Ray, the worker's own run)"][0]
    one = timings["same chunks, one process"][0]
    ray_s = timings["Ray, 2 nodes x 1 CPU"][0]
    out.update({"engine_s": engine, "one_process_s": one, "ray_2_nodes_s": ray_s,
                "ray_vs_one_process": one / ray_s, "ray_vs_engine": engine / ray_s})
    print(f"Ray speed-up over one process: {one / ray_s:.2f}x; over the engine's own run: {engine / ray_s:.2f}x; "
          "counts identical in all three", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--qubits", type=int, default=16)
    parser.add_argument("--layers", type=int, default=40)
    parser.add_argument("--shots", type=int, default=10_000)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    if not args.skip_workers:
        workers_part(args)
    if not args.skip_ray:
        ray_part(args)


if __name__ == "__main__":
    main()
