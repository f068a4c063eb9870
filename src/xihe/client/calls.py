"""Every native API call the SDK makes, defined once with no I/O: what to send and how to read the answer.

Each function here takes a call's arguments and returns a :class:`Call`; :class:`~xihe.client.Client` and
:class:`~xihe.client.AsyncClient` only send it (``SyncTransport.send`` or ``await AsyncTransport.send``). Their
public methods are made from these functions (:func:`client_method`), so a call's signature, defaults,
documentation and body live in one place and the two clients cannot drift (a sans-I/O design, as ``h11`` or
``httpcore``'s models).

>>> call = run("OPENQASM 2.0;", "sim", shots=10)
>>> call.method, call.path, call.json["shots"]
('POST', 'jobs', 10)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from xihe.client.estimate import (
    EstimatorPub,
    Mitigation,
    ObservableLike,
    PubEstimate,
    estimate_body,
    estimate_pubs_body,
    estimates_from_json,
)
from xihe.client.models import BackendInfo, JobInfo, items_of, result_from_json, results_of
from xihe.client.payloads import CircuitInput, CircuitLike, list_params, new_idempotency_key, submit_body
from xihe.client.polling import backend_params, job_request
from xihe.client.sample import BIT_ORDER, PubSamples, SamplerPub, sample_pubs_body, samples_from_json
from xihe.results import Result

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request (method, path under ``/api/v1``, body, query, headers, read timeout) and its answer's reader."""

    method: str
    path: str
    read: Callable[[Any], T]
    json: Any = None
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    timeout: httpx.Timeout | float | None = field(default=None, compare=False)


def _raw(data: Any) -> Any:
    return data


# -- submitting ----------------------------------------------------------------------------------------------


def run(
    circuits: CircuitInput,
    backend: str,
    shots: int = 1024,
    compile: bool = True,
    seed: int | None = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    optimization_level: int = 2,
    parameters: Sequence[Mapping[str, float]] | None = None,
    priority: int = 0,
    memory: bool = False,
    precision: str = "double",
    dynamical_decoupling: str | None = None,
) -> Call[JobInfo]:
    """Submit a circuit (or a list of circuits: one batch job); returns at once with a handle on the job.

    ``compile=False`` runs the circuit verbatim (it must already use native gates on coupled qubits);
    ``parameters`` is a list of bindings that makes a parameter sweep; ``precision="single"`` simulates in
    complex64 (statevector and trajectories engines; as Aer's option); ``dynamical_decoupling`` (``"XY4"``,
    ``"CPMG"`` or ``"none"``) fills long idle windows with refocusing pulses on twins (Quafu's ``open_dd``). The
    submit carries a fresh ``Idempotency-Key``, so a retried request never makes a second job.
    """
    body = submit_body(circuits, backend, shots=shots, compile=compile, seed=seed, name=name, tags=tags,
                       optimization_level=optimization_level, parameters=parameters, priority=priority,
                       memory=memory, precision=precision, dynamical_decoupling=dynamical_decoupling)
    return Call("POST", "jobs", JobInfo.from_json, json=body, headers={"Idempotency-Key": new_idempotency_key()})


def estimate(
    circuit: CircuitLike,
    observables: ObservableLike | Sequence[ObservableLike],
    backend: str,
    parameter_values: Sequence[Mapping[Any, float]] | None = None,
    precision: float = 0.015625,
    seed: int | None = None,
    compile: bool = True,
    optimization_level: int = 2,
    name: str | None = None,
    tags: Sequence[str] = (),
    priority: int = 0,
    mitigation: Mitigation | None = None,
) -> Call[JobInfo]:
    """Submit one Estimator PUB (one job); ``job.estimates()[0].values[i][j]`` is <observables[j]> under
    ``parameter_values[i]``.

    Labels follow Qiskit's ``SparsePauliOp``: qubit 0 is the rightmost character. ``precision`` is the target
    standard error (shots per measured circuit: ceil(1/precision^2)); 0 gives exact values on ideal simulators.
    """
    body = estimate_body(circuit, backend, observables, parameter_values, precision=precision, seed=seed,
                         compile=compile, optimization_level=optimization_level, name=name, tags=tags,
                         priority=priority, mitigation=mitigation)
    return Call("POST", "estimate", JobInfo.from_json, json=body)


def estimate_pubs(
    pubs: Sequence[EstimatorPub],
    backend: str,
    precision: float = 0.015625,
    seed: int | None = None,
    compile: bool = True,
    optimization_level: int = 2,
    mitigation: Mitigation | None = None,
    name: str | None = None,
    tags: Sequence[str] = (),
    priority: int = 0,
) -> Call[JobInfo]:
    """Submit several Estimator PUBs as one job; ``job.estimates()[p]`` answers ``pubs[p]``."""
    body = estimate_pubs_body(pubs, backend, precision=precision, seed=seed, compile=compile,
                              optimization_level=optimization_level, mitigation=mitigation, name=name,
                              tags=tags, priority=priority)
    return Call("POST", "estimate", JobInfo.from_json, json=body)


