"""Fan a heavy job out: shot chunks of a trajectories circuit, or item groups of a batch/sweep; merge; return.

:class:`FanOut` has the signature of :func:`xihe.service.executor.run_items`, so the lease holder's worker loop
(:class:`xihe.service.worker.Worker`, its ``run_items`` hook) runs it in place of the plain loop and still commits
the job once, under its lease. Determinism comes from the engines' chunk plan (:mod:`xihe.engines.chunks`):

- a circuit whose device run lands on the trajectories engine with at least ``min_shots`` shots is cut into the
  engine's own fixed chunks (``plan_chunks(shots, engine.chunk_shots)``), chunk ``i`` seeded by the ``i``-th child of
  ``SeedSequence(seed).spawn``; merging the chunk rows in order gives exactly the counts of an unsplit
  ``device.run`` with that seed, on any number of nodes;
- a batch or sweep with at least ``min_items`` circuits is cut into contiguous groups of items; every item already
  has its own seed (:func:`xihe.service.executor.item_seeds`), so where it runs changes nothing.

Parts are grouped into a few tasks per CPU of the cluster. Which node ran what is recorded in each result's
``metadata["fanout"]``. If the Ray cluster cannot be reached, the same parts run locally (with a warning).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from xihe.circuit import Circuit
from xihe.devices import Device
from xihe.devices.execute import run_planned, stamp_result
from xihe.devices.plan import ExecutionPlan, PlannedCircuit
from xihe.engines.base import get_engine, resolve_seed
from xihe.engines.chunks import DEFAULT_CHUNK_SHOTS, merge_results, plan_chunks, run_chunk
from xihe.engines.noise import NoiseModel
from xihe.results import Result
from xihe.service import executor
from xihe.service.cluster.executors import ChunkExecutor, LocalExecutor
from xihe.service.executor import Stopped, WorkItem

log = logging.getLogger("xihe.cluster")


def split_evenly(parts: Sequence[Any], groups: int) -> list[list[Any]]:
    """Contiguous groups of nearly equal size (order kept), at most ``groups`` of them.

    >>> split_evenly([1, 2, 3, 4, 5], 2)
    [[1, 2, 3], [4, 5]]
    """
    groups = max(1, min(groups, len(parts)))
    size, extra = divmod(len(parts), groups)
    out, start = [], 0
    for g in range(groups):
        end = start + size + (1 if g < extra else 0)
        out.append(list(parts[start:end]))
        start = end
    return out


# -- task bodies (module level: Ray ships them by reference) -----------------------------------------------------
def run_shot_chunks(shared: tuple[Any, Any, bool, str, str], specs: list[tuple[int, np.random.SeedSequence]]
                    ) -> list[Any]:
    """Run trajectories chunks ``(shots, seed sequence)`` of one compact circuit; one Result per chunk."""
    circuit, noise, memory, engine, precision = shared
    return [run_chunk(circuit, shots, seq, noise, engine, memory, precision) for shots, seq in specs]


def run_item_group(device: Device, items: list[WorkItem]) -> list[dict[str, Any]]:
    """Run a group of a batch's items on ``device``; one ResultPublic dict per item."""
    return [executor.run_item(device, item) for item in items]


