"""``submit_job``: validate a submission against its backend and the user's limits, then store it QUEUED.

The one entry point for every protocol (the native API and the legacy Quafu routes). Validation happens here,
before anything is stored: a syntax error is a 400 with line:col, a circuit that does not fit the backend a 422
naming the culprit, an exhausted quota a 403. Compilation is left to the worker.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xihe.circuit import Circuit
from xihe.devices import Device
from xihe.devices.plan import ExecutionPlan, PlanOptions
from xihe.errors import XiheError
from xihe.qasm import ParseLimits
from xihe.service.budget import job_memory
from xihe.service.catalog import DeviceCatalog
from xihe.service.clock import utcnow
from xihe.service.limits import QubitQuota, bounded_parse, input_limits, parse_job_circuits
from xihe.service.models import Job, User
from xihe.service.problems import Problem
from xihe.service.repositories import calibrations, idempotency, jobs, memory_pages, queue
from xihe.service.scheduling import effective_priority
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.wakeup import JOBS_CHANNEL
from xihe.status import DeviceStatus


@dataclass(frozen=True)
class SubmitOutcome:
    job: Job
    created: bool  # False: an Idempotency-Key replay of an earlier submit


def body_hash(request: JobCreate) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_circuit(text: str, index: int | None = None) -> Any:
    """Parse one OpenQASM 2 source (no backend known yet): a syntax error is a 400 that says where, a program over
    the default size limits a 422 (:func:`xihe.service.limits.bounded_parse`)."""
    return bounded_parse(text, ParseLimits(), index)


def _limit(user_value: int | float | None, default: int | float | None) -> Any:
    return user_value if user_value is not None else default


def _check_quotas(session: Session, settings: Settings, user: User, request: JobCreate, num_circuits: int,
                  widths: list[int], now: datetime) -> None:
    max_shots = _limit(user.max_shots, settings.default_max_shots)
    if request.shots > max_shots:
        raise Problem(403, "quota_shots", f"{request.shots} shots exceed your limit of {max_shots} per job",
                      stage="validate")
    max_qubits = _limit(user.max_qubits, settings.default_max_qubits)
    if max_qubits is not None and max(widths) > max_qubits:
        raise Problem(403, "quota_qubits", f"a circuit of {max(widths)} qubits exceeds your limit of {max_qubits}",
                      stage="validate")
    per_day = _limit(user.jobs_per_day, settings.default_jobs_per_day)
    used = jobs.count_jobs_since(session, user.id, now - timedelta(days=1))
    if used + 1 > per_day:
        raise Problem(403, "quota_jobs_per_day",
                      f"daily quota of {per_day} jobs reached ({used} in the last 24 h; a batch or sweep counts "
                      "as one job)", stage="validate")


def plan_on_device(settings: Settings, device: Device, circuits: list[Circuit], request: JobCreate) -> ExecutionPlan:
    """The job's :class:`ExecutionPlan` as submitted (compiling is the worker's): validated, priced, within budget.

    A circuit that cannot run on the backend, too many shots, or a job larger than this machine's memory budget is
    a 422; the refusal of a job too large names the engine and the qubits the device would really simulate.
    """
    if device.max_shots and request.shots > device.max_shots:
        raise Problem(422, "too_many_shots", f"{request.shots} shots exceed backend {device.name}'s maximum of "
                      f"{device.max_shots}", stage="validate")
    budget = settings.resolved_memory_budget()
    options = PlanOptions(compile=request.compile, optimization_level=request.optimization_level,
                          memory=request.memory, memory_limit=budget, defer_compile=True,
                          precision=request.precision, stored_in_groups=memory_pages.STORED_IN_GROUPS)
    try:
        plan = device.plan(circuits, request.shots, options)
    except XiheError as exc:
        raise Problem(422, "invalid_for_backend", str(exc), stage="validate") from exc
    need = job_memory(plan)
    if need > budget:
        largest = plan.largest
        where = f"circuit {largest.index}: " if len(circuits) > 1 else ""
        raise Problem(422, "too_large", f"{where}on backend {device.name}, {largest.describe()}: the job needs "
                      f"about {need / 2**30:.2f} GiB at once, more than this machine's budget of "
                      f"{budget / 2**30:.2f} GiB", stage="validate")
    return plan


def _bind_all(circuit: Any, bindings: list[dict[str, float]]) -> list[Any]:
    free = set(circuit.parameters)
    bound = []
    for index, binding in enumerate(bindings):
        missing = free - set(binding)
        if missing or set(binding) - free:
            raise Problem(422, "bad_parameters",
                          f"parameters[{index}] binds {sorted(binding)} but the circuit's parameters are "
                          f"{sorted(free)}", stage="validate")
        try:
            bound.append(circuit.bind(binding))
        except XiheError as exc:
            raise Problem(422, "bad_parameters", f"parameters[{index}]: {exc}", stage="validate") from exc
    return bound


def _require_measurement(circuits: list[Any]) -> None:
    """A job samples measured bits (there is no statevector mode): a circuit that measures nothing is refused."""
    for index, circuit in enumerate(circuits):
        if "measure" not in circuit.count_ops():
            where = f"circuit {index}" if len(circuits) > 1 else "the circuit"
            raise Problem(422, "no_measurement", f"{where} measures nothing, so every shot would give the empty "
                          "outcome; add measurements (e.g. 'measure q -> c;')", stage="validate")


def job_texts(request: JobCreate) -> list[str]:
    """The programs a submission stores and runs: its batch, else its one program."""
    return list(request.circuits) if request.circuits is not None else [request.qasm or ""]


@dataclass(frozen=True)
class CheckedJob:
    """What storing a checked submission needs of the check: each circuit's width and the job's memory figure.
    Small, so it is all a parse process sends back (:mod:`xihe.service.parse_pool`)."""

    widths: list[int]
    memory: int


@dataclass(frozen=True)
class PreparedJob(CheckedJob):
    """A submission checked against its backend (parse, bind, width, gates, coupling, memory): no database
    needed, so the routes do this before they take the write lock."""

    request: JobCreate
    device: Any
    texts: list[str]
    plan: ExecutionPlan

    def checked(self) -> CheckedJob:
        return CheckedJob(widths=self.widths, memory=self.memory)


def check_job(settings: Settings, catalog: DeviceCatalog, request: JobCreate, user: QubitQuota | None = None, *,
              inline_operations: int | None = None) -> CheckedJob:
    """:func:`prepare_job`, keeping only what the submit stores (the parse pool's task)."""
    return prepare_job(settings, catalog, request, user, inline_operations=inline_operations).checked()


def prepare_job(settings: Settings, catalog: DeviceCatalog, request: JobCreate, user: QubitQuota | None = None, *,
                inline_operations: int | None = None) -> PreparedJob:
    """``inline_operations``: see :func:`xihe.service.limits.parse_job_circuits`."""
    device = catalog.get(request.backend)
    texts = job_texts(request)
    if len(texts) > settings.max_circuits_per_job or len(request.parameters or []) > settings.max_circuits_per_job:
        raise Problem(422, "too_many_circuits", f"a job holds at most {settings.max_circuits_per_job} circuits",
                      stage="validate")
    # Read within the backend's width, the user's max_qubits and the size limits: a bomb stops while read.
    parsed = parse_job_circuits(texts, input_limits(settings, device, user), settings, device,
                                inline_operations=inline_operations)
    if request.parameters is not None:
        circuits = _bind_all(parsed[0], request.parameters)
    else:
        for index, circuit in enumerate(parsed):
            if circuit.parameters:
                where = f"circuit {index} has" if len(parsed) > 1 else "the circuit has"
                raise Problem(422, "unbound_parameters", f"{where} free parameters {sorted(circuit.parameters)}; "
                              "give values in 'parameters'", stage="validate")
        circuits = parsed
    widths = [int(circuit.num_qubits) for circuit in circuits]
    _require_measurement(circuits)
    # The backend's own limits first (a 422 whoever asks); the user's quotas (a 403) come with the database.
    plan = plan_on_device(settings, device, circuits, request)
    return PreparedJob(request=request, device=device, texts=texts, widths=widths, memory=job_memory(plan),
                       plan=plan)


def submit_job(session: Session, settings: Settings, catalog: DeviceCatalog, user: User, request: JobCreate, *,
               idempotency_key: str | None = None, source: str = "native", now: datetime | None = None,
               prepared: CheckedJob | None = None) -> SubmitOutcome:
    """Validate ``request`` for ``user`` and store it as a QUEUED job (inside the caller's write transaction).

    ``prepared``: this request's check (:func:`check_job`, through the API's parse pool). Every route passes it,
    so no program is read inside the transaction; without it (scripts, benchmarks) the request is checked here.
    """
    now = now or utcnow()
    # Hashed only when a key is given: the canonical dump and its hash (about 50 us) served nothing else.
    digest = body_hash(request) if idempotency_key is not None else ""
    if idempotency_key is not None:
        earlier = idempotency.find_key(session, user.id, idempotency_key,
                                       not_before=now - timedelta(hours=settings.idempotency_hours))
        if earlier is not None:
            if earlier.body_hash != digest:
                raise Problem(409, "idempotency_conflict",
                              "this Idempotency-Key was used with a different request body", stage="validate")
            job = jobs.get_job(session, earlier.job_id)
            if job is not None:
                return SubmitOutcome(job=job, created=False)

    device = catalog.get(request.backend)
    status = calibrations.backend_status(session, device)
    if status is not DeviceStatus.ONLINE:
        raise Problem(409, "backend_unavailable", f"backend {request.backend} is {status.described}", stage="validate")
    if prepared is None:
        prepared = prepare_job(settings, catalog, request, user)
    _check_quotas(session, settings, user, request, len(prepared.widths), prepared.widths, now)

    seed = request.seed if request.seed is not None else secrets.randbits(63)
    allowance = int(_limit(user.max_priority, settings.default_max_priority))
    payload: dict[str, Any] = {
        "circuits": job_texts(request), "parameters": request.parameters, "compile": request.compile,
        "optimization_level": request.optimization_level, "seed": seed, "memory": request.memory,
        "precision": request.precision, "dynamical_decoupling": request.dynamical_decoupling,
    }
    job = jobs.insert_job(
        session, user_id=user.id, backend=request.backend, kind=request.kind, name=request.name,
        tags=list(request.tags), shots=request.shots, priority=request.priority,
        effective_priority=effective_priority(request.priority, allowance), num_circuits=len(prepared.widths),
        num_qubits=max(prepared.widths), memory_estimate=prepared.memory, payload=payload, created_at=now,
        max_attempts=settings.max_attempts,
        wall_seconds=float(_limit(user.wall_seconds, settings.default_wall_seconds)),
        source=source,
    )
    if idempotency_key is not None:
        idempotency.store_key(session, user.id, idempotency_key, digest, job.id, now)
    queue.notify(session, JOBS_CHANNEL)
    return SubmitOutcome(job=job, created=True)
