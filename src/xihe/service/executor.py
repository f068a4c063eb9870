"""Run one job's payload on a device: parse each distinct program once, bind, plan (compile unless verbatim), run.

A job travels as its QASM text (the durable input: shown back to users, echoed by the Quafu protocols, readable by
any later version), so the worker reads it once more after submit; within the worker each distinct text is read
once per job, however many sweep points bind it, with the same bounded limits as submit. Plans are made with the
settings' memory budget, the figure submit priced the job against, so both choose the same engine.

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

from xihe import qasm
from xihe.circuit import Circuit
from xihe.devices import Device
from xihe.devices.execute import run_plan
from xihe.devices.plan import ExecutionPlan, PlannedCircuit, PlanOptions
from xihe.errors import CompileError, ExecutionError, XiheError
from xihe.qasm import ParseLimits
from xihe.results import Result
from xihe.service.schemas import ResultPublic
from xihe.version import __version__


class Stopped(Exception):
    """The job was cancelled or its lease lost between two items."""


@dataclass(frozen=True)
class WorkItem:
    """One circuit of a job, ready to run: source text (and, once read, its circuit), binding, shots, own seed.

    ``circuit``: the text already parsed (shared by every sweep point of one text); None means parse ``qasm``.
    ``memory_limit``: the budget the plan's engine choice assumes (None: the engines' default).
    """

    index: int
    qasm: str
    binding: Mapping[str, float] | None
    shots: int
    seed: int
    compile: bool
    optimization_level: int
    memory: bool
    circuit: Circuit | None = None
    memory_limit: int | None = None
    precision: str = "double"
    dynamical_decoupling: str | None = None


def item_seeds(seed: int, count: int) -> list[int]:
    """Seeds of a job's items: the job seed for a single circuit, SeedSequence children for batches and sweeps."""
    if count == 1:
        return [int(seed)]
    children = np.random.SeedSequence(int(seed)).spawn(count)
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


def work_items(payload: Mapping[str, Any], shots: int, *, limits: ParseLimits | None = None,
               memory_limit: int | None = None) -> list[WorkItem]:
    """The job's items, each distinct program text read once (within ``limits``) and shared by its sweep points."""
    texts: list[str] = list(payload["circuits"])
    bindings: list[Mapping[str, float] | None] = list(payload.get("parameters") or []) or [None] * len(texts)
    if payload.get("parameters"):
        texts = texts * len(bindings)
    parsed: dict[str, Circuit] = {}
    for text in texts:
        if text not in parsed:
            parsed[text] = qasm.loads(text, limits=limits)
    seeds = item_seeds(int(payload["seed"]), len(texts))
    return [WorkItem(index=i, qasm=texts[i], binding=bindings[i], shots=shots, seed=seeds[i],
                     compile=bool(payload.get("compile", True)),
                     optimization_level=int(payload.get("optimization_level", 2)),
                     memory=bool(payload.get("memory", False)), circuit=parsed[texts[i]],
                     memory_limit=memory_limit, precision=str(payload.get("precision", "double")),
                     dynamical_decoupling=payload.get("dynamical_decoupling"))
            for i in range(len(texts))]


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


def _versions(result: Result) -> dict[str, str]:
    engine = result.metadata.get("engine")
    return {"xihe": __version__, "compiler": __version__, "engine": f"{engine or 'auto'}-{__version__}"}


def plan_item(device: Device, item: WorkItem) -> ExecutionPlan:
    """Bind the item's circuit (parsed by :func:`work_items`, or now) and plan it on ``device`` (compiled unless
    verbatim) within the item's memory budget."""
    circuit = item.circuit if item.circuit is not None else qasm.loads(item.qasm)
    if item.binding is not None:
        circuit = circuit.bind(dict(item.binding))
    options = PlanOptions(compile=item.compile, optimization_level=item.optimization_level, seeds=(item.seed,),
                          memory=item.memory, memory_limit=item.memory_limit, precision=item.precision,
                          dynamical_decoupling=item.dynamical_decoupling)
    try:
        return device.plan([circuit], item.shots, options)
    except CompileError:
        raise
    except XiheError as exc:  # a verbatim circuit the device cannot run: found at run time, as before
        raise ExecutionError(str(exc)) from exc


def result_record(device: Device, planned: PlannedCircuit, shots: int, memory: bool, result: Result
                  ) -> dict[str, Any]:
    """The stored result of one item (a ResultPublic dict), validated by the wire schema as it is written."""
    counts = {str(k): int(v) for k, v in dict(result.counts or {}).items()}
    total = sum(counts.values()) or 1
    compiled = planned.compiled
    record = {
        "counts": counts,
        "probabilities": {k: v / total for k, v in counts.items()},
        "shots": int(shots),
        "memory": [str(m) for m in result.memory] if memory and result.memory is not None else None,
        "compiled_qasm": qasm.dumps(planned.native),
        "initial_layout": list(compiled.initial_layout) if compiled is not None else None,
        "final_layout": list(compiled.final_layout) if compiled is not None else None,
        "calibration_id": str(device.calibration.id),
        "versions": _versions(result),
        "bit_order": "c0_leftmost",
        "metadata": _jsonable({**dict(result.metadata), "seed": planned.seed}),
    }
    return ResultPublic.model_validate(record).model_dump(mode="json")


def run_item(device: Device, item: WorkItem, run: Callable[[ExecutionPlan], list[Result]] = run_plan) -> dict[str, Any]:
    """Plan one item on ``device``, run the plan with ``run`` (the fan-out passes its own), return its record."""
    plan = plan_item(device, item)
    try:
        result = run(plan)[0]
    except XiheError as exc:
        if isinstance(exc, ExecutionError):
            raise
        raise ExecutionError(str(exc)) from exc
    return result_record(device, plan.circuits[0], item.shots, item.memory, result)


def run_items(device: Device, items: list[WorkItem], should_stop: Callable[[], bool]) -> list[dict[str, Any]]:
    """Run items in order, checking ``should_stop`` before each (cooperative cancel)."""
    results = []
    for item in items:
        if should_stop():
            raise Stopped()
        results.append(run_item(device, item))
    return results
