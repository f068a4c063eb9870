"""The agent API (``/api/v1/agents/{device}/...``) over httpx, with a device token.

An outage of the platform -- refused connections, timeouts of a frozen server, 5xx from a proxy or a replica whose
database is away -- is waited out with capped exponential backoff, forever by default (``retry_seconds=None``):
a platform restart, a replica swap or a long maintenance must never leave a chip unserved once the platform is
back. Each outage is logged once when it starts and once when it ends. A 409 (lease lost) is an answer, not an
error: the caller drops the job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from xihe.errors import XiheError

log = logging.getLogger("xihe.agent")


class AgentError(XiheError):
    """The platform refused an agent request (bad token, wrong device, bad result)."""


@dataclass(frozen=True)
class AgentJob:
    """What a claim hands the agent: the job, its lease, and the native circuits to run.

    One type for both ends: the server builds it (:func:`xihe.service.cluster.agents.claim`) and the claim
    route sends its fields; the agent rebuilds it from that JSON."""

    job_id: str
    lease: str
    lease_seconds: float
    heartbeat_seconds: float
    attempt: int
    items: list[dict[str, Any]]


def snapshot_body(snapshot: Any) -> dict[str, Any]:
    """A :class:`~xihe.devices.calibration.CalibrationSnapshot` as the API's CalibrationIn."""
    when = snapshot.time
    return {"id": str(snapshot.id), "version": int(snapshot.version),
            "time": when.isoformat() if isinstance(when, datetime) else str(when), "data": dict(snapshot.data)}


class AgentClient:
    def __init__(self, url: str, token: str, device: str, *, timeout: float = 30.0,
                 retry_seconds: float | None = None, max_backoff: float = 10.0) -> None:
        self.device = device
        self.retry_seconds = retry_seconds
        self.max_backoff = max_backoff
        self.outages = 0
        self._http = httpx.Client(base_url=f"{url.rstrip('/')}/api/v1/agents/{device}", timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST, waiting out any outage (see the module doc); 401/403/422 are :class:`AgentError` at once."""
        started = time.monotonic()
        delay = 0.2
        down_since: float | None = None
        while True:
            try:
                response = self._http.post(path, json=body)
                failure = f"HTTP {response.status_code}" if response.status_code >= 500 else None
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}".rstrip(": ")
            now = time.monotonic()
            if failure is None:
                if down_since is not None:
                    log.warning("platform reachable again after %.1f s; resuming", now - down_since)
                if response.status_code in (401, 403, 422):
                    raise AgentError(f"{path}: HTTP {response.status_code}: {_detail(response)}")
                return response
            if down_since is None:
                down_since = now
                self.outages += 1
                log.warning("platform unavailable (%s on %s); retrying with backoff up to %g s until it is back",
                            failure, path, self.max_backoff)
            if self.retry_seconds is not None and now - started > self.retry_seconds:
                raise AgentError(f"{path}: platform unavailable for {now - started:.0f} s: {failure}")
            time.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    def claim(self, agent: str) -> AgentJob | None:
        response = self._post("/claim", {"agent": agent})
        if response.status_code == 204:
            return None
        return AgentJob(**response.json())

    def heartbeat(self, job: AgentJob) -> tuple[bool, bool]:
        """(lease still held, cancel requested)."""
        body = self._post(f"/jobs/{job.job_id}/heartbeat", {"lease": job.lease}).json()
        return bool(body["held"]), bool(body["cancel_requested"])

    def post_result(self, job: AgentJob, results: list[dict[str, Any]], *, driver: str, exec_seconds: float,
                    calibration: Any | None = None) -> bool:
        """True if stored; False if the lease was lost (409) and the result discarded by the platform."""
        body: dict[str, Any] = {"lease": job.lease, "results": results, "driver": driver,
                                "exec_seconds": exec_seconds}
        if calibration is not None:
            body["calibration"] = snapshot_body(calibration)
        return self._post(f"/jobs/{job.job_id}/result", body).status_code == 200

    def fail(self, job: AgentJob, detail: str, *, retry: bool = True) -> bool:
        return self._post(f"/jobs/{job.job_id}/fail", {"lease": job.lease, "detail": detail[:4000],
                                                       "retry": retry}).status_code == 200

    def cancelled(self, job: AgentJob) -> bool:
        return self._post(f"/jobs/{job.job_id}/cancelled", {"lease": job.lease}).status_code == 200

    def post_calibration(self, snapshot: Any) -> dict[str, Any]:
        return dict(self._post("/calibration", snapshot_body(snapshot)).json())


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:500]