def sample(
    circuit: CircuitLike,
    backend: str,
    parameter_values: Sequence[Mapping[Any, float]] | None = None,
    shots: int = 1024,
    seed: int | None = None,
    compile: bool = True,
    optimization_level: int = 2,
    name: str | None = None,
    tags: Sequence[str] = (),
    priority: int = 0,
) -> Call[JobInfo]:
    """Submit one Sampler PUB (one job); ``job.samples()[0].registers["c"][i]`` holds register ``c``'s
    ``shots`` values under ``parameter_values[i]`` (bit i of a value is the register's bit i)."""
    return sample_pubs([SamplerPub(circuit, parameter_values)], backend, shots=shots, seed=seed, compile=compile,
                       optimization_level=optimization_level, name=name, tags=tags, priority=priority)


def sample_pubs(
    pubs: Sequence[SamplerPub],
    backend: str,
    shots: int = 1024,
    seed: int | None = None,
    compile: bool = True,
    optimization_level: int = 2,
    name: str | None = None,
    tags: Sequence[str] = (),
    priority: int = 0,
) -> Call[JobInfo]:
    """Submit several Sampler PUBs as one job (a PUB without shots of its own takes ``shots``)."""
    body = sample_pubs_body(pubs, backend, shots=shots, seed=seed, compile=compile,
                            optimization_level=optimization_level, name=name, tags=tags, priority=priority)
    return Call("POST", "sample", JobInfo.from_json, json=body)


# -- reading -------------------------------------------------------------------------------------------------


def backends() -> Call[list[BackendInfo]]:
    """Every backend the server offers, with its status."""
    return Call("GET", "backends", lambda data: [BackendInfo.from_json(item) for item in items_of(data)])


def backend(name: str, at: datetime | str | None = None) -> Call[BackendInfo]:
    """One backend with its calibration and topology (``at``: the calibration in force at that time)."""
    return Call("GET", f"backends/{name}", BackendInfo.from_json, params=backend_params(at))


def job(job_id: str, wait: float | None = None) -> Call[JobInfo]:
    """One job's snapshot; with ``wait`` the server holds the answer up to that many seconds for a change."""
    request = job_request(job_id, wait)
    return Call("GET", request["path"], JobInfo.from_json, params=request.get("params"),
                timeout=request.get("timeout"))


