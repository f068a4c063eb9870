"""Characterization as jobs: enqueue a suite for a backend, run it in a worker, and the periodic schedule.

A characterization job is an ordinary row of ``jobs`` (kind ``characterize``; its payload names the suite, seed,
shots and region instead of circuits), so it goes through the same fair queue, claim, lease, heartbeat and retry
path as every other job. The worker runs :func:`run_job` (the suite of :mod:`xihe.characterize.suite` with a
device runner that checks for cancel or a lost lease between batches) and stores the suite document in
``performance_runs`` in the transaction that marks the job DONE (:mod:`xihe.service.repositories.performance`).

The schedule (``XIHE_CHARACTERIZE_EVERY_HOURS``, 0 = off) runs in the ``xihe serve`` process: every tick it asks
:func:`xihe.characterize.performance.due_for_characterization` which chips are due and enqueues a job for each.
Replicas cannot double-enqueue: the tick runs in one write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL:
a transaction-level advisory lock), and a backend with a pending or recently requested run is skipped.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from xihe.characterize.performance import due_for_characterization
from xihe.characterize.suite import SUITES, plan_suite
from xihe.circuit import Circuit
from xihe.results import Result
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.models import Job, User
from xihe.service.problems import Problem, not_found
from xihe.service.repositories import calibrations, jobs, performance, queue, users
from xihe.service.repositories.performance import CHARACTERIZE_KIND
from xihe.service.settings import Settings
from xihe.service.wakeup import JOBS_CHANNEL
from xihe.status import DeviceStatus

log = logging.getLogger("xihe.characterize")

#: Memory a suite needs: its circuits touch a few qubits (the region, or a QV width), so a small fixed budget.
SUITE_MEMORY_BYTES = 64 * 1024**2
#: A suite is many circuits; it may run longer than a user job (the heartbeat keeps its lease meanwhile).
SUITE_WALL_SECONDS = 3600.0
MAX_SUITE_SHOTS = 100_000
# pg_advisory_xact_lock key of the scheduler tick ("xchr").
SCHEDULE_LOCK_KEY = 0x7863_6872


def enqueue(session: Session, catalog: DeviceCatalog, user: User, backend: str, *, suite: str = "standard",
            seed: int | None = None, shots: int = 1000, region_size: int = 4, priority: int = 0,
            now: datetime | None = None) -> Job:
    """Store a QUEUED characterization job for ``backend`` (inside the caller's write transaction)."""
    if backend not in catalog.names():
        raise not_found("backend", backend)
    if suite not in SUITES:
        raise Problem(422, "unknown_suite", f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}",
                      stage="validate")
    if not 1 <= shots <= MAX_SUITE_SHOTS:
        raise Problem(422, "bad_shots", f"shots must be between 1 and {MAX_SUITE_SHOTS}", stage="validate")
    device = catalog.get(backend)
    working = len(getattr(device, "working_qubits", range(device.num_qubits)))
    if not 2 <= region_size <= working:
        raise Problem(422, "bad_region", f"region_size must be between 2 and {working} on {backend}",
                      stage="validate")
    status = calibrations.backend_status(session, device)
    if status is not DeviceStatus.ONLINE:
        raise Problem(409, "backend_unavailable", f"backend {backend} is {status.described}", stage="validate")
    seed = seed if seed is not None else secrets.randbits(31)
    payload = {"suite": suite, "seed": int(seed), "shots": int(shots), "region_size": int(region_size),
               "circuits": []}
    job = jobs.insert_job(session, user_id=user.id, backend=backend, kind=CHARACTERIZE_KIND,
                          name=f"characterize {suite}", tags=["characterization"], shots=int(shots),
                          priority=priority, effective_priority=priority, num_circuits=0,
                          num_qubits=int(region_size), memory_estimate=SUITE_MEMORY_BYTES, payload=payload,
                          created_at=now or utcnow(), wall_seconds=SUITE_WALL_SECONDS, source="characterize")
    queue.notify(session, JOBS_CHANNEL)
    return job


