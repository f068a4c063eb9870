"""The Sampler primitive as a job kind: PUBs (circuit, parameter bindings, shots) -> per-register bit arrays.

One sampling request is one job (kind ``sample``). Each (PUB, binding) pair is one work item run with per-shot
memory through the ordinary :func:`~xihe.service.executor.run_items` path (so the Ray fan-out applies); submit
prices the job with the :class:`~xihe.devices.plan.ExecutionPlan` of its bound circuits, like any other job.
:func:`pub_samples` cuts each item's stored shots (``c0_leftmost`` keys) into its classical registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from xihe.circuit import Circuit
from xihe.devices import Device
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog
from xihe.service.limits import input_limits, parse_job_circuits
from xihe.service.models import Job, User
from xihe.service.primitive_jobs import bad_pub, pub_bindings, store_primitive_job
from xihe.service.sample_schemas import PubSamplesPublic, RegisterSamples, SampleCreate
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import plan_on_device
from xihe.status import JobKind

SAMPLE_KIND = JobKind.SAMPLE


@dataclass(frozen=True)
class PreparedSample:
    """A sampling request checked against its backend, with the payload the worker runs."""

    request: SampleCreate
    payload: dict[str, Any]
    widths: list[int]
    num_items: int
    shots: int
    memory: int


def prepare_sample(settings: Settings, catalog: DeviceCatalog, request: SampleCreate,
                   user: User | None = None) -> PreparedSample:
    """Parse, bind and price a sampling request (no database needed)."""
    device = catalog.get(request.backend)
    parsed = parse_job_circuits([pub.circuit for pub in request.pubs], input_limits(settings, device, user),
                                settings, device)
    pubs: list[dict[str, Any]] = []
    runs: list[Circuit] = []
    for index, (pub, circuit) in enumerate(zip(request.pubs, parsed, strict=True)):
        where = f"pubs[{index}]"
        if "measure" not in circuit.count_ops():
            raise bad_pub("no_measurement", f"{where}: the circuit measures nothing; a sampler PUB samples its "
                          "measurements (add e.g. 'measure q -> c;')")
        bindings = pub_bindings(circuit, pub.parameter_values, where)
        pubs.append({"circuit": pub.circuit, "bindings": bindings,
                     "shots": pub.shots if pub.shots is not None else request.shots,
                     "registers": [[reg.name, reg.size] for reg in circuit.cregs]})
        runs.extend(circuit.bind(b) if b is not None else circuit for b in bindings)
    if len(runs) > settings.max_circuits_per_job:
        raise bad_pub("too_many_circuits", f"the PUBs make {len(runs)} circuits (one per binding); a job holds at "
                      f"most {settings.max_circuits_per_job}")
    most = max(int(pub["shots"]) for pub in pubs)
    pricing = JobCreate(qasm=request.pubs[0].circuit, backend=request.backend, shots=most, compile=request.compile,
                        optimization_level=request.optimization_level, memory=True)
    plan = plan_on_device(settings, device, runs, pricing)
    payload: dict[str, Any] = {"circuits": [], "parameters": None, "compile": request.compile,
                               "optimization_level": request.optimization_level, "memory": True,
                               "sample": {"pubs": pubs}}
    return PreparedSample(request=request, payload=payload, widths=[c.num_qubits for c in runs],
                          num_items=len(runs), shots=most, memory=plan.memory_bytes)


def submit_sample(session: Session, settings: Settings, catalog: DeviceCatalog, user: User,
                  prepared: PreparedSample) -> Job:
    """Store a prepared sampling request as one QUEUED job (inside the caller's write transaction)."""
    request = prepared.request
    return store_primitive_job(
        session, settings, catalog, user, kind=SAMPLE_KIND, backend=request.backend,
        first_circuit=request.pubs[0].circuit, shots=prepared.shots, num_items=prepared.num_items,
        widths=prepared.widths, memory=prepared.memory, payload=prepared.payload, seed=request.seed,
        name=request.name, tags=request.tags, priority=request.priority)


# -- the worker's side -------------------------------------------------------------------------------------------
def sample_items(payload: Mapping[str, Any]) -> list[executor.WorkItem]:
    """The job's items in order: per PUB, per binding, with per-shot memory."""
    plain = [(pub["circuit"], binding, int(pub["shots"])) for pub in payload["sample"]["pubs"]
             for binding in pub["bindings"]]
    seeds = executor.item_seeds(int(payload["seed"]), len(plain))
    return [executor.WorkItem(index=i, qasm=text, binding=binding, shots=shots, seed=seeds[i],
                              compile=bool(payload.get("compile", True)),
                              optimization_level=int(payload.get("optimization_level", 2)), memory=True)
            for i, (text, binding, shots) in enumerate(plain)]


RunItems = Callable[[Any, list[executor.WorkItem], Callable[[], bool]], list[dict[str, Any]]]


def run_job(device: Device, payload: Mapping[str, Any], should_stop: Callable[[], bool],
            run_items: RunItems = executor.run_items) -> list[dict[str, Any]]:
    """Run a sampling job's items through ``run_items`` (the worker's, Ray's fan-out included)."""
    return run_items(device, sample_items(payload), should_stop)


# -- the answer ---------------------------------------------------------------------------------------------------
def register_values(memory: Sequence[str], registers: Sequence[Sequence[Any]]) -> list[list[str]]:
    """Per register, each shot's value as hex (register bit i = bit i), from ``c0_leftmost`` per-shot keys.

    >>> register_values(["101", "011"], [["a", 2], ["b", 1]])
    [['0x1', '0x2'], ['0x1', '0x1']]
    """
    out: list[list[str]] = []
    offset = 0
    for _name, size in registers:
        width = int(size)
        out.append([hex(int(key[offset:offset + width][::-1], 2)) if width else "0x0" for key in memory])
        offset += width
    return out


def shots_from_counts(counts: Mapping[str, int], seed: int) -> list[str]:
    """One key per shot, in a seeded random order: the shots of a record that holds counts only (an agent's
    driver reports counts), so the order carries no information and the distribution is exactly the counts'.

    >>> sorted(shots_from_counts({"01": 2, "11": 1}, 7))
    ['01', '01', '11']
    """
    keys = [key for key, n in sorted(counts.items()) for _ in range(int(n))]
    order = np.random.default_rng(seed).permutation(len(keys))
    return [keys[i] for i in order]


def pub_samples(payload: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> list[PubSamplesPublic]:
    """Per PUB, per register, per binding, the shots' values, from the job's stored item records."""
    out: list[PubSamplesPublic] = []
    position = 0
    for pub in payload["sample"]["pubs"]:
        registers = pub["registers"]
        per_register: list[list[list[str]]] = [[] for _ in registers]
        from_counts = False
        for _binding in pub["bindings"]:
            record = records[position]
            memory = record["memory"]
            if memory is None:  # a device agent's driver reports counts only
                memory = shots_from_counts(record["counts"], int(record["metadata"].get("seed", 0)))
                from_counts = True
            for column, values in zip(per_register, register_values([m.replace(" ", "") for m in memory],
                                                                     registers), strict=True):
                column.append(values)
            position += 1
        out.append(PubSamplesPublic(shots=int(pub["shots"]), shots_from_counts=from_counts, registers=[
            RegisterSamples(name=str(name), num_bits=int(size), samples=samples)
            for (name, size), samples in zip(registers, per_register, strict=True)]))
    return out