def jobs(
    status: str | None = None,
    backend: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Call[Any]:
    """One page of this user's jobs, newest first, filtered by status, backend and tag."""
    return Call("GET", "jobs", _raw, params=list_params(status, backend, tag, limit, offset))


MEMORY_PAGE_SHOTS = 16384  # the server's largest page of per-shot keys


def memory_page(job_id: str, index: int, offset: int = 0, limit: int = MEMORY_PAGE_SHOTS) -> Call[list[str]]:
    """Per-shot keys ``offset`` to ``offset + limit`` of item ``index`` of a finished job (``Job.result()`` reads
    every page itself; this is for reading a very large result piece by piece)."""
    return Call("GET", f"jobs/{job_id}/items/{index}/memory", lambda data: [str(k) for k in data["memory"]],
                params={"offset": offset, "limit": limit})


COUNTS_PAGE_OUTCOMES = 16384  # the server's largest page of counts


def counts_page(job_id: str, index: int, offset: int = 0, limit: int = COUNTS_PAGE_OUTCOMES
                ) -> Call[dict[str, int]]:
    """Outcomes ``offset`` to ``offset + limit`` of item ``index``'s counts, most frequent first (``Job.result()``
    reads every page itself when a result has more outcomes than its record carries)."""
    return Call("GET", f"jobs/{job_id}/items/{index}/counts",
                lambda data: {str(k): int(v) for k, v in data["counts"].items()},
                params={"offset": offset, "limit": limit})


def job_item(job_id: str, index: int) -> Call[dict[str, Any]]:
    """Item ``index``'s whole record (a batch's record summarizes the items past its size budget and links here)."""
    return Call("GET", f"jobs/{job_id}/items/{index}", dict)


ResultReads = Generator[Call[Any], Any, "Result | list[Result]"]


def record_page(job_id: str, offset: int) -> Call[dict[str, Any]]:
    """A batch's record from item ``offset`` on (its items come in pages; ``results_next`` says where the next is)."""
    return Call("GET", f"jobs/{job_id}", dict, params={"items_offset": offset})


def read_results(info: JobInfo) -> ResultReads:
    """The calls that read a finished job's results, one bounded answer each, and the results they make: a
    generator that yields each :class:`Call` and is sent its answer (the sync client sends, the async one awaits;
    the logic is this one).

    Page by page of the record's items (``results_next``), item by item, in order: a summarized item's whole record
    (``item_url``), then its per-shot keys page by page (``memory_url``) and its counts page by page
    (``counts_url``) when its record carries fewer than it has; each
    item's :class:`~xihe.results.Result` is made as soon as it is read, so the client holds the results it
    returns plus one item's pages, never a second copy of the job. Raises the typed error of a failed or cancelled
    job before reading anything."""
    records = results_of(info, records_only=True)
    many = bool(info.raw.get("results"))
    results: list[Result] = []
    raw: Mapping[str, Any] = info.raw
    while True:
        for index, listed in enumerate(records, start=len(results)):
            record: Mapping[str, Any] = listed
            if listed.get("item_url"):
                record = yield job_item(info.id, index)
            shots = int(record.get("memory_shots") or 0)
            if record.get("memory") is None and shots:
                keys: list[str] = []
                while len(keys) < shots:
                    page = yield memory_page(info.id, index, len(keys))
                    if not page:
                        break
                    keys += page
                record = {**record, "memory": keys}
            outcomes = int(record.get("counts_outcomes") or 0)
            if outcomes > len(record.get("counts") or {}):
                whole: dict[str, int] = {}
                while len(whole) < outcomes:
                    part = yield counts_page(info.id, index, len(whole))
                    if not part:
                        break
                    whole.update(part)
                record = {**record, "counts": whole}
            results.append(result_from_json(record, job_id=info.id, index=index if many else None))
        if not raw.get("results_next") or not records:
            break
        raw = yield record_page(info.id, len(results))  # a batch's record comes in pages of items
        records = list(raw.get("results") or [])
    return results if many or info.kind != "single" else results[0]


def cancel(job_id: str) -> Call[JobInfo]:
    """Ask the server to cancel a job; a job that has already finished answers 200 with its snapshot."""
    return Call("POST", f"jobs/{job_id}/cancel", JobInfo.from_json)


def estimates(job_id: str) -> Call[list[PubEstimate]]:
    """A finished estimation job's values and standard errors, one entry per PUB."""
    return Call("GET", f"estimate/{job_id}", estimates_from_json)


def samples(job_id: str) -> Call[list[PubSamples]]:
    """A finished sampling job's per-register shots, one entry per PUB."""
    return Call("GET", f"sample/{job_id}", samples_from_json)


SAMPLE_PAGE_SHOTS = 16384  # the server's largest page of a PUB's shots


def sample_outline(job_id: str) -> Call[dict[str, Any]]:
    """A finished sampling job's answer without its shots (each binding's samples empty): their shape."""
    return Call("GET", f"sample/{job_id}", dict, params={"outline": "true"})


def sample_page(job_id: str, pub: int, binding: int = 0, offset: int = 0, limit: int = SAMPLE_PAGE_SHOTS
                ) -> Call[dict[str, Any]]:
    """Shots ``offset`` to ``offset + limit`` of PUB ``pub`` under ``binding``, per register as hex."""
    return Call("GET", f"sample/{job_id}/pubs/{pub}", dict,
                params={"binding": binding, "offset": offset, "limit": limit})


def read_samples(job_id: str) -> Generator[Call[Any], Any, list[PubSamples]]:
    """The calls that read a finished sampling job's shots page by page, and the samples they make (driven like
    :func:`read_results`): the answer's shape first, then each PUB's shots under each binding, at most 16,384 a
    page, each turned into integers as it arrives, so the client holds the integers it returns and one page of
    text, never the whole answer as JSON. A server without the pages (it answers the outline with the shots
    themselves) is read from that answer."""
    outline = yield sample_outline(job_id)
    if outline.get("bit_order", BIT_ORDER) != BIT_ORDER:
        raise ValueError(f"the server's bit order {outline.get('bit_order')!r} is not {BIT_ORDER}")
    pubs = []
    for p, pub in enumerate(outline.get("pubs") or []):
        registers = pub["registers"]
        shots = int(pub["shots"])
        bindings = len(registers[0]["samples"]) if registers else 0
        if any(row for register in registers for row in register["samples"]):  # the shots came with the answer
            pubs.append(PubSamples.from_json(pub))
            continue
        values: dict[str, list[list[int]]] = {r["name"]: [] for r in registers}
        for binding in range(bindings):
            rows: dict[str, list[int]] = {r["name"]: [] for r in registers}
            total = shots
            while len(next(iter(rows.values()), [])) < total:
                page = yield sample_page(job_id, p, binding, len(next(iter(rows.values()))))
                total = int(page["total"])
                if not page["registers"] or not page["registers"][0]["samples"]:
                    break
                for register in page["registers"]:
                    rows[register["name"]] += [int(v, 16) for v in register["samples"]]
            for name, row in rows.items():
                values[name].append(row)
        pubs.append(PubSamples(shots=shots, registers=values,
                               num_bits={r["name"]: int(r["num_bits"]) for r in registers}))
    return pubs


def method_signature(call: Callable[..., Any], owner: str, returns: str | None = None) -> inspect.Signature:
    """``call``'s signature as a method of ``owner`` (what ``help`` and IDEs show), returning ``returns``, or by
    default what the call reads (``Call[X]`` becomes ``X``; with an async owner the method's awaited value)."""
    signature = inspect.signature(call)
    if returns is None:
        annotation = str(signature.return_annotation)
        returns = annotation[len("Call["):-1] if annotation.startswith("Call[") else annotation
    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY, annotation=owner)
    return signature.replace(parameters=[self_parameter, *signature.parameters.values()],
                             return_annotation=returns)
