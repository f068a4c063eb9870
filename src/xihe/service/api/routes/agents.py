"""``/api/v1/agents``: the HTTP side of remote device agents (claim, heartbeat, result, calibration) and the
admin's device tokens. The logic is in :mod:`xihe.service.cluster.agents`; this module only speaks HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from xihe.service.api.deps import AdminDep, CatalogDep, DatabaseDep, SettingsDep, bearer, check_failures, record_failure
from xihe.service.clock import utcnow
from xihe.service.cluster import agents
from xihe.service.problems import Problem, unauthorized

router = APIRouter(prefix="/agents", tags=["agents"])


class DeviceTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(min_length=1, max_length=64)
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class DeviceTokenCreated(BaseModel):
    id: str
    device: str
    token: str = Field(description="Shown once; give it to the agent (`xihe agent --token`).")


class ClaimRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: str = Field(default="agent", min_length=1, max_length=64, description="The agent's name (logs, leases).")


class AgentJobOut(BaseModel):
    job_id: str
    lease: str
    lease_seconds: float
    heartbeat_seconds: float
    attempt: int
    items: list[dict[str, Any]] = Field(description="[{index, qasm (native), shots, seed}]")


class LeaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lease: str = Field(min_length=1, max_length=64)


class LeaseOut(BaseModel):
    held: bool
    cancel_requested: bool


class CalibrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=0)
    time: datetime
    data: dict[str, Any]


class CalibrationOut(BaseModel):
    snapshot_id: str
    row: int
    new: bool


class ItemResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int = Field(ge=0)
    counts: dict[str, int]
    memory: list[str] | None = None


class ResultBody(LeaseBody):
    results: list[ItemResult]
    driver: str = Field(default="unknown", max_length=64)
    exec_seconds: float = Field(default=0.0, ge=0)
    calibration: CalibrationIn | None = Field(default=None, description="Fresh calibration taken with the run.")


class FailBody(LeaseBody):
    detail: str = Field(min_length=1, max_length=4000)
    retry: bool = True


def device_agent(request: Request, device: str,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """The device of the request's device token; 401 without a valid one, 403 for another device's token."""
    check_failures(request)  # device tokens are guessed like any other: the same per-address limit
    if credentials is None or not credentials.credentials:
        record_failure(request)
        raise unauthorized("missing device token (Authorization: Bearer <device token>)")
    with request.app.state.database.read() as session:
        served = agents.authenticate_device(session, credentials.credentials)
    if served is None:
        record_failure(request)
        raise unauthorized("invalid, expired or revoked device token")
    if served != device:
        raise Problem(403, "wrong_device", f"this token serves device {served!r}, not {device!r}")
    return served


DeviceDep = Annotated[str, Depends(device_agent)]


def _devices(request: Request) -> agents.CalibratedDevices:
    state = request.app.state
    if getattr(state, "calibrated_devices", None) is None:
        state.calibrated_devices = agents.CalibratedDevices(state.catalog)
    return state.calibrated_devices  # type: ignore[no-any-return]


def _lease_lost(job_id: str) -> Problem:
    return Problem(409, "lease_lost", f"this agent no longer holds job {job_id} (lease expired, job cancelled or "
                                      "finished elsewhere); drop it", stage="execute")


@router.post("/tokens", status_code=201, response_model=DeviceTokenCreated, operation_id="create_device_token")
def create_device_token(body: DeviceTokenCreate, _admin: AdminDep, database: DatabaseDep,
                        catalog: CatalogDep) -> DeviceTokenCreated:
    """Admin: a token scoped to one device, for its agent (the secret appears only here)."""
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    with database.write() as session:
        issued = agents.issue_device_token(session, catalog, body.device, expires_at=expires)
        return DeviceTokenCreated(id=issued.row.id, device=body.device, token=issued.secret)


@router.post("/{device}/claim", response_model=AgentJobOut, operation_id="agent_claim",
             responses={204: {"description": "No job is waiting for this device."}})
def claim(request: Request, device: DeviceDep, body: ClaimRequest, settings: SettingsDep,
          database: DatabaseDep) -> Any:
    """Lease the device's next job, compiled for it; 204 if none is waiting."""
    request.app.state.metrics.agents.saw(device, body.agent)
    job = agents.claim(database, settings, _devices(request), device, body.agent)
    if job is None:
        return Response(status_code=204)
    return AgentJobOut(**job.__dict__)


@router.post("/{device}/jobs/{job_id}/heartbeat", response_model=LeaseOut, operation_id="agent_heartbeat")
def heartbeat(request: Request, device: DeviceDep, job_id: str, body: LeaseBody, settings: SettingsDep,
              database: DatabaseDep) -> LeaseOut:
    """Renew the lease; ``held: false`` tells the agent to drop the job, ``cancel_requested`` to stop it."""
    request.app.state.metrics.agents.saw(device, None)
    state = agents.heartbeat(database, settings, device, job_id, body.lease)
    return LeaseOut(held=state.held, cancel_requested=state.cancel_requested)


@router.post("/{device}/jobs/{job_id}/result", operation_id="agent_result")
def result(request: Request, device: DeviceDep, job_id: str, body: ResultBody,
           database: DatabaseDep) -> dict[str, Any]:
    """The job's counts (one entry per item), stored once and only under the lease; 409 if the lease is gone."""
    calibration = None
    if body.calibration is not None:
        c = body.calibration
        row, new = agents.record_calibration(database, _devices(request), device, c.id, c.version, c.time, c.data)
        calibration = {"snapshot_id": c.id, "row": row, "new": new}
    stored = agents.complete(database, device, job_id, body.lease, [r.model_dump() for r in body.results],
                             driver=body.driver, exec_seconds=body.exec_seconds)
    if not stored:
        raise _lease_lost(job_id)
    return {"stored": True, "calibration": calibration}


@router.post("/{device}/jobs/{job_id}/fail", operation_id="agent_fail")
def fail(device: DeviceDep, job_id: str, body: FailBody, settings: SettingsDep,
         database: DatabaseDep) -> dict[str, Any]:
    """The agent could not run the job: retry elsewhere/later within the attempt budget, else FAILED."""
    if not agents.fail(database, settings, device, job_id, body.lease, detail=body.detail, retry=body.retry):
        raise _lease_lost(job_id)
    return {"recorded": True}


@router.post("/{device}/jobs/{job_id}/cancelled", operation_id="agent_cancelled")
def cancelled(device: DeviceDep, job_id: str, body: LeaseBody, database: DatabaseDep) -> dict[str, Any]:
    """The agent stopped a job whose cancel was requested."""
    if not agents.cancelled(database, device, job_id, body.lease):
        raise _lease_lost(job_id)
    return {"recorded": True}


@router.post("/{device}/calibration", status_code=201, response_model=CalibrationOut,
             operation_id="agent_calibration")
def calibration(request: Request, device: DeviceDep, body: CalibrationIn, database: DatabaseDep) -> CalibrationOut:
    """A calibration the agent measured; kept as history, used to compile the device's next jobs."""
    row, new = agents.record_calibration(database, _devices(request), device, body.id, body.version, body.time,
                                         body.data)
    return CalibrationOut(snapshot_id=body.id, row=row, new=new)
