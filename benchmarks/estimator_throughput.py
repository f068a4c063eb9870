"""Estimator throughput through a live server: PUB elements (binding x observable) per second, submit to answer.

Starts ``xihe serve`` (one worker, throw-away SQLite folder), sends one 4-qubit hardware-efficient ansatz with
3 observables (3 qubit-wise commuting groups) and N bindings as one job, exact (precision 0) and sampled
(precision 0.02, 2,500 shots per measured circuit) on ``sim``, and sampled on the ``line10`` twin.

    .venv/bin/python benchmarks/estimator_throughput.py [--bindings 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.service.helpers import Server, server_env

from xihe.circuit import Circuit, Parameter
from xihe.client import Client

OBSERVABLES = [{"ZZII": 1.0, "IZZI": 1.0, "IIZZ": 1.0, "ZIII": 0.5}, {"XXXX": 1.0, "XIIX": 0.3}, {"YYII": 0.7}]


def ansatz() -> tuple[Circuit, list[str]]:
    names = [f"t{i}" for i in range(8)]
    thetas = [Parameter(name) for name in names]
    qc = Circuit(4)
    for q in range(4):
        qc.ry(thetas[q], q)
    for q in range(3):
        qc.cx(q, q + 1)
    for q in range(4):
        qc.rz(thetas[4 + q], q)
    return qc, names


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bindings", type=int, default=200)
    args = parser.parse_args()
    circuit, names = ansatz()
    rng = np.random.default_rng(1)
    bindings = [dict(zip(names, map(float, rng.uniform(-np.pi, np.pi, len(names))), strict=True))
                for _ in range(args.bindings)]
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder), server_env(Path(folder), WORKERS="1")).start(timeout=300)
        try:
            with Client(server.url, token=server.token) as client:
                print("| backend | precision | bindings | measured circuits | seconds | PUB elements / s |")
                print("|---|---|---|---|---|---|")
                for backend, precision in (("sim", 0.0), ("sim", 0.02), ("line10", 0.02)):
                    count = args.bindings if backend == "sim" else min(args.bindings, 20)
                    start = time.perf_counter()
                    job = client.estimate(circuit, OBSERVABLES, backend=backend, parameter_values=bindings[:count],
                                          precision=precision, seed=3)
                    [pub] = job.estimates(timeout=3600)
                    elapsed = time.perf_counter() - start
                    elements = count * len(OBSERVABLES)
                    print(f"| {backend} | {precision} | {count} | {job.info.num_circuits} | {elapsed:.2f} | "
                          f"{elements / elapsed:.0f} |")
                    assert len(pub.values) == count
        finally:
            server.stop()


if __name__ == "__main__":
    main()
