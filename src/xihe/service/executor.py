"""Run one job's payload on a device: parse, bind, compile (unless verbatim), run; one result dict per item.

Pure of storage: the worker loop hands in the payload and a ``should_stop`` callback (cooperative cancel and a
lost lease stop between items) and stores what comes back. Errors carry their stage: a failure while compiling
is a :class:`~xihe.errors.CompileError` (stage "compile"), while running an :class:`~xihe.errors.ExecutionError`.
The cluster layer may replace :func:`run_items` to fan items out to Ray; everything else stays as is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from xihe.errors import CompileError, ExecutionError, XiheError
from xihe.version import __version__


class Stopped(Exception):
    """The job was cancelled or its lease lost between two items."""


@dataclass(frozen=True)
class WorkItem:
    """One circuit of a job, ready to run: source text, binding, shots and its own seed."""

    index: int
    qasm: str
    binding: Mapping[str, float] | None
    shots: int
    seed: int
    compile: bool
    optimization_level: int
    memory: bool


def item_seeds(seed: int, count: int) -> list[int]:
    """Seeds of a job's items: the job seed for a single circuit, SeedSequence children for batches and sweeps."""
    if count == 1:
        return [int(seed)]
    children = np.random.SeedSequence(int(seed)).spawn(count)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def work_items(payload: Mapping[str, Any], shots: int) -> list[WorkItem]:
    texts: list[str] = list(payload["circuits"])
    bindings: list[Mapping[str, float] | None] = list(payload.get("parameters") or []) or [None] * len(texts)
    if payload.get("parameters"):
        texts = texts * len(bindings)
    seeds = item_seeds(int(payload["seed"]), len(texts))
    return [WorkItem(index=i, qasm=texts[i], binding=bindings[i], shots=shots, seed=seeds[i],
                     compile=bool(payload.get("compile", True)),
                     optimization_level=int(payload.get("optimization_level", 2)),
                     memory=bool(payload.get("memory", False))) for i in range(len(texts))]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    return str(value)


def _versions(result: Any) -> dict[str, str]:
    metadata = getattr(result, "metadata", None) or {}
    engine = metadata.get("engine") if isinstance(metadata, Mapping) else None
    return {"xihe": __version__, "compiler": __version__, "engine": f"{engine or 'auto'}-{__version__}"}


def run_item(device: Any, item: WorkItem) -> dict[str, Any]:
    """Compile and run one item on ``device``; return its ResultPublic dict."""
    from xihe import qasm

    circuit = qasm.loads(item.qasm)
    if item.binding is not None:
        circuit = circuit.bind(dict(item.binding))
    compiled = None
    native = circuit
    if item.compile:
        try:
            compiled = device.compile(circuit, optimization_level=item.optimization_level, seed=item.seed)
        except XiheError as exc:
            raise CompileError(str(exc)) from exc
        native = compiled.circuit
    try:
        result = device.run(native, item.shots, seed=item.seed, memory=item.memory, compiled=compiled)
    except XiheError as exc:
        if isinstance(exc, ExecutionError):
            raise
        raise ExecutionError(str(exc)) from exc
    counts = {str(k): int(v) for k, v in dict(result.counts or {}).items()}
    total = sum(counts.values()) or 1
    probabilities = {k: v / total for k, v in counts.items()}
    calibration = getattr(device, "calibration", None)
    memory = getattr(result, "memory", None)
    metadata = getattr(result, "metadata", None) or {}
    return {
        "counts": counts,
        "probabilities": probabilities,
        "shots": int(item.shots),
        "memory": [str(m) for m in memory] if item.memory and memory is not None else None,
        "compiled_qasm": qasm.dumps(native),
        "initial_layout": _jsonable(getattr(compiled, "initial_layout", None)),
        "final_layout": _jsonable(getattr(compiled, "final_layout", None)),
        "calibration_id": str(calibration.id) if calibration is not None else None,
        "versions": _versions(result),
        "bit_order": "c0_leftmost",
        "metadata": _jsonable({**dict(metadata), "seed": item.seed}),
    }


def run_items(device: Any, items: list[WorkItem], should_stop: Callable[[], bool]) -> list[dict[str, Any]]:
    """Run items in order, checking ``should_stop`` before each (cooperative cancel)."""
    results = []
    for item in items:
        if should_stop():
            raise Stopped()
        results.append(run_item(device, item))
    return results
