"""``/health`` while large programs are submitted, before and after the API's parse pool (issue 18), in one run.

Run: ``.venv/bin/python benchmarks/parse_pool.py --before SRC --after SRC [--rounds 2] [--bursts 3]`` where each
SRC is a checkout's ``src`` folder (a ``git worktree``; ``PYTHONPATH`` picks it for the server). Each round starts
``xihe serve --no-workers`` on SQLite from each checkout in turn and sends ``--bursts`` bursts of four concurrent
submits of a 190 KB, 210,000-operation program (native ``POST /jobs``, legacy pyquafu, ``/sample``, and the native
route again) while a separate process polls ``/health`` every 20 ms; beside it a bare uvicorn app is polled the
same way (what the machine's scheduling alone costs). It prints, per checkout, the slowest and the 99th-percentile
``/health`` answer during the bursts, the bare app's, the CPU the API process spent per burst and a burst's wall time.

``--sdk``: each burst is four concurrent quafu-sdk ``POST /jobs`` of a Bell pair with a 1.9 MB JSON body (215,000
short strings in a field the route ignores): what decoding the body costs wherever it runs (issue 18, fifth pass).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.hostile import bare_server  # noqa: E402  (the same bare peer as the hostile benchmark)
from tests.service.helpers import Server, server_env  # noqa: E402
from tests.service.test_parse_pool import LARGE, cpu_seconds  # noqa: E402

from xihe.devices.registry import SIM_ALIAS_SYSTEM_ID  # noqa: E402


def _poll(url: str, found: Any, stop: Any) -> None:
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(f"{url}/health")
            found.put(time.perf_counter() - started)
            stop.wait(0.02)


class Poller:
    """``/health`` every 20 ms from its own process; ``take()`` returns the answer times since the last take."""

    def __init__(self, url: str) -> None:
        self.queue: Any = multiprocessing.Queue()
        self.stop_event = multiprocessing.Event()
        self.process = multiprocessing.Process(target=_poll, args=(url, self.queue, self.stop_event), daemon=True)
        self.process.start()

    def take(self) -> list[float]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get())
        return out

    def stop(self) -> None:
        self.stop_event.set()
        self.process.join(30)


BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
SDK_BODY = {"mode": "single", "target": "sim", "shots": 10, "circuit_level": "logical", "circuits": [{"qasm": BELL}],
            "padding": ["qubit"] * 215_000}


def sdk_submits(server: Server) -> list[Callable[[], httpx.Response]]:
    api = {"Authorization": f"Bearer {server.token}"}
    return [lambda: httpx.post(f"{server.url}/api/v1/jobs", headers=api, json=SDK_BODY, timeout=300)] * 4


def submits(server: Server) -> list[Callable[[], httpx.Response]]:
    api = {"Authorization": f"Bearer {server.token}"}
    native = {"qasm": LARGE, "backend": "sim", "shots": 10}
    return [
        lambda: httpx.post(f"{server.url}/api/v1/jobs", headers=api, json=native, timeout=300),
        lambda: httpx.post(f"{server.url}/qbackend/scq_kit_asyc/", headers={"api_token": server.token or ""},
                           data={"qtasm": LARGE, "selected_server": str(SIM_ALIAS_SYSTEM_ID), "shots": "10"},
                           timeout=300),
        lambda: httpx.post(f"{server.url}/api/v1/sample", headers=api, timeout=300,
                           json={"backend": "sim", "shots": 10, "pubs": [{"circuit": LARGE}]}),
        lambda: httpx.post(f"{server.url}/api/v1/jobs", headers=api, json=native, timeout=300),
    ]


def burst(sends: list[Callable[[], httpx.Response]]) -> list[int]:
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda s=send: statuses.append(s().status_code)) for send in sends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def measure(src: str, bursts: int, bare: str, sends: Callable[[Server], list[Callable[[], httpx.Response]]] = submits
            ) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="xihe-parse-pool-"))
    env = {**server_env(folder, RATE_LIMIT_PER_SECOND="100000"), "PYTHONPATH": src}
    server = Server(folder, env).start("--no-workers")
    assert server.process is not None
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {server.token}"}) as client:  # warm the routes
            client.post(f"{server.url}/api/v1/jobs", json={"qasm": LARGE, "backend": "sim", "shots": 10},
                        timeout=300).raise_for_status()
        time.sleep(2)
        health, peer = Poller(server.url), Poller(bare)
        time.sleep(0.5)
        health.take(), peer.take()
        cpu_before = cpu_seconds(server.process.pid)
        started = time.perf_counter()
        for _ in range(bursts):
            statuses = burst(sends(server))
            assert all(status in (200, 201) for status in statuses), statuses
        wall = (time.perf_counter() - started) / bursts
        cpu = (cpu_seconds(server.process.pid) - cpu_before) / bursts
        times, bare_times = health.take(), peer.take()
        health.stop(), peer.stop()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    ordered, bare_ordered = sorted(times), sorted(bare_times)
    return {"worst": ordered[-1], "p99": ordered[int(0.99 * (len(ordered) - 1))], "median": statistics.median(times),
            "bare_worst": bare_ordered[-1], "bare_p99": bare_ordered[int(0.99 * (len(bare_ordered) - 1))],
            "probes": len(times), "api_cpu": cpu, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the src folder of the checkout before")
    parser.add_argument("--after", default=str(REPO / "src"), help="the src folder of the checkout after")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--sdk", action="store_true", help="bursts of quafu-sdk submits with a 1.9 MB JSON body")
    args = parser.parse_args()
    print(f"load average at start {os.getloadavg()[0]:.1f}")
    with bare_server() as bare:
        for round_ in range(args.rounds):
            for side, src in (("before", args.before), ("after", args.after)):
                m = measure(src, args.bursts, bare, sdk_submits if args.sdk else submits)
                print(f"round {round_ + 1} {side:6s} /health worst {1000 * m['worst']:6.0f} ms, p99 "
                      f"{1000 * m['p99']:5.0f} ms, median {1000 * m['median']:4.0f} ms ({m['probes']} probes); "
                      f"bare app worst {1000 * m['bare_worst']:5.0f} ms, p99 {1000 * m['bare_p99']:4.0f} ms; API "
                      f"CPU {m['api_cpu']:.2f} s a burst of {m['wall']:.2f} s; load {os.getloadavg()[0]:.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
