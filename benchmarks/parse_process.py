"""The weight of one parse process (issue 18): CPU to start, resident memory and modules, checkouts side by side.

Each round runs, for each checkout's ``src`` (first on ``PYTHONPATH``), a fresh interpreter that does what a
parse process of :mod:`xihe.service.parse_pool` does: import the module, warm (``_start_child``: a Bell pair
checked on every backend), then check a 14-qubit noisy job on a twin. Reported: CPU seconds of the import and of
the warm-up, resident memory (VmRSS) after the check, modules loaded, and whether numba or scipy are among them.

    .venv/bin/python benchmarks/parse_process.py --src /tmp/wt-before/src --src src --rounds 3

``--live``: instead, a live ``xihe serve --no-workers`` per checkout gets two bursts of four concurrent submits of
a 190 KB program (native on a twin and on ``sim``, ``/sample``, the legacy pyquafu form), all read in its parse
processes; then each parse process's resident memory (VmRSS), its peak (VmHWM) and CPU are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.service.helpers import Server, server_env  # noqa: E402
from tests.service.test_parse_pool import LARGE, cpu_seconds, parse_processes  # noqa: E402

from xihe.devices.registry import SIM_ALIAS_SYSTEM_ID  # noqa: E402

CHILD = r"""
import json, resource, sys, tempfile
from pathlib import Path

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

start = cpu()
from xihe.service import parse_pool
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import check_job
imported = cpu()
settings = Settings(data_dir=Path(tempfile.mkdtemp()))
parse_pool._start_child(settings)
warmed = cpu()
ghz = "\n".join(["OPENQASM 2.0;", 'include "qelib1.inc";', "qreg q[14];", "creg c[14];", "h q[0];",
                 *[f"cx q[{i}],q[{i + 1}];" for i in range(13)], "t q[0];", "measure q -> c;", ""])
check_job(settings, parse_pool._Child.catalog, JobCreate(qasm=ghz, backend="dongling", shots=1000))
checked = cpu()
status = Path("/proc/self/status").read_text()
rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
print(json.dumps({"import_cpu_s": imported - start, "warm_cpu_s": warmed - imported, "check_cpu_s": checked - warmed,
                  "rss_mib": rss / 1024, "modules": len(sys.modules),
                  "numba": "numba" in sys.modules, "scipy": "scipy" in sys.modules}))
"""


def measure(src: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.path.dirname(os.path.abspath(src))]))
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field)))


def live(src: str) -> str:
    """One live server from checkout ``src``: its parse processes after large submits, as a line."""
    folder = Path(tempfile.mkdtemp(prefix="xihe-live-parse-"))
    server = Server(folder, {**server_env(folder, RATE_LIMIT_PER_SECOND="100000"), "PYTHONPATH": src})
    server.start("--no-workers")
    try:
        api, url = {"Authorization": f"Bearer {server.token}"}, server.url
        bodies = [("/api/v1/jobs", {"qasm": LARGE, "backend": "dongling", "shots": 10}),
                  ("/api/v1/jobs", {"qasm": LARGE, "backend": "sim", "shots": 10}),
                  ("/api/v1/sample", {"backend": "sim", "shots": 10, "pubs": [{"circuit": LARGE}]})]
        sends = [lambda path=path, body=body: httpx.post(f"{url}{path}", headers=api, json=body, timeout=300)
                 for path, body in bodies]
        sends.append(lambda: httpx.post(f"{url}/qbackend/scq_kit_asyc/", headers={"api_token": server.token or ""},
                                        data={"qtasm": LARGE, "selected_server": str(SIM_ALIAS_SYSTEM_ID),
                                              "shots": "10"}, timeout=300))
        for _ in range(2):
            threads = [threading.Thread(target=send) for send in sends]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        time.sleep(1)
        rows = [(_kib(pid, "VmRSS") / 1024, _kib(pid, "VmHWM") / 1024, cpu_seconds(pid))
                for pid in parse_processes(server)]
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return (f"{src}: {len(rows)} parse processes; VmRSS " + ", ".join(f"{r:.0f}" for r, _h, _c in rows) +
            " MiB; VmHWM " + ", ".join(f"{h:.0f}" for _r, h, _c in rows) + " MiB; CPU " +
            ", ".join(f"{c:.2f}" for _r, _h, c in rows) + " s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", required=True, help="a checkout's src folder (repeat)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--live", action="store_true", help="live servers' parse processes after large submits")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}")
    for round_ in range(args.rounds):
        for src in args.src:
            if args.live:
                print(f"round {round_ + 1} {live(src)}", flush=True)
                continue
            row = measure(src)
            print(f"round {round_ + 1} {src}: " + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