def stoppable_runner(device: Any, should_stop: Callable[[], bool]) -> Any:
    """:func:`xihe.characterize.runners.device_runner` that stops between batches on cancel or a lost lease."""
    from xihe.characterize.runners import device_runner

    inner = device_runner(device)

    def run(circuits: Sequence[Circuit], shots: int, seed: int | None, compile: bool = False) -> list[Result]:
        if should_stop():
            raise executor.Stopped()
        return inner(circuits, shots, seed, compile)

    return run


def run_job(device: Any, payload: Mapping[str, Any], should_stop: Callable[[], bool]) -> list[dict[str, Any]]:
    """Run a characterization job's suite on ``device``; one result: the suite document (``to_dict()``)."""
    planned = plan_suite(device, str(payload["suite"]), region_size=int(payload.get("region_size", 4)),
                         seed=int(payload["seed"]), shots=int(payload["shots"]))
    result = planned.run(stoppable_runner(device, should_stop), seed=int(payload["seed"]))
    return [executor._jsonable(result.to_dict())]


def document_time(document: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(document["time"]))


# -- the periodic schedule ---------------------------------------------------------------------------------------
def _scheduler_user(session: Session) -> User:
    """Owner of scheduled runs: the first admin; else a password-less ``xihe-scheduler`` user (cannot log in)."""
    admin = session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                            .order_by(User.id)).first()
    if admin is not None:
        return admin
    existing = users.get_user_by_name(session, "xihe-scheduler")
    return existing if existing is not None else users.create_user(session, "xihe-scheduler", role="user")


def _last_requested(session: Session) -> dict[str, datetime]:
    query = (select(Job.backend, func.max(Job.created_at)).where(Job.kind == CHARACTERIZE_KIND)
             .group_by(Job.backend))
    return {backend: time for backend, time in session.execute(query)}


def enqueue_due(database: Database, catalog: DeviceCatalog, interval: timedelta, *, suite: str = "standard",
                shots: int = 1000, seed: int | None = None, now: datetime | None = None) -> list[str]:
    """Enqueue the suite on every chip due for it; returns the backends enqueued (one transaction, locked)."""
    now = now or utcnow()
    with database.write() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEDULE_LOCK_KEY})
        last = performance.last_run_times(session)
        for backend, requested in _last_requested(session).items():
            last[backend] = max(last.get(backend, requested), requested)
        statuses = calibrations.backend_statuses(session, [catalog.get(name) for name in catalog.names()])
        devices = [catalog.get(name) for name, status in statuses.items() if status is DeviceStatus.ONLINE]
        pending = performance.pending_backends(session)
        due = [name for name in due_for_characterization(devices, last, now, interval) if name not in pending]
        if not due:
            return []
        owner = _scheduler_user(session)
        for name in due:
            enqueue(session, catalog, owner, name, suite=suite, shots=shots, seed=seed, now=now)
    log.info("scheduled characterization of %s", ", ".join(due))
    return due


class CharacterizationScheduler:
    """A daemon thread of ``xihe serve`` that calls :func:`enqueue_due` every ``tick_seconds``."""

    def __init__(self, settings: Settings, database: Database, catalog: DeviceCatalog,
                 tick_seconds: float | None = None) -> None:
        self.interval = timedelta(hours=settings.characterize_every_hours)
        self.suite = settings.characterize_suite
        self.shots = settings.characterize_shots
        self.database = database
        self.catalog = catalog
        self.tick_seconds = tick_seconds if tick_seconds is not None else min(
            300.0, max(1.0, self.interval.total_seconds() / 10))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="characterize-scheduler", daemon=True)

    @property
    def enabled(self) -> bool:
        return self.interval > timedelta(0)

    def start(self) -> CharacterizationScheduler:
        if self.enabled:
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                enqueue_due(self.database, self.catalog, self.interval, suite=self.suite, shots=self.shots)
            except Exception:  # a database hiccup: try again next tick, never kill the server
                log.exception("characterization schedule tick failed")
            self._stop.wait(self.tick_seconds)
