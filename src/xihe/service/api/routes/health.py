"""``/api/v1/health`` (liveness and database reachability) and ``/api/v1/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from xihe.service.api.deps import (
    MetricsReaderDep,
    _in_networks,  # /metrics' network rule, applied as is
    authenticate,
    bearer,
    client_address,
)
from xihe.service.api.health_probe import DatabaseProbe
from xihe.service.schemas import Health
from xihe.service.settings import Settings
from xihe.version import __version__

router = APIRouter(tags=["health"])


async def sees_details(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> bool:
    """Whether the caller may see ``/health``'s details (job counts): the same rule as ``/metrics`` (a client in
    ``metrics_networks`` or an admin's token), but anyone else still gets the status. A token that is presented
    is checked like any other (a bad one is a 401 and counts as a failure), so /health tells nothing about
    tokens that a throttled endpoint would not."""
    settings: Settings = request.app.state.settings
    if _in_networks(client_address(request), settings.metrics_networks):
        return True
    if credentials is None:
        return False
    user = await run_in_threadpool(authenticate, request, credentials)
    return user.role == "admin"


DetailsReaderDep = Annotated[bool, Depends(sees_details)]


@router.get("/health", response_model=Health, response_model_exclude_none=True, operation_id="health",
            responses={503: {"model": Health, "description": "The database does not answer."}})
async def health(request: Request, details: DetailsReaderDep) -> JSONResponse:
    """``ok``, or ``degraded`` with 503 when the database does not answer. Answered on the event loop from the
    probe's latest check (:mod:`xihe.service.api.health_probe`), never behind the request handlers' thread pool.
    Clients in ``XIHE_METRICS_NETWORKS`` and admins also see the database, version and queued and running jobs
    (read on the probe's thread as well)."""
    probe: DatabaseProbe = request.app.state.health_probe
    state = await probe.state()
    answer = Health(status="ok" if state.reachable else "degraded")
    if details:
        counts = await probe.active_counts() if state.reachable else {}
        answer = Health(status=answer.status, database=state.detail, version=__version__,
                        queued=counts.get("QUEUED", 0), running=counts.get("RUNNING", 0))
    # One answer for this route and its root alias (/health): the fields not shown are left out, not null.
    return JSONResponse(answer.model_dump(exclude_none=True), status_code=200 if state.reachable else 503)


@router.get("/metrics", operation_id="metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, _reader: MetricsReaderDep) -> Response:
    """Prometheus text; for a client in ``XIHE_METRICS_NETWORKS`` or an admin's token (job counts, queue lengths
    and per-backend load are not for everyone)."""
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
