"""The server side of remote device agents: device tokens, claim-and-compile, heartbeat, results, calibration.

An agent (``xihe agent --device NAME``, :mod:`xihe.service.agent`) runs on a chip's control computer and talks
only HTTP. Its lease is the same lease a worker holds (:mod:`xihe.service.repositories.queue`): the claim names a
fresh lease id as the job's ``lease_owner``; heartbeats renew it; only that lease id may post the result, once; a
silent agent's lease expires and the job goes back to the queue (every claim first requeues expired leases, so
a restarted agent picks its own lost job up again).

The server compiles the job for the device under the device's latest calibration snapshot (the newest row an
agent posted, else the chip file's) and keeps the compiled plan in the job's payload (``agent_plan``), so any
API replica can accept the result: replicas stay stateless.

Device tokens are ordinary API tokens of ``kind="device"`` owned by a disabled per-device account
(``device:<name>``): the user API refuses them (a disabled account never authenticates) and the agent API accepts
only them, and only for their own device.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xihe import qasm
from xihe.devices import Device
from xihe.errors import XiheError
from xihe.qasm import ParseLimits
from xihe.service import estimate, executor, sample
from xihe.service.agent.client import AgentJob
from xihe.service.catalog import DeviceCatalog
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.limits import input_limits
from xihe.service.models import ApiToken, Job
from xihe.service.problems import Problem
from xihe.service.repositories import calibrations, queue, users
from xihe.service.repositories.users import IssuedToken
from xihe.service.retry import RetryDecision, RetryPolicy
from xihe.service.schemas import ResultPublic
from xihe.service.security import hash_token
from xihe.service.settings import Settings
from xihe.service.states import ErrorStage, JobStatus
from xihe.version import __version__

DEVICE_TOKEN_KIND = "device"
PLAN_KEY = "agent_plan"
UNLIMITED_MEMORY = 2**62  # the agent's machine runs the job, not this host: no local memory budget applies

log = logging.getLogger("xihe.agents")


def device_account_name(device: str) -> str:
    return f"device:{device}"


def issue_device_token(session: Session, catalog: DeviceCatalog, device: str, *,
                       expires_at: datetime | None = None) -> IssuedToken:
    """A token that lets an agent serve ``device`` and nothing else (the secret is in the return only)."""
    catalog.get(device)  # 422 for an unknown device
    account = users.get_user_by_name(session, device_account_name(device))
    if account is None:
        account = users.create_user(session, device_account_name(device))
        account.active = False
    return users.create_token(session, account, name=device, expires_at=expires_at, kind=DEVICE_TOKEN_KIND)


def authenticate_device(session: Session, secret: str, *, now: datetime | None = None) -> str | None:
    """The device a device token serves, or None if the token is unknown, revoked, expired, or not a device's."""
    now = now or utcnow()
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(secret),
                                                   ApiToken.kind == DEVICE_TOKEN_KIND)).first()
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    return token.name


# -- the device a job is compiled for -----------------------------------------------------------------------------
class CalibratedDevices:
    """The catalog's devices under the latest calibration an agent posted (cached per snapshot id)."""

    def __init__(self, catalog: DeviceCatalog) -> None:
        self.catalog = catalog
        self._cache: dict[tuple[str, str], Any] = {}

    def current(self, session: Session, name: str) -> Any:
        base = self.catalog.get(name)
        if getattr(base, "kind", "simulator") == "simulator":
            return base
        row = calibrations.snapshot_at(session, name)
        if row is None or not row.data or row.snapshot_id == str(base.calibration.id):
            return base
        key = (name, row.snapshot_id)
        if key not in self._cache:
            from xihe.devices.calibration import CalibrationSnapshot

            version = int(row.version) if str(row.version).isdigit() else 0
            self._cache[key] = base.with_calibration(CalibrationSnapshot(row.snapshot_id, version, row.time,
                                                                         dict(row.data)))
        return self._cache[key]


