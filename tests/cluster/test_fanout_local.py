"""Fan-out without Ray: the same chunks and item groups run in this process give the counts of an unsplit run."""

from __future__ import annotations

import pytest

from tests.cluster.helpers import SWEEP_QASM, sweep_bindings, wide_qasm
from xihe import devices
from xihe.service import executor
from xihe.service.cluster import ClusterSettings, configured_run_items
from xihe.service.cluster.executors import LocalExecutor
from xihe.service.cluster.fanout import FanOut, split_evenly
from xihe.service.executor import Stopped


def test_split_evenly_keeps_order_and_sizes() -> None:
    parts = list(range(10))
    groups = split_evenly(parts, 4)
    assert [len(g) for g in groups] == [3, 3, 2, 2]
    assert [x for g in groups for x in g] == parts
    assert split_evenly(parts, 50) == [[x] for x in parts]


def test_trajectories_chunks_run_locally_give_the_unsplit_counts() -> None:
    device = devices.get("grid36")
    items = executor.work_items({"circuits": [wide_qasm()], "seed": 99}, 600)
    reference = executor.run_item(device, items[0])
    split = FanOut(LocalExecutor(), min_shots=256)(device, items, lambda: False)[0]
    assert reference["metadata"]["engine"] == "trajectories"
    assert split["counts"] == reference["counts"]
    assert split["compiled_qasm"] == reference["compiled_qasm"]
    assert split["metadata"]["fanout"] == {"executor": "local", "tasks": 3, "nodes": {"local": 3}}


def test_a_light_job_is_not_split() -> None:
    device = devices.get("grid36")
    items = executor.work_items({"circuits": [wide_qasm()], "seed": 5}, 40)
    result = FanOut(LocalExecutor(), min_shots=4096)(device, items, lambda: False)[0]
    assert "fanout" not in result["metadata"]


def test_sweep_item_groups_give_the_unsplit_results() -> None:
    device = devices.get("sim")
    payload = {"circuits": [SWEEP_QASM], "parameters": sweep_bindings(20), "seed": 3}
    items = executor.work_items(payload, 200)
    reference = executor.run_items(device, items, lambda: False)
    split = FanOut(LocalExecutor(), min_items=8)(device, items, lambda: False)
    assert [r["counts"] for r in split] == [r["counts"] for r in reference]
    assert {r["metadata"]["fanout"]["node"] for r in split} == {"local"}


def test_cancel_stops_between_parts() -> None:
    device = devices.get("sim")
    items = executor.work_items({"circuits": [SWEEP_QASM], "parameters": sweep_bindings(20), "seed": 3}, 10)
    calls = iter([False, True, True, True])
    with pytest.raises(Stopped):
        FanOut(LocalExecutor(), min_items=8)(device, items, lambda: next(calls))


def test_fanout_is_configured_only_with_a_ray_address() -> None:
    assert configured_run_items(ClusterSettings(ray_address=None)) is None
    fanout = configured_run_items(ClusterSettings(ray_address="127.0.0.1:1", fanout_min_shots=10))
    assert isinstance(fanout, FanOut) and fanout.min_shots == 10 and fanout.executor.name == "ray"
