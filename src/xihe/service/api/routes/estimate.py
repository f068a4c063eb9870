"""``/api/v1/estimate``: submit Estimator PUBs as one job; read its expectation values and standard errors.

The job itself is an ordinary job (kind ``estimate``): ``GET /api/v1/jobs/{id}?wait=`` waits for it and shows
each measured circuit's counts; ``GET /api/v1/estimate/{id}`` answers the values once it is DONE.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from xihe.service.api.deps import CatalogDep, DatabaseDep, SettingsDep, UserDep, parse_pool
from xihe.service.api.primitives import finished_job, store_checked
from xihe.service.estimate import ESTIMATE_KIND, prepare_estimate, pub_estimates, submit_estimate
from xihe.service.estimate_schemas import EstimateCreate, EstimatePublic
from xihe.service.limits import quota_of
from xihe.service.problems import problem_responses
from xihe.service.schemas import JobPublic

router = APIRouter(prefix="/estimate", tags=["estimate"], responses=problem_responses(400, 401, 403, 404, 409, 422))


@router.post("", status_code=201, response_model=JobPublic, operation_id="submit_estimate")
def submit(request: Request, body: EstimateCreate, user: UserDep, settings: SettingsDep, database: DatabaseDep,
           catalog: CatalogDep) -> JobPublic:
    """Queue PUBs (circuit, observables, parameter values, precision) as one estimation job."""
    # Parse, group and price outside the write lock (large programs in the parse pool); each PUB is planned
    # once per binding and observable at most.
    items = sum(max(1, len(pub.parameter_values or ())) * max(1, len(pub.observables)) for pub in body.pubs)
    prepared = parse_pool(request).run([pub.circuit for pub in body.pubs], prepare_estimate, body, quota_of(user),
                                       items=items)
    return store_checked(request, database, ESTIMATE_KIND, body.backend,
                         lambda session: submit_estimate(session, settings, catalog, user, prepared))


@router.get("/{job_id}", response_model=EstimatePublic, operation_id="get_estimate")
def get(job_id: str, user: UserDep, database: DatabaseDep) -> EstimatePublic:
    """An estimation job's status and, once DONE, per PUB: ``values[binding][observable]`` and ``stds``.

    The values are computed from the stored records as they are read, a few rows and one page of counts at a
    time, so a measured circuit of many outcomes costs the API one page, not its counts."""
    with database.read() as session:
        job, status, records = finished_job(session, user, job_id, ESTIMATE_KIND, "measured circuits")
        pubs = pub_estimates(job.payload, records) if records is not None else None
    return EstimatePublic(id=job.id, status=status, backend=job.backend, pubs=pubs)
