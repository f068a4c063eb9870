"""Estimator throughput through a live server: PUB elements (binding x observable) per second, submit to answer.

Starts ``xihe serve`` (one worker, throw-away SQLite folder), sends one 4-qubit hardware-efficient ansatz with
3 observables (3 qubit-wise commuting groups) and N bindings as one job, exact (precision 0) and sampled
(precision 0.02, 2,500 shots per measured circuit) on ``sim``, and sampled on the ``line10`` twin (raw, and with
readout mitigation + ZNE over factors 1, 3, 5).

Peers in the same run: the same PUB through ``xihe.qiskit.EstimatorV2`` (one Xihe estimate job) and through
Qiskit's generic ``BackendEstimatorV2`` over the Xihe backend (Qiskit groups and measures client-side and sends
the measured circuits as one ``backend.run`` job through the same server), and Qiskit Aer's ``EstimatorV2``
in-process (no server). The ratio column is PUB elements/s relative to ``BackendEstimatorV2`` on the same row's
backend and precision.

    .venv/bin/python benchmarks/estimator_throughput.py [--bindings 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ParameterVector
from qiskit.primitives import BackendEstimatorV2
from qiskit.quantum_info import SparsePauliOp
from qiskit_aer.primitives import EstimatorV2 as AerEstimator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.service.helpers import Server, server_env

from xihe.circuit import Circuit, Parameter
from xihe.client import Client, Mitigation
from xihe.qiskit import EstimatorV2, XiheBackend, XiheProvider

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


def qiskit_ansatz() -> QuantumCircuit:
    t = ParameterVector("t", 8)
    qc = QuantumCircuit(4)
    for q in range(4):
        qc.ry(t[q], q)
    for q in range(3):
        qc.cx(q, q + 1)
    for q in range(4):
        qc.rz(t[4 + q], q)
    return qc


def timed(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    circuits = run()
    return time.perf_counter() - start, circuits


def run_native(client: Client, backend: str, bindings: list[dict[str, float]], precision: float,
               mitigation: Mitigation | None) -> int:
    circuit, _ = ansatz()
    job = client.estimate(circuit, OBSERVABLES, backend=backend, parameter_values=bindings, precision=precision,
                          seed=3, mitigation=mitigation)
    [pub] = job.estimates(timeout=3600)
    assert len(pub.values) == len(bindings)
    return job.refresh().num_circuits


def qiskit_observables() -> list[list[SparsePauliOp]]:
    return [[SparsePauliOp.from_list(list(o.items()))] for o in OBSERVABLES]


def run_primitive(client: Client, backend: XiheBackend, table: np.ndarray, precision: float) -> int:
    options = {"resilience_level": 0, "default_precision": precision, "seed_estimator": 3}
    job = EstimatorV2(mode=backend, options=options).run([(qiskit_ansatz(), qiskit_observables(), table)])
    job.result(timeout=3600)
    return client.job(job.job_id()).info.num_circuits


def run_generic(backend: XiheBackend, table: np.ndarray, precision: float) -> int:
    isa = transpile(qiskit_ansatz(), backend, optimization_level=1, seed_transpiler=1)
    observables = [[o.apply_layout(isa.layout) for o in row] for row in qiskit_observables()]
    BackendEstimatorV2(backend=backend, options={"seed_simulator": 3}).run(
        [(isa, observables, table)], precision=precision).result()
    return -1


def run_aer(table: np.ndarray, precision: float) -> int:
    options = {"run_options": {"seed": 3}} if precision else {"backend_options": {"method": "statevector"}}
    AerEstimator(options=options).run([(qiskit_ansatz(), qiskit_observables(), table)], precision=precision).result()
    return -1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bindings", type=int, default=200)
    args = parser.parse_args()
    _, names = ansatz()
    rng = np.random.default_rng(1)
    table = rng.uniform(-np.pi, np.pi, (args.bindings, len(names)))
    bindings = [dict(zip(names, map(float, row), strict=True)) for row in table]
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder), server_env(Path(folder), WORKERS="1")).start(timeout=300)
        try:
            with Client(server.url, token=server.token) as client:
                provider = XiheProvider(client)
                print("| backend | precision | mitigation | path | bindings | measured circuits | seconds | "
                      "PUB elements / s | ratio to BackendEstimatorV2 |")
                print("|---|---|---|---|---|---|---|---|---|")
                cases = [("sim", 0.0, None), ("sim", 0.02, None), ("line10", 0.02, None),
                         ("line10", 0.02, Mitigation(readout=True, zne_factors=(1, 3, 5)))]
                for name, precision, mitigation in cases:
                    count = args.bindings if name == "sim" else min(args.bindings, 20)
                    backend = provider.get_backend(name)
                    run_native(client, name, bindings[:2], precision, mitigation)  # warm the worker: not timed
                    rows = [("client.estimate", *timed(partial(run_native, client, name, bindings[:count],
                                                               precision, mitigation)))]
                    if mitigation is None:
                        rows.append(("xihe.qiskit.EstimatorV2",
                                     *timed(partial(run_primitive, client, backend, table[:count], precision))))
                        if precision > 0:
                            rows.append(("BackendEstimatorV2 over XiheBackend",
                                         *timed(partial(run_generic, backend, table[:count], precision))))
                        if name == "sim":
                            rows.append(("Aer EstimatorV2 (in-process)",
                                         *timed(partial(run_aer, table[:count], precision))))
                    elements = count * len(OBSERVABLES)
                    reference = next((elements / seconds for path, seconds, _ in rows
                                      if path.startswith("BackendEstimatorV2")), None)
                    label = "readout + ZNE 1,3,5" if mitigation else "none"
                    for path, seconds, circuits in rows:
                        ratio = f"{elements / seconds / reference:.2f}" if reference else "-"
                        shown = str(circuits) if circuits >= 0 else "-"
                        print(f"| {name} | {precision} | {label} | {path} | {count} | {shown} | {seconds:.2f} | "
                              f"{elements / seconds:.0f} | {ratio} |", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
