"""Load on the whole platform over HTTP: concurrent clients submit small jobs and wait for their results.

Run: ``.venv/bin/python benchmarks/service_load.py [--jobs 1000] [--concurrency 32] [--workers 2] [--backend sim]``
(or ``--url URL --token T`` against a running server). It starts ``xihe serve`` on a free 127.0.0.1 port with a
throw-away data folder (SQLite; ``--database-url`` for PostgreSQL), then ``--concurrency`` asyncio clients
(httpx) each submit a 5-qubit, 1,000-shot circuit (a GHZ state plus a T layer, so the statevector engine runs),
long-poll it (``?wait=``) until DONE, and submit the next. It prints throughput (jobs/s), submit-to-result latency
(p50/p99), and the platform's overhead over pure simulation (the same compile+run in-process, one at a time).
``--breakdown`` also times each storage step in-process (submit, claim, run, complete), which is where the
platform's own time goes. The measurement starts after a warm-up and after ``xihe serve``'s one-off numba kernel
warmer has exited (a start-up cost, not load).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CIRCUIT = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[5];
creg c[5];
h q[0];
cx q[0],q[1];
cx q[1],q[2];
cx q[2],q[3];
cx q[3],q[4];
t q;
measure q -> c;
"""
SHOTS = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(args: argparse.Namespace, data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env.update({"XIHE_DATA_DIR": str(data_dir), "XIHE_RATE_LIMIT_PER_SECOND": "100000",
                "XIHE_RATE_LIMIT_BURST": "100000"})
    if args.database_url:
        env["XIHE_DATABASE_URL"] = args.database_url
        subprocess.run([sys.executable, "-c", "from xihe.cli import main; main()", "db", "upgrade"], env=env,
                       check=True, capture_output=True)
    log = (data_dir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from xihe.cli import main; main()", "serve", "--port", str(port), "--workers",
         str(args.workers)], env=env, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        raise SystemExit(f"server did not start: {(data_dir / 'serve.log').read_text()}")
    match = re.search(r"token:\s+(\S+)", (data_dir / "serve.log").read_text())
    if not match:
        raise SystemExit("no demo token printed (data folder not fresh?)")
    return process, url, match.group(1)


async def one_job(client: httpx.AsyncClient, backend: str, seed: int) -> tuple[float, float]:
    """Submit and wait; return (submit-to-result seconds, simulation seconds reported by the engine)."""
    started = time.perf_counter()
    response = await client.post("/jobs", json={"qasm": CIRCUIT, "backend": backend, "shots": SHOTS, "seed": seed})
    response.raise_for_status()
    job = response.json()
    while job["status"] not in ("DONE", "FAILED", "CANCELLED"):
        job = (await client.get(f"/jobs/{job['id']}", params={"wait": 30})).json()
    elapsed = time.perf_counter() - started
    if job["status"] != "DONE":
        raise SystemExit(f"job failed: {job}")
    assert sum(job["result"]["counts"].values()) == SHOTS
    return elapsed, float(job["result"]["metadata"].get("time_s", 0.0))


def client_for(url: str, token: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60,
                             limits=limits)


async def warm_up(url: str, token: str, concurrency: int, backend: str) -> None:
    """Every worker process compiles its kernels when it starts: let that finish before measuring."""
    async with client_for(url, token, concurrency) as client:
        for _ in range(3):
            await asyncio.gather(*(one_job(client, backend, seed) for seed in range(2 * concurrency)))
    await asyncio.sleep(2.0)


async def run_load(url: str, token: str, jobs: int, concurrency: int, backend: str) -> tuple[float, list[float],
                                                                                             list[float]]:
    async with client_for(url, token, concurrency) as client:
        counter = iter(range(jobs))
        latencies: list[float] = []
        sim_times: list[float] = []

        async def client_loop() -> None:
            for seed in counter:
                latency, sim = await one_job(client, backend, 1000 + seed)
                latencies.append(latency)
                sim_times.append(sim)

        started = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, sim_times


def pure_simulation_seconds(backend: str, repeat: int = 200) -> float:
    """Mean in-process compile+run time of the same job (what the platform adds its overhead to)."""
    from xihe import devices, qasm

    device = devices.get(backend)
    circuit = qasm.loads(CIRCUIT)
    for seed in range(5):
        compiled = device.compile(circuit, seed=seed)
        device.run(compiled.circuit, SHOTS, seed=seed, compiled=compiled)
    started = time.perf_counter()
    for seed in range(repeat):
        compiled = device.compile(circuit, seed=seed)
        device.run(compiled.circuit, SHOTS, seed=seed, compiled=compiled)
    return (time.perf_counter() - started) / repeat


def breakdown(backend: str, count: int = 300) -> dict[str, float]:
    """Milliseconds per job of each platform step, in one process against a fresh SQLite database."""
    from xihe.service import executor
    from xihe.service.bootstrap import ensure_demo_user
    from xihe.service.catalog import DeviceCatalog
    from xihe.service.clock import utcnow
    from xihe.service.db import Database
    from xihe.service.migrate import upgrade
    from xihe.service.repositories import queue, users
    from xihe.service.schemas import JobCreate
    from xihe.service.settings import Settings
    from xihe.service.submit import submit_job
    from xihe.service.views import job_public
    from xihe.service.worker import Worker

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        database = Database.from_settings(settings)
        upgrade(database)
        ensure_demo_user(database, settings)
        catalog = DeviceCatalog()
        with database.read() as session:
            user = users.get_user_by_name(session, settings.demo_user)
        assert user is not None
        times = dict.fromkeys(("submit (validate+insert)", "claim", "compile+run", "complete"), 0.0)
        request = JobCreate(qasm=CIRCUIT, backend=backend, shots=SHOTS)
        for _ in range(count):
            started = time.perf_counter()
            with database.write() as session:
                job_public(session, submit_job(session, settings, catalog, user, request).job)
            times["submit (validate+insert)"] += time.perf_counter() - started
        worker = Worker(settings, database, catalog=catalog)
        device = catalog.get(backend)
        for _ in range(count):
            started = time.perf_counter()
            job = worker.claim()
            times["claim"] += time.perf_counter() - started
            assert job is not None
            started = time.perf_counter()
            results = executor.run_items(device, executor.work_items(job.payload, job.shots), lambda: False)
            times["compile+run"] += time.perf_counter() - started
            started = time.perf_counter()
            with database.write() as session:
                queue.finish_attempt(session, job.id, queue.Ending.done(results, 0.0), now=utcnow(),
                                     holder=worker.worker_id)
            times["complete"] += time.perf_counter() - started
        worker.close()
        database.dispose()
    return {name: 1000 * total / count for name, total in times.items()}


def group_cpu_seconds(pgid: int) -> tuple[float, float]:
    """CPU seconds (user+system) of the API process and of its worker processes (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    api = workers = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) != pgid:  # field 5 of stat: the process group
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == pgid:
            api += seconds
        else:
            workers += seconds
    return api, workers


def wait_for_warmer(pgid: int, timeout: float = 300.0) -> float:
    """Wait (bounded) until ``xihe serve``'s one-off numba kernel warmer (``xihe.service.warmer``, started beside
    the workers) has exited; return the seconds waited. It runs once per start, at the lowest priority: inside
    the measured window its CPU would count as the workers' and take cores from a steady-state measurement."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        running = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and b"xihe.service.warmer" in (entry / "cmdline").read_bytes():
                    running = True
                    break
            except OSError:
                continue
        if not running:
            break
        time.sleep(0.2)
    return time.monotonic() - started


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--backend", default="sim")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--database-url")
    parser.add_argument("--breakdown", action="store_true")
    args = parser.parse_args()

    process = None
    folder = tempfile.TemporaryDirectory()
    try:
        if args.url:
            url, token = args.url, args.token or os.environ.get("XIHE_TOKEN", "")
        else:
            process, url, token = start_server(args, Path(folder.name))
        asyncio.run(warm_up(url, token, args.concurrency, args.backend))
        if process is not None:
            wait_for_warmer(process.pid)
        cpu_before = group_cpu_seconds(process.pid) if process is not None else (0.0, 0.0)
        client_before = time.process_time()
        wall, latencies, sim_times = asyncio.run(run_load(url, token, args.jobs, args.concurrency, args.backend))
        client_cpu = time.process_time() - client_before
        cpu_after = group_cpu_seconds(process.pid) if process is not None else (0.0, 0.0)
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        folder.cleanup()
    pure = pure_simulation_seconds(args.backend)
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average at end {os.getloadavg()[0]:.1f}")
    print(f"server: {'external ' + url if args.url else 'xihe serve'} with {args.workers} worker process(es), "
          f"database {'PostgreSQL' if args.database_url else 'SQLite (WAL)'}; backend {args.backend}")
    print(f"{len(latencies)} jobs (5 qubits, {SHOTS} shots), {args.concurrency} concurrent clients")
    print(f"throughput            {len(latencies) / wall:8.1f} jobs/s")
    print(f"latency p50 / p99     {1000 * p50:8.1f} / {1000 * p99:.1f} ms (submit to result)")
    print(f"pure compile+run      {1000 * pure:8.2f} ms per job in-process (engine alone: "
          f"{1000 * statistics.mean(sim_times):.2f} ms)")
    print(f"overhead at p50       {1000 * (p50 - pure):8.1f} ms per job; the platform's ceiling at this size is "
          f"{(os.cpu_count() or 1) / pure:.0f} jobs/s of pure simulation on all cores")
    if process is not None:
        total_jobs = len(latencies)
        api_ms = 1000 * (cpu_after[0] - cpu_before[0]) / total_jobs
        workers_ms = 1000 * (cpu_after[1] - cpu_before[1]) / total_jobs
        print(f"CPU per job           {api_ms:8.2f} ms in the API process (2 HTTP requests), {workers_ms:.2f} ms in "
              f"the workers: at most {(os.cpu_count() or 1) / ((api_ms + workers_ms) / 1000):.0f} jobs/s on this "
              "machine if nothing else ran")
    print(f"load generator        {1000 * client_cpu / len(latencies):8.2f} ms CPU per job (httpx clients, same cores)")
    if args.breakdown:
        print("in-process breakdown (ms per job, one process, SQLite):")
        for name, value in breakdown(args.backend).items():
            print(f"  {name:26s} {value:7.2f}")


if __name__ == "__main__":
    main()
