"""Ray fan-out on a two-node cluster started here (127.0.0.1, free ports): the lease holder splits heavy jobs over
both nodes, merges, commits once, and the counts are exactly those of a one-node, unsplit run with the same seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.helpers import SWEEP_QASM, LocalQueue, sweep_bindings, wide_qasm
from xihe import devices
from xihe.service import executor
from xihe.service.cluster.executors import LocalExecutor, RayExecutor, shutdown_ray
from xihe.service.cluster.fanout import FanOut
from xihe.service.cluster.localray import local_ray_cluster
from xihe.service.worker import Worker

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
    fanout = FanOut(RayExecutor(address), min_shots=4096, min_items=16)
    worker = Worker(queue.settings, queue.database, backends=["grid36", "sim"], catalog=queue.catalog,
                    run_items=fanout)
    assert worker.run_once() and worker.run_once()
    assert queue.status(wide_id) == "DONE" and queue.status(sweep_id) == "DONE"

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
