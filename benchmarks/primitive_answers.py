"""The estimator's and the sampler's answers on a large result: the API's memory and time, two checkouts in one run.

Run: ``.venv/bin/python benchmarks/primitive_answers.py --before /tmp/base/src [--skip-postgres]``.

For each database and each checkout (``--before``: another checkout's ``src``, put first on the server's
``PYTHONPATH``; the tree this script is in, after), one ``xihe serve`` with one local worker runs two jobs to DONE:
an estimation of three Z observables on 20 qubits of ``h q;`` at precision 0.001 (10^6 shots: about 644,000
distinct outcomes in count pages) and a sampling job of 10^6 shots with two registers. Then it reads
``GET /estimate/{id}`` and ``GET /sample/{id}``, each measured as ``benchmarks/hostile.py`` measures a request: the
time to the whole answer, the answer's size, the API process's peak resident memory above its level before the
request (``VmHWM`` reset through ``/proc/PID/clear_refs``) and the slowest ``/health`` answer seen meanwhile by a
probe polling every 20 ms. Prints a table; the figures and their load go in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
from hostile import HealthProbe, memory_kb  # this folder's adversarial benchmark: the same measures

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.test_primitive_pages import OBSERVABLES, TWO_REGISTERS, UNIFORM  # noqa: E402
from tests.service.helpers import served  # noqa: E402


def _done(client: httpx.Client, job_id: str) -> None:
    for _ in range(120):
        if client.get(f"/jobs/{job_id}", params={"wait": 10}).json()["status"] in ("DONE", "FAILED"):
            return
    raise AssertionError(f"job {job_id} did not finish")


def run(database: str, label: str, src: str | None) -> list[dict]:
    rows = []
    data_dir = Path(tempfile.mkdtemp(prefix=f"xihe-primitives-{database}-"))
    with served(database, data_dir, src=src, WORKERS="1", MEMORY_BUDGET_BYTES=str(2 << 30)) as server, \
            server.client() as client:
        client.timeout = httpx.Timeout(600)
        assert server.process is not None
        pid = server.process.pid
        estimate = client.post("/estimate", json={"backend": "sim", "precision": 0.001, "seed": 18, "compile": False,
                                                  "pubs": [{"circuit": UNIFORM, "observables": OBSERVABLES}]}).json()
        sample = client.post("/sample", json={"backend": "sim", "shots": 1_000_000, "seed": 18, "compile": False,
                                              "pubs": [{"circuit": TWO_REGISTERS}]}).json()
        _done(client, estimate["id"])
        _done(client, sample["id"])
        probe = HealthProbe(f"{server.url}/api/v1").start()
        try:
            for name, url in [("GET /estimate (644k outcomes)", f"/estimate/{estimate['id']}"),
                              ("GET /sample (10^6 shots, 2 registers)", f"/sample/{sample['id']}")]:
                client.get(f"/jobs/{estimate['id']}")  # the route's first-use costs out of the figure
                Path(f"/proc/{pid}/clear_refs").write_text("5")
                before = memory_kb(pid, "VmHWM")
                probe.reset()
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
                rows.append({"db": database, "code": label, "request": name, "status": response.status_code,
                             "seconds": elapsed, "mb": len(response.content) / 1e6,
                             "rise_mib": (memory_kb(pid, "VmHWM") - before) / 1024,
                             "health_ms": probe.worst() * 1000})
        finally:
            probe.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the other checkout's src folder")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    rows = []
    for database in ["sqlite"] + ([] if args.skip_postgres else ["postgres"]):
        rows += run(database, "before", args.before)
        rows += run(database, "after", None)
    print(f"{'db':9} {'code':6} {'request':38} {'status':>6} {'s':>7} {'MB':>6} {'peak rise MiB':>13} "
          f"{'/health ms':>10}")
    for r in rows:
        print(f"{r['db']:9} {r['code']:6} {r['request']:38} {r['status']:>6} {r['seconds']:7.2f} {r['mb']:6.1f} "
              f"{r['rise_mib']:13.1f} {r['health_ms']:10.1f}")


if __name__ == "__main__":
    main()