# -- the fan-out --------------------------------------------------------------------------------------------------
class FanOut:
    """A ``run_items`` that splits heavy jobs over ``chunk_executor`` (Ray or local)."""

    def __init__(self, chunk_executor: ChunkExecutor | None = None, *, min_shots: int = 4096, min_items: int = 16,
                 tasks_per_cpu: int = 4) -> None:
        self.executor: ChunkExecutor = chunk_executor or LocalExecutor()
        self.min_shots = min_shots
        self.min_items = min_items
        self.tasks_per_cpu = tasks_per_cpu
        self._local = LocalExecutor()

    def __call__(self, device: Device, items: list[WorkItem], should_stop: Callable[[], bool]
                 ) -> list[dict[str, Any]]:
        if len(items) > 1 and len(items) >= self.min_items:
            return self.run_item_groups(device, items, should_stop)
        results = []
        for item in items:
            if should_stop():
                raise Stopped()
            results.append(executor.run_item(device, item, lambda plan: self.run_plan(plan, should_stop)))
        return results

    def run_plan(self, plan: ExecutionPlan, should_stop: Callable[[], bool]) -> list[Result]:
        """Run a plan, its heavy trajectories circuits in chunks over the executor, the rest on the device."""
        plan.check_memory()
        results = []
        for planned in plan.circuits:
            if self.splits(plan, planned):
                result = self.run_shots(planned.compact, planned.noise, plan.shots, planned.seed,
                                        plan.options.memory, should_stop, planned.engine, planned.precision)
                results.append(stamp_result(plan.device, planned, result))
            else:
                results.append(run_planned(plan.device, planned, plan.shots, plan.options.memory,
                                           plan.options.limit()))
        return results

    def splits(self, plan: ExecutionPlan, planned: PlannedCircuit) -> bool:
        """Whether a planned circuit is a heavy trajectories run worth cutting into shot chunks."""
        return (plan.shots >= self.min_shots and not plan.device.target.unconstrained
                and (planned.engine == "trajectories" or (planned.engine == "mps" and planned.noise is not None
                                                          and planned.noise.has_quantum_noise())))

    # -- executing parts, with the local fallback ----------------------------------------------------------------
    def _tasks(self) -> int:
        try:
            return self.executor.parallelism() * self.tasks_per_cpu
        except ConnectionError as exc:
            log.warning("Ray unreachable (%s); running the chunks locally", exc)
            return 1

    def _map(self, task: Callable[[Any, Any], Any], shared: Any, parts: list[Any],
             should_stop: Callable[[], bool]) -> tuple[str, list[tuple[str, Any]]]:
        try:
            return self.executor.name, self.executor.map(task, shared, parts, should_stop)
        except ConnectionError as exc:
            log.warning("Ray unreachable (%s); running the chunks locally", exc)
            return self._local.name, self._local.map(task, shared, parts, should_stop)

    # -- batches and sweeps ----------------------------------------------------------------------------------------
    def run_item_groups(self, device: Device, items: list[WorkItem],
                        should_stop: Callable[[], bool]) -> list[dict[str, Any]]:
        groups = split_evenly(items, self._tasks())
        name, outcomes = self._map(run_item_group, device, groups, should_stop)
        results: list[dict[str, Any]] = []
        for node, group_results in outcomes:
            for data in group_results:
                data["metadata"] = {**(data.get("metadata") or {}),
                                    "fanout": {"executor": name, "node": node, "tasks": len(groups)}}
                results.append(data)
        return results

    # -- shot chunks -------------------------------------------------------------------------------------------------
    def run_shots(self, compact: Circuit, noise: NoiseModel | None, shots: int, seed: int | None, memory: bool,
                  should_stop: Callable[[], bool], engine: str = "trajectories", precision: str = "double"
                  ) -> Result:
        """The engine's own chunks (trajectories, or noisy mps), run by the executor, merged in chunk order."""
        started = time.perf_counter()
        seed = resolve_seed(seed)
        chunk_shots = int(getattr(get_engine(engine), "chunk_shots", DEFAULT_CHUNK_SHOTS))
        plan = plan_chunks(shots, chunk_shots)
        specs = list(zip(plan, np.random.SeedSequence(seed).spawn(len(plan)), strict=True))
        groups = split_evenly(specs, self._tasks())
        name, outcomes = self._map(run_shot_chunks, (compact, noise, memory, engine, precision), groups, should_stop)
        chunk_results = [result for _node, group in outcomes for result in group]
        nodes: dict[str, int] = {}
        for (node, group_results) in outcomes:
            nodes[node] = nodes.get(node, 0) + len(group_results)
        merged = merge_results(chunk_results)
        merged.metadata.update({"engine": engine, "seed": seed, "chunks": len(plan),
                                "chunk_shots": chunk_shots, "num_qubits": compact.num_qubits,
                                "wall_s": round(time.perf_counter() - started, 6),
                                "fanout": {"executor": name, "tasks": len(groups), "nodes": nodes}})
        return merged
