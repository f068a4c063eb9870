"""What the Estimator and Sampler job kinds share: reading a PUB's parameter bindings, and storing the job.

Both kinds turn PUBs into ordinary work items (the worker's ``run_items``, Ray's fan-out included) and keep the
one job model: one QUEUED row per request, priced by the :class:`~xihe.devices.plan.ExecutionPlan`, under the
user's quotas, priority allowance and wall-time limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xihe.circuit import Circuit
from xihe.service.catalog import DeviceCatalog
from xihe.service.clock import utcnow
from xihe.service.models import Job, User
from xihe.service.problems import Problem
from xihe.service.repositories import calibrations, jobs, queue
from xihe.service.scheduling import effective_priority
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import _check_quotas, _limit
from xihe.service.wakeup import JOBS_CHANNEL
from xihe.status import DeviceStatus, JobKind


def bad_pub(code: str, detail: str) -> Problem:
    """A 422 about one PUB (nothing is stored)."""
    return Problem(422, code, detail, stage="validate")


def pub_bindings(circuit: Circuit, values: Sequence[Mapping[str, float]] | None,
                 where: str) -> list[dict[str, float] | None]:
    """A PUB's bindings: ``[None]`` for a circuit without parameters, else each row binding exactly its parameters."""
    free = set(circuit.parameters)
    if values is None:
        if free:
            raise bad_pub("unbound_parameters", f"{where}: the circuit has free parameters {sorted(free)}; give "
                          "'parameter_values'")
        return [None]
    for index, binding in enumerate(values):
        if set(binding) != free:
            raise bad_pub("bad_parameters", f"{where}: parameter_values[{index}] binds {sorted(binding)} but the "
                          f"circuit's parameters are {sorted(free)}")
    return [dict(binding) for binding in values]


def store_primitive_job(session: Session, settings: Settings, catalog: DeviceCatalog, user: User, *,
                        kind: JobKind, backend: str, first_circuit: str, shots: int, num_items: int,
                        widths: list[int], memory: int, payload: dict[str, Any], seed: int | None,
                        name: str | None, tags: Sequence[str], priority: int, now: datetime | None = None) -> Job:
    """Store a prepared primitive request as one QUEUED job (inside the caller's write transaction)."""
    now = now or utcnow()
    device = catalog.get(backend)
    status = calibrations.backend_status(session, device)
    if status is not DeviceStatus.ONLINE:
        raise Problem(409, "backend_unavailable", f"backend {backend} is {status.described}", stage="validate")
    quota_view = JobCreate(qasm=first_circuit, backend=backend, shots=max(shots, 1))
    _check_quotas(session, settings, user, quota_view, num_items, widths, now)
    allowance = int(_limit(user.max_priority, settings.default_max_priority))
    job = jobs.insert_job(
        session, user_id=user.id, backend=backend, kind=kind.value, name=name, tags=list(tags), shots=shots,
        priority=priority, effective_priority=effective_priority(priority, allowance), num_circuits=num_items,
        num_qubits=max(widths), memory_estimate=memory,
        payload={**payload, "seed": seed if seed is not None else secrets.randbits(63)},
        created_at=now, max_attempts=settings.max_attempts,
        wall_seconds=float(_limit(user.wall_seconds, settings.default_wall_seconds)), source=kind.value)
    queue.notify(session, JOBS_CHANNEL)
    return job