def compile_plan(device: Device, payload: dict[str, Any], shots: int, limits: ParseLimits | None = None,
                 ) -> list[dict[str, Any]]:
    """Each item of the job planned for ``device`` (:func:`xihe.service.executor.plan_item`, the worker's own
    planning): native QASM, layouts, shots, seed, calibration id. Primitive jobs hand out their measured circuits
    (an estimate job's groups, folded per noise factor for ZNE, with the readout errors mitigation needs; a sample
    job's bindings) in the order of the records the worker would store."""
    if "suite" in payload:  # a characterization job (xihe.service.characterization) has no circuits to hand out
        raise XiheError("characterization suites run in the service's own workers, not through a remote agent")
    if "estimate" in payload:
        if any(pub.get("twirl") for pub in payload["estimate"]["pubs"]):
            raise XiheError("twirled measurements (TREX) are merged and rescaled by the service's own workers, not "
                            "by a remote agent; use readout_calibration 'calibrated' or 'measured' here")
        slots, runs = estimate.plan_runs(device, payload, lambda: False)
        if any(record is not None for row in slots for record in row):
            raise XiheError("exact values (precision 0) are computed by the service's own workers from the final "
                            "state, not by a remote agent; give a precision > 0")
        plan = [_plan_entry(device, replace(run.work, index=n), readout=run.readout) for n, run in enumerate(runs)]
        if payload["estimate"].get("readout_calibration") == "measured":  # two circuits on every qubit read
            qubits = sorted({q for entry in plan for q in entry.get("metadata", {}).get("readout_qubits", [])
                             if q >= 0})
            width = max(qasm.loads(entry["qasm"]).num_qubits for entry in plan)
            items = estimate.calibration_items(device, payload, qubits, width, len(plan))
            plan.extend({**_plan_entry(device, item), "metadata": estimate.calibration_metadata(qubits, prepared)}
                        for prepared, item in enumerate(items))
        return plan
    items = sample.sample_items(payload) if "sample" in payload else executor.work_items(payload, shots,
                                                                                         limits=limits)
    return [_plan_entry(device, item) for item in items]


def _plan_entry(device: Device, item: executor.WorkItem, readout: bool = False) -> dict[str, Any]:
    planned = executor.plan_item(device, item).circuits[0]
    compiled = planned.compiled
    entry = {"index": item.index, "qasm": qasm.dumps(planned.native), "shots": item.shots,
             "seed": item.seed, "num_clbits": int(planned.native.num_clbits),
             "initial_layout": list(compiled.initial_layout) if compiled is not None else None,
             "final_layout": list(compiled.final_layout) if compiled is not None else None,
             "calibration_id": str(device.calibration.id)}
    if readout:  # the calibration the job is compiled under is the one its readout is mitigated with
        entry["metadata"] = estimate.readout_metadata(device, planned.native)
    return entry


def _held(session: Session, job_id: str, lease: str, device: str) -> Job | None:
    query = select(Job).where(Job.id == job_id, Job.lease_owner == lease, Job.backend == device,
                              Job.status == JobStatus.RUNNING.value)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).first()


