"""What the quafu-sdk and quafusqc adapters share: submitting through the one job path, names, bit order.

Adapters translate; this module holds the few translations both need so neither copies the other. Auth, rate
limits and the job model are the native ones (:mod:`xihe.service.api.deps`, :mod:`xihe.service.submit`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from xihe.service.api.deps import parse_pool
from xihe.service.limits import quota_of
from xihe.service.models import User
from xihe.service.problems import Problem
from xihe.service.repositories import calibrations, jobs
from xihe.service.schemas import JobCreate
from xihe.service.states import JobStatus
from xihe.service.submit import SubmitOutcome, check_job, job_texts, submit_job

# The status words of Quafu's current clients (quafu-sdk's task vocabulary; quafusqc's "Finished"/"Failed").
STATUS_WORDS = {
    JobStatus.QUEUED: "Queued", JobStatus.RUNNING: "Running", JobStatus.DONE: "Finished",
    JobStatus.FAILED: "Failed", JobStatus.CANCELLED: "Cancelled",
}


def backend_name(request: Request, name: str) -> str | None:
    """The Xihe backend a Quafu user means by ``name`` (chip names are capitalised there: ``Dongling``)."""
    wanted = name.strip().lower()
    for known in request.app.state.catalog.names():
        if known.lower() == wanted:
            return str(known)
    return None


def submit(request: Request, user: User, body: JobCreate, *, source: str, idempotency_key: str | None = None,
           then: Callable[[Session, SubmitOutcome], None] | None = None) -> SubmitOutcome:
    """Queue ``body`` for ``user`` exactly as the native ``POST /api/v1/jobs`` does (same checks, quotas, queue).

    ``then(session, outcome)`` runs in the same write transaction (an adapter's own bookkeeping, atomic with it).
    """
    settings, database, catalog = request.app.state.settings, request.app.state.database, request.app.state.catalog
    # Parse and check before taking the write lock (a large program in the parse pool).
    prepared = parse_pool(request).run(job_texts(body), check_job, body, quota_of(user),
                                       items=len(body.parameters or ()))
    with database.write() as session:
        outcome = submit_job(session, settings, catalog, user, body, idempotency_key=idempotency_key,
                             source=source, prepared=prepared)
        if then is not None:
            then(session, outcome)
    if outcome.created:
        request.app.state.metrics.jobs_submitted.labels(backend=body.backend, kind=body.kind).inc()
    return outcome


def status_and_queues(request: Request) -> tuple[dict[str, str], dict[str, int]]:
    """Every backend's status (operator overrides applied) and queue length."""
    catalog = request.app.state.catalog
    with request.app.state.database.read() as session:
        status: dict[str, str] = dict(calibrations.backend_statuses(session, [catalog.get(n) for n in catalog.names()]))
        queued = jobs.queue_length(session)
    assert isinstance(queued, dict)
    return status, {name: int(queued.get(name, 0)) for name in catalog.names()}


def c0_rightmost(counts: dict[str, int]) -> dict[str, int]:
    """Xihe's keys (classical bit 0 leftmost, no spaces) in Qiskit's order, as both current Quafu clients read."""
    return {key[::-1]: int(value) for key, value in counts.items()}


def problem_text(problem: Problem) -> str:
    return f"{problem.detail} [{problem.code}]"


def result_of(results: list[dict[str, Any]], index: int) -> dict[str, Any]:
    return results[index] if 0 <= index < len(results) else {}
