"""``/api/v1/health`` (liveness and database reachability) and ``/api/v1/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from xihe.service.api.deps import DatabaseDep, MetricsReaderDep
from xihe.service.repositories import jobs
from xihe.service.schemas import Health
from xihe.version import __version__

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, operation_id="health")
def health(database: DatabaseDep, response: Response) -> Health:
    try:
        with database.read() as session:
            session.execute(text("SELECT 1"))
            counts = jobs.status_counts(session)
    except Exception as exc:
        response.status_code = 503
        return Health(status="degraded", database=f"unreachable: {type(exc).__name__}", version=__version__,
                      queued=0, running=0)
    return Health(status="ok", database=database.dialect, version=__version__, queued=counts.get("QUEUED", 0),
                  running=counts.get("RUNNING", 0))


@router.get("/metrics", operation_id="metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request, _reader: MetricsReaderDep) -> Response:
    """Prometheus text; for a client in ``XIHE_METRICS_NETWORKS`` or an admin's token (job counts, queue lengths
    and per-backend load are not for everyone)."""
    body, content_type = request.app.state.metrics.render()
    return Response(body, media_type=content_type)