def claim(database: Database, settings: Settings, devices: CalibratedDevices, device: str, agent: str,
          ) -> AgentJob | None:
    """Requeue expired leases, lease the device's best queued job to a new lease id, compile it; None if idle."""
    policy = RetryPolicy(settings.max_attempts)
    exclusive = [device] if bool(getattr(devices.catalog.get(device), "exclusive", False)) else []
    for _ in range(8):  # a job that fails to compile is failed and the next one tried
        lease = f"agent-{agent[:30]}-{secrets.token_hex(6)}"
        now = utcnow()
        with database.write() as session:
            queue.requeue_expired(session, now=now, policy=policy)
        with database.write() as session:
            job = queue.claim_next_job(session, worker_id=lease, host=f"agent:{agent[:50]}", backends=[device],
                                       exclusive=exclusive, memory_budget=UNLIMITED_MEMORY,
                                       lease_seconds=settings.lease_seconds, now=now)
            if job is None:
                return None
            job_id, payload, shots, attempt = job.id, dict(job.payload), job.shots, job.attempts
            target = devices.current(session, device)
        try:
            with _lease_kept(database, settings, job_id, lease):
                plan = compile_plan(target, payload, shots, input_limits(settings, target))
        except XiheError as exc:
            with database.write() as session:
                queue.finish_attempt(session, job_id, queue.Ending.error(RetryDecision(False, str(exc)),
                                                                         ErrorStage.COMPILE, 0.0),
                                     now=utcnow(), holder=lease)
            continue
        with database.write() as session:
            held = _held(session, job_id, lease, device)
            if held is None:  # cancelled or expired while compiling: try the next job
                continue
            held.payload = {**dict(held.payload), PLAN_KEY: plan}
        items = [{k: entry[k] for k in ("index", "qasm", "shots", "seed")} for entry in plan]
        return AgentJob(job_id=job_id, lease=lease, lease_seconds=settings.lease_seconds,
                        heartbeat_seconds=min(settings.heartbeat_seconds, settings.lease_seconds / 3),
                        attempt=attempt, items=items)
    return None


@contextmanager
def _lease_kept(database: Database, settings: Settings, job_id: str, lease: str) -> Iterator[None]:
    """Renew a claim's lease while this server compiles its job, as the agent will once it has the answer.

    The compile can outlast the lease (a chip compile before the numba cache is warm took 30 s on a loaded
    machine, against the 15 s lease): unrenewed, any worker's or claim's reaper took the lease for a dead agent's
    and requeued the job mid-compile, which cost it an attempt (three such and it failed) and the agent its answer.
    """
    stop = threading.Event()
    interval = min(settings.heartbeat_seconds, settings.lease_seconds / 3)

    def renew() -> None:
        while not stop.wait(interval):
            try:
                with database.write() as session:
                    state = queue.renew_lease(session, job_id, lease, lease_seconds=settings.lease_seconds,
                                              now=utcnow())
            except Exception:  # an outage: the next beat tries again; the claim checks the lease after compiling
                log.exception("renewing the lease of %s while compiling it failed", job_id)
                continue
            if not state.held:  # cancelled meanwhile: the claim finds it so after compiling
                return

    thread = threading.Thread(target=renew, name=f"claim-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def heartbeat(database: Database, settings: Settings, device: str, job_id: str, lease: str) -> queue.LeaseState:
    with database.write() as session:
        if _held(session, job_id, lease, device) is None:
            cancel = bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))
            return queue.LeaseState(held=False, cancel_requested=cancel)
        return queue.renew_lease(session, job_id, lease, lease_seconds=settings.lease_seconds, now=utcnow())


def _check_counts(entry: dict[str, Any], counts: dict[str, int]) -> None:
    width = int(entry["num_clbits"])
    if sum(counts.values()) != int(entry["shots"]):
        raise Problem(422, "bad_result", f"item {entry['index']}: counts add up to {sum(counts.values())}, "
                                         f"not the {entry['shots']} shots asked", stage="execute")
    for key, value in counts.items():
        if len(key) != width or set(key) - {"0", "1"} or value < 0:
            raise Problem(422, "bad_result", f"item {entry['index']}: count key {key!r} is not a {width}-bit "
                                             "string (c[0] leftmost) with a non-negative count", stage="execute")


def result_record(entry: dict[str, Any], counts: dict[str, int], memory: list[str] | None, *, device: str,
                  agent: str, driver: str) -> dict[str, Any]:
    """A ResultPublic dict for one item an agent ran (the same fields a worker stores), validated as written."""
    total = sum(counts.values()) or 1
    return ResultPublic.model_validate({
        "counts": dict(sorted(counts.items())),
        "probabilities": {k: v / total for k, v in sorted(counts.items())},
        "shots": int(entry["shots"]),
        "memory": memory,
        "compiled_qasm": entry["qasm"],
        "initial_layout": entry.get("initial_layout"),
        "final_layout": entry.get("final_layout"),
        "calibration_id": entry.get("calibration_id"),
        "versions": {"xihe": __version__, "compiler": __version__, "engine": f"agent:{driver}"},
        "bit_order": "c0_leftmost",
        "metadata": {**dict(entry.get("metadata") or {}), "seed": entry["seed"], "backend": device, "agent": agent,
                     "driver": driver},
    }).model_dump(mode="json")


