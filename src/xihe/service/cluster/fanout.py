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
def run_shot_chunks(shared: tuple[Any, Any, bool], specs: list[tuple[int, np.random.SeedSequence]]) -> list[Any]:
    """Run trajectories chunks ``(shots, seed sequence)`` of one compact circuit; one Result per chunk."""
    from xihe.engines.chunks import run_chunk

    circuit, noise, memory = shared
    return [run_chunk(circuit, shots, seq, noise, "trajectories", memory) for shots, seq in specs]


def run_item_group(device: Any, items: list[WorkItem]) -> list[dict[str, Any]]:
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

    def __call__(self, device: Any, items: list[WorkItem], should_stop: Callable[[], bool]) -> list[dict[str, Any]]:
        if len(items) > 1 and len(items) >= self.min_items:
            return self.run_item_groups(device, items, should_stop)
        view = ShotFanOutDevice(device, self, should_stop)
        results = []
        for item in items:
            if should_stop():
                raise Stopped()
            results.append(executor.run_item(view, item))
        return results

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
    def run_item_groups(self, device: Any, items: list[WorkItem],
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
    def shot_plan(self, device: Any, circuit: Any, shots: int) -> tuple[Any, Any, list[int]] | None:
        """``(compact circuit, noise, physical qubits)`` if this run is a heavy trajectories run, else None."""
        if shots < self.min_shots or getattr(device, "target", None) is None or device.target.unconstrained:
            return None
        from xihe.compiler import check_native
        from xihe.devices.device import compact_circuit
        from xihe.devices.execute import touched_qubits
        from xihe.engines.base import default_memory_limit, get_engine
        from xihe.engines.simulate import choose_engine

        check_native(circuit, device.target)
        qubits = touched_qubits(circuit)
        compact = compact_circuit(circuit, qubits)
        noise = device.noise_model(qubits)
        if get_engine("trajectories").estimate_memory(compact) > default_memory_limit():
            return None  # the device's own run picks the stabilizer engine (or refuses) for this one
        if choose_engine(compact, noise) != "trajectories":
            return None
        return compact, noise, qubits

    def run_shots(self, compact: Any, noise: Any, shots: int, seed: int | None, memory: bool,
                  should_stop: Callable[[], bool]) -> Any:
        """The trajectories engine's own chunks, run by the executor, merged in chunk order."""
        from xihe.engines.base import get_engine, resolve_seed
        from xihe.engines.chunks import DEFAULT_CHUNK_SHOTS, merge_results, plan_chunks

        started = time.perf_counter()
        seed = resolve_seed(seed)
        chunk_shots = int(getattr(get_engine("trajectories"), "chunk_shots", DEFAULT_CHUNK_SHOTS))
        plan = plan_chunks(shots, chunk_shots)
        specs = list(zip(plan, np.random.SeedSequence(seed).spawn(len(plan)), strict=True))
        groups = split_evenly(specs, self._tasks())
        name, outcomes = self._map(run_shot_chunks, (compact, noise, memory), groups, should_stop)
        chunk_results = [result for _node, group in outcomes for result in group]
        nodes: dict[str, int] = {}
        for (node, group_results) in outcomes:
            nodes[node] = nodes.get(node, 0) + len(group_results)
        merged = merge_results(chunk_results)
        merged.metadata.update({"engine": "trajectories", "seed": seed, "chunks": len(plan),
                                "chunk_shots": chunk_shots, "num_qubits": compact.num_qubits,
                                "wall_s": round(time.perf_counter() - started, 6),
                                "fanout": {"executor": name, "tasks": len(groups), "nodes": nodes}})
        return merged


class ShotFanOutDevice:
    """A device whose ``run`` splits heavy trajectories runs into chunks; everything else is the device's own."""

    def __init__(self, device: Any, fanout: FanOut, should_stop: Callable[[], bool]) -> None:
        self._device = device
        self._fanout = fanout
        self._should_stop = should_stop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._device, name)

    def run(self, circuit: Any, shots: int, seed: int | None = None, memory: bool = False,
            compiled: Any = None) -> Any:
        if circuit is None and compiled is not None:
            circuit = compiled.circuit
        plan = self._fanout.shot_plan(self._device, circuit, shots)
        if plan is None:
            return self._device.run(circuit, shots, seed=seed, memory=memory, compiled=compiled)
        compact, noise, qubits = plan
        result = self._fanout.run_shots(compact, noise, shots, seed, memory, self._should_stop)
        # What Device.run adds to a result, so a fanned-out result reads the same as a local one.
        result.metadata["physical_qubits"] = qubits
        result.metadata["backend"] = self._device.name
        result.metadata["calibration_id"] = self._device.calibration.id
        if compiled is not None:
            result.metadata["initial_layout"] = list(compiled.initial_layout)
            result.metadata["final_layout"] = list(compiled.final_layout)
        return result
