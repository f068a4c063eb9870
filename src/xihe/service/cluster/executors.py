"""Where fan-out tasks run: in this process (:class:`LocalExecutor`) or as Ray tasks (:class:`RayExecutor`).

An executor maps a task function over parts of a job and returns, in part order, ``(node, value)`` pairs: the node
that ran each part (a Ray node id, or ``"local"``) is recorded in the job's result metadata, so an operator (and the
tests) can see how the work was spread. Task functions are module-level, so Ray ships them by reference and every
Ray worker imports the installed ``xihe`` package. Ray is imported only here and only when a Ray executor is used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from xihe.service.executor import Stopped

log = logging.getLogger("xihe.cluster")

S = TypeVar("S")
P = TypeVar("P")

TaskFunction = Callable[[Any, Any], Any]


class ChunkExecutor(Protocol):
    """Runs ``task(shared, part)`` for every part; checks ``should_stop`` between parts (cooperative cancel)."""

    name: str

    def parallelism(self) -> int: ...

    def map(self, task: TaskFunction, shared: Any, parts: Sequence[Any],
            should_stop: Callable[[], bool]) -> list[tuple[str, Any]]: ...


class LocalExecutor:
    """The same parts, one after the other, in this process: the fallback without Ray (same counts)."""

    name = "local"

    def parallelism(self) -> int:
        return 1

    def map(self, task: TaskFunction, shared: Any, parts: Sequence[Any],
            should_stop: Callable[[], bool]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for part in parts:
            if should_stop():
                raise Stopped()
            out.append(("local", task(shared, part)))
        return out


def _on_node(task: TaskFunction, shared: Any, part: Any) -> tuple[str, Any]:
    """Body of every Ray task: run the part and say which node ran it."""
    import ray

    return str(ray.get_runtime_context().get_node_id()), task(shared, part)


class RayExecutor:
    """Parts as Ray tasks (one CPU each, ``SPREAD`` over the nodes), connected lazily to ``address``."""

    name = "ray"

    def __init__(self, address: str, *, wait_seconds: float = 0.5) -> None:
        self.address = address
        self.wait_seconds = wait_seconds
        self._remote: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        import ray

        with self._lock:
            if not ray.is_initialized():
                ray.init(address=self.address, namespace="xihe", log_to_driver=False,
                         logging_level=logging.WARNING, configure_logging=False)
            if self._remote is None:
                self._remote = ray.remote(num_cpus=1, max_retries=2)(_on_node)
        return ray

    def parallelism(self) -> int:
        ray = self._connect()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def map(self, task: TaskFunction, shared: Any, parts: Sequence[Any],
            should_stop: Callable[[], bool]) -> list[tuple[str, Any]]:
        ray = self._connect()
        shared_ref = ray.put(shared)
        refs = [self._remote.options(scheduling_strategy="SPREAD").remote(task, shared_ref, part) for part in parts]
        position = {ref: i for i, ref in enumerate(refs)}
        out: list[tuple[str, Any] | None] = [None] * len(refs)
        waiting = list(refs)
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=len(waiting), timeout=self.wait_seconds)
            for ref in done:
                out[position[ref]] = ray.get(ref)
            if waiting and should_stop():
                for ref in waiting:
                    ray.cancel(ref, force=True)
                raise Stopped()
        return [pair for pair in out if pair is not None]


def shutdown_ray() -> None:
    """Disconnect this process from Ray (tests, benchmarks); the cluster itself keeps running."""
    try:
        import ray
    except ModuleNotFoundError:
        return
    if ray.is_initialized():
        ray.shutdown()