def complete(database: Database, device: str, job_id: str, lease: str, posted: list[dict[str, Any]], *,
             driver: str, exec_seconds: float) -> bool:
    """Store an agent's results once, only under its lease; False if the lease is no longer held."""
    with database.write() as session:
        job = _held(session, job_id, lease, device)
        if job is None:
            return False
        plan: list[dict[str, Any]] = list(dict(job.payload).get(PLAN_KEY) or [])
        by_index = {int(p["index"]): p for p in posted}
        if sorted(by_index) != [int(e["index"]) for e in plan]:
            raise Problem(422, "bad_result", f"expected results for items {[e['index'] for e in plan]}, "
                                             f"got {sorted(by_index)}", stage="execute")
        records = []
        agent = str(job.lease_host or "").removeprefix("agent:")
        for entry in plan:
            item = by_index[int(entry["index"])]
            counts = {str(k): int(v) for k, v in dict(item["counts"]).items()}
            _check_counts(entry, counts)
            memory = item.get("memory")
            if memory is not None and len(memory) != int(entry["shots"]):
                raise Problem(422, "bad_result", f"item {entry['index']}: {len(memory)} memory entries for "
                                                 f"{entry['shots']} shots", stage="execute")
            records.append(result_record(entry, counts, memory, device=device, agent=agent, driver=driver))
        return queue.finish_attempt(session, job_id, queue.Ending.done(records, max(0.0, exec_seconds)),
                                    now=utcnow(), holder=lease)


def fail(database: Database, settings: Settings, device: str, job_id: str, lease: str, *, detail: str,
         retry: bool) -> bool:
    """The agent could not run the job (driver error): back to the queue within the attempt budget, or FAILED."""
    with database.write() as session:
        job = _held(session, job_id, lease, device)
        if job is None:
            return False
        decision = RetryPolicy(settings.max_attempts).after_reported_error(job.attempts, detail, retry)
        return queue.finish_attempt(session, job_id, queue.Ending.error(decision, ErrorStage.EXECUTE, 0.0),
                                    now=utcnow(), holder=lease)


def cancelled(database: Database, device: str, job_id: str, lease: str) -> bool:
    with database.write() as session:
        if _held(session, job_id, lease, device) is None:
            return False
        return queue.finish_attempt(session, job_id, queue.Ending.cancelled(), now=utcnow(), holder=lease)


def record_calibration(database: Database, devices: CalibratedDevices, device: str, snapshot_id: str, version: int,
                       time: datetime, data: dict[str, Any]) -> tuple[int, bool]:
    """Store a calibration an agent measured (a new history row unless that snapshot id is known).

    The data must describe the device (for a chip: Quafu chip-info JSON the device can be rebuilt from), or the
    next claims could not compile for it: 422 otherwise.
    """
    if time.tzinfo is None:  # an agent's clock without a zone is taken as UTC, as every time in Xihe is
        time = time.replace(tzinfo=UTC)
    base = devices.catalog.get(device)
    if getattr(base, "kind", "simulator") != "simulator":
        from xihe.devices.calibration import CalibrationSnapshot

        try:
            base.with_calibration(CalibrationSnapshot(snapshot_id, version, time, dict(data)))
        except Exception as exc:  # any failure to rebuild the device from the data is the data's fault
            raise Problem(422, "bad_calibration", f"calibration {snapshot_id!r} does not describe device {device}: "
                                                  f"{type(exc).__name__}: {exc}", stage="validate") from exc
    with database.write() as session:
        before = {row.snapshot_id for row in calibrations.list_snapshots(session, device, limit=1000)}
        row = calibrations.record_snapshot(session, device, snapshot_id, str(version), time, data)
        return row.id, snapshot_id not in before
