"""The weight of one parse process (issue 18): CPU to start, resident memory and modules, checkouts side by side.

Each round runs, for each checkout's ``src`` (first on ``PYTHONPATH``), a fresh interpreter that does what a
parse process of :mod:`xihe.service.parse_pool` does: import the module, warm (``_start_child``: a Bell pair
checked on every backend), then check a 14-qubit noisy job on a twin. Reported: CPU seconds of the import and of
the warm-up, resident memory (VmRSS) after the check, modules loaded, and whether numba or scipy are among them.

    .venv/bin/python benchmarks/parse_process.py --src /tmp/wt-before/src --src src --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", required=True, help="a checkout's src folder (repeat)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}")
    for round_ in range(args.rounds):
        for src in args.src:
            row = measure(src)
            print(f"round {round_ + 1} {src}: " + ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
