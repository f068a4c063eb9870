"""The Sampler primitive as a job kind: PUBs (circuit, parameter bindings, shots) -> per-register bit arrays.

One sampling request is one job (kind ``sample``). Each (PUB, binding) pair is one work item run with per-shot
memory through the ordinary :func:`~xihe.service.executor.run_items` path (so the Ray fan-out applies); submit
prices the job with the :class:`~xihe.devices.plan.ExecutionPlan` of its bound circuits, like any other job.
:func:`stream_answer` cuts each item's stored shots (``c0_leftmost`` keys) into its classical registers, a page at
a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from xihe.circuit import Circuit
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog
from xihe.service.db import Database
from xihe.service.limits import QubitQuota, input_limits, parse_job_circuits
from xihe.service.models import Job, User
from xihe.service.primitive_jobs import bad_pub, pub_bindings, store_primitive_job
from xihe.service.repositories import count_pages, jobs, memory_pages
from xihe.service.sample_schemas import SampleCreate, SamplePublic
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.states import JobStatus
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
                   user: QubitQuota | None = None, *,
                   inline_operations: int | None = None) -> PreparedSample:
    """Parse, bind and price a sampling request (no database needed)."""
    device = catalog.get(request.backend)
    parsed = parse_job_circuits([pub.circuit for pub in request.pubs], input_limits(settings, device, user),
                                settings, device, inline_operations=inline_operations)
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


# -- the answer ---------------------------------------------------------------------------------------------------
def register_column(memory: Sequence[str], offset: int, width: int) -> list[str]:
    """One register's value in each shot, as hex (register bit i = bit i), from ``c0_leftmost`` per-shot keys
    whose bits ``offset`` to ``offset + width`` are that register's.

    >>> register_column(["101", "011"], 0, 2), register_column(["101", "011"], 2, 1)
    (['0x1', '0x2'], ['0x1', '0x1'])
    """
    if not width:
        return ["0x0"] * len(memory)
    return [hex(int(key[offset:offset + width][::-1], 2)) for key in memory]


def shot_chunks_from_counts(counts: Mapping[str, int], seed: int, chunk: int) -> Iterator[list[str]]:
    """One key per shot, in a seeded random order, ``chunk`` shots at a time: the shots of a record that holds
    counts only (an agent's driver reports counts), so the order carries no information and the distribution is
    exactly the counts'. Holds the distinct outcomes and the shot order, never a key per shot.

    >>> [sorted(part) for part in shot_chunks_from_counts({"01": 2, "11": 1}, 7, 2)]
    [['01', '11'], ['01']]
    """
    pairs = sorted((str(key), int(n)) for key, n in counts.items())
    keys = [key for key, _n in pairs]
    ends = np.cumsum([n for _key, n in pairs])
    order = np.random.default_rng(seed).permutation(int(ends[-1]) if len(ends) else 0)
    for start in range(0, len(order), chunk):
        yield [keys[int(i)] for i in np.searchsorted(ends, order[start:start + chunk], side="right")]


def stored_shot_chunks(database: Database, job_id: str, item: int) -> Iterator[tuple[list[str], bool]]:
    """A stored item's shots (``c0_leftmost`` keys), a memory page at a time, and whether they were made from
    counts. Each page is read in a short read transaction of its own and nothing is held between pages, so a
    streamed answer may take its time without holding a database session open."""
    counts: Mapping[str, int] = {}
    with database.read() as session:
        total = memory_pages.stored_shots(session, job_id, item)
        record = None if total else jobs.result_summary(session, job_id, item)
        if record is not None and record.get("memory") is None:  # an agent's counts only: each outcome once
            counts = count_pages.with_all_counts(session, job_id, item, record)["counts"]
    for offset in range(0, total, memory_pages.PAGE_SHOTS):
        with database.read() as session:
            keys = memory_pages.read_slice(session, job_id, item, offset,
                                           min(memory_pages.PAGE_SHOTS, total - offset))
        yield [key.replace(" ", "") for key in keys], False
    if record is None:
        return
    if record.get("memory") is not None:  # a small result stored before memory had pages of its own
        yield [str(key).replace(" ", "") for key in record["memory"]], False
        return
    seed = int(record["metadata"].get("seed", 0))
    for part in shot_chunks_from_counts(counts, seed, memory_pages.PAGE_SHOTS):
        yield [key.replace(" ", "") for key in part], True


def stored_shot_slice(session: Session, job_id: str, item: int, offset: int, limit: int
                      ) -> tuple[list[str], int, bool]:
    """Shots ``offset`` to ``offset + limit`` of a stored item (``c0_leftmost`` keys, at most a memory page), its
    number of shots, and whether they were made from counts: the same shots, in the same order, as
    :func:`stored_shot_chunks` gives, read from at most two memory pages (or, for a counts-only record, drawn
    from its distinct outcomes in the same seeded order)."""
    limit = min(limit, memory_pages.PAGE_SHOTS)
    total = memory_pages.stored_shots(session, job_id, item)
    if total:
        keys = memory_pages.read_slice(session, job_id, item, offset, min(limit, max(0, total - offset)))
        return [key.replace(" ", "") for key in keys], total, False
    record = jobs.result_summary(session, job_id, item)
    if record is None:
        return [], 0, False
    if record.get("memory") is not None:  # a small result stored before memory had pages of its own
        memory = [str(key).replace(" ", "") for key in record["memory"]]
        return memory[offset:offset + limit], len(memory), False
    counts = count_pages.with_all_counts(session, job_id, item, record)["counts"]
    total = sum(int(n) for n in counts.values())
    pairs = sorted((str(key), int(n)) for key, n in counts.items())
    ends = np.cumsum([n for _key, n in pairs])
    order = np.random.default_rng(int(record["metadata"].get("seed", 0))).permutation(total)
    chosen = np.searchsorted(ends, order[offset:offset + limit], side="right")
    return [pairs[int(i)][0].replace(" ", "") for i in chosen], total, True


def outline_answer(job_id: str, backend: str, payload: Mapping[str, Any]) -> str:
    """A DONE sampling job's answer without its shots: per PUB its shots and registers, each register's
    ``samples`` one empty list per binding. A client reads the shots from the PUB's pages (``GET
    /sample/{id}/pubs/{p}?binding=&offset=&limit=``), each answer bounded, instead of one answer as large as the
    job."""
    pubs = [{"shots": int(pub["shots"]), "shots_from_counts": False,
             "registers": [{"name": str(name), "num_bits": int(size), "samples": [[] for _ in pub["bindings"]]}
                           for name, size in pub["registers"]]}
            for pub in payload["sample"]["pubs"]]
    head = SamplePublic(id=job_id, status=JobStatus.DONE, backend=backend).model_dump(mode="json", exclude={"pubs"})
    return json.dumps({**head, "pubs": pubs}, separators=(",", ":"))


def pub_page(job_id: str, payload: Mapping[str, Any], pub: int, binding: int, offset: int, limit: int,
             read: Callable[[int, int, int], tuple[list[str], int, bool]]) -> dict[str, Any]:
    """One page of a PUB's shots under one binding, per register as hex (``register_column``), with the item's
    number of shots; ``read(item, offset, limit)`` is :func:`stored_shot_slice` on an open session."""
    pubs = payload["sample"]["pubs"]
    item = sum(len(earlier["bindings"]) for earlier in pubs[:pub]) + binding
    keys, total, from_counts = read(item, offset, limit)
    registers = []
    position = 0
    for name, size in pubs[pub]["registers"]:
        registers.append({"name": str(name), "num_bits": int(size),
                          "samples": register_column(keys, position, int(size))})
        position += int(size)
    return {"id": job_id, "pub": pub, "binding": binding, "offset": offset, "limit": limit, "total": total,
            "shots_from_counts": from_counts, "registers": registers}


ShotChunks = Callable[[int], Iterator[tuple[list[str], bool]]]


def stream_answer(job_id: str, backend: str, payload: Mapping[str, Any], shots_of: ShotChunks) -> Iterator[str]:
    """A DONE sampling job's answer, :class:`~xihe.service.sample_schemas.SamplePublic` as JSON, in pieces of at
    most a memory page's values: per PUB, per register, per binding, the item's shots read again from
    ``shots_of(item)`` (:func:`stored_shot_chunks`), so the API holds one page whatever the job's size."""
    head = SamplePublic(id=job_id, status=JobStatus.DONE, backend=backend).model_dump(mode="json", exclude={"pubs"})
    yield json.dumps(head)[:-1] + ',"pubs":['
    position = 0
    for p, pub in enumerate(payload["sample"]["pubs"]):
        items = range(position, position + len(pub["bindings"]))
        position += len(items)
        yield ("," if p else "") + json.dumps({"shots": int(pub["shots"])})[:-1] + ',"registers":['
        from_counts = False
        offset = 0
        for r, (name, size) in enumerate(pub["registers"]):
            width = int(size)
            yield ("," if r else "") + json.dumps({"name": str(name), "num_bits": width})[:-1] + ',"samples":['
            for b, item in enumerate(items):
                yield ("," if b else "") + "["
                first = True
                for keys, counted in shots_of(item):
                    from_counts |= counted
                    if keys:
                        yield ("" if first else ",") + ",".join(f'"{v}"' for v in register_column(keys, offset,
                                                                                                    width))
                        first = False
                yield "]"
            yield "]}"
            offset += width
        yield "]," + json.dumps({"shots_from_counts": from_counts})[1:]
    yield "]}"
