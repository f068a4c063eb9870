"""Ray fan-out on a two-node cluster started here (127.0.0.1, free ports): the lease holder splits heavy jobs over
both nodes, merges, commits once, and the counts are exactly those of a one-node, unsplit run with the same seed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.helpers import SWEEP_QASM, LocalQueue, sweep_bindings, wide_qasm
from tests.service.helpers import xihe_command
from xihe import devices
from xihe.service import executor
from xihe.service.cluster.executors import LocalExecutor, shutdown_ray
from xihe.service.cluster.fanout import FanOut
from xihe.service.cluster.localray import local_ray_cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[tuple[str, set[str]]]:
    with local_ray_cluster(nodes=2, cpus_per_node=1) as cluster:
        import ray

        try:
            ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
            node_ids = {str(node["NodeID"]) for node in ray.nodes() if node["Alive"]}
            yield cluster.address, node_ids
        finally:
            shutdown_ray()


def test_heavy_jobs_split_across_both_nodes_give_one_node_counts(ray_cluster: tuple[str, set[str]],
                                                                 tmp_path: Path) -> None:
    address, node_ids = ray_cluster
    assert len(node_ids) == 2
    queue = LocalQueue(tmp_path)
    wide_id, wide_payload, wide_shots = queue.submit(qasm=wide_qasm(), backend="grid36", shots=10_000, seed=2024)
    sweep_id, sweep_payload, sweep_shots = queue.submit(qasm=SWEEP_QASM, backend="sim", shots=500, seed=77,
                                                        parameters=sweep_bindings(200))
    # The lease holder: a real `xihe worker` process, pointed at the cluster by XIHE_RAY_ADDRESS.
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env.update(XIHE_DATA_DIR=str(tmp_path), XIHE_RAY_ADDRESS=address, XIHE_MEMORY_BUDGET_BYTES=str(2**32))
    worker = subprocess.Popen(xihe_command("worker", "--processes", "1", "--backends", "grid36,sim"), env=env,
                              stdout=(tmp_path / "worker.log").open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not {queue.status(wide_id), queue.status(sweep_id)} <= {"DONE", "FAILED", "CANCELLED"}:
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert queue.status(wide_id) == queue.status(sweep_id) == "DONE", (tmp_path / "worker.log").read_text()

    # The trajectories job: its 40 engine chunks ran on both nodes; counts equal a one-node run.
    [wide] = queue.results(wide_id)
    assert wide["metadata"]["engine"] == "trajectories" and wide["shots"] == 10_000
    spread = wide["metadata"]["fanout"]
    assert spread["executor"] == "ray" and set(spread["nodes"]) == node_ids
    assert sum(spread["nodes"].values()) == 40
    # One node: the same job run by a worker without Ray, its chunks one after the other in this process
    # (test_fanout_local shows that equals the engine's own unsplit run).
    one_node = FanOut(LocalExecutor(), min_shots=4096)
    [reference] = one_node(devices.get("grid36"), executor.work_items(wide_payload, wide_shots), lambda: False)
    assert reference["metadata"]["fanout"]["nodes"] == {"local": 40}
    assert wide["counts"] == reference["counts"]
    assert sum(wide["counts"].values()) == 10_000

    # The sweep: 200 items in groups on both nodes; each item's counts equal the unsplit run's.
    sweep = queue.results(sweep_id)
    assert len(sweep) == 200
    assert {item["metadata"]["fanout"]["node"] for item in sweep} == node_ids
    local = executor.run_items(devices.get("sim"), executor.work_items(sweep_payload, sweep_shots), lambda: False)
    assert [item["counts"] for item in sweep] == [item["counts"] for item in local]
