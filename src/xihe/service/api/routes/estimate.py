"""``/api/v1/estimate``: submit Estimator PUBs as one job; read its expectation values and standard errors.

The job itself is an ordinary job (kind ``estimate``): ``GET /api/v1/jobs/{id}?wait=`` waits for it and shows
each measured circuit's counts; ``GET /api/v1/estimate/{id}`` answers the values once it is DONE.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from xihe.service.api.deps import CatalogDep, DatabaseDep, SettingsDep, UserDep
from xihe.service.estimate import ESTIMATE_KIND, prepare_estimate, pub_estimates, submit_estimate
from xihe.service.estimate_schemas import EstimateCreate, EstimatePublic
from xihe.service.problems import Problem, not_found, problem_responses
from xihe.service.repositories import jobs
from xihe.service.schemas import JobPublic
from xihe.service.states import JobStatus
from xihe.service.views import job_public

router = APIRouter(prefix="/estimate", tags=["estimate"], responses=problem_responses(400, 401, 403, 404, 409, 422))


@router.post("", status_code=201, response_model=JobPublic, operation_id="submit_estimate")
def submit(request: Request, body: EstimateCreate, user: UserDep, settings: SettingsDep, database: DatabaseDep,
           catalog: CatalogDep) -> JobPublic:
    """Queue PUBs (circuit, observables, parameter values, precision) as one estimation job."""
    prepared = prepare_estimate(settings, catalog, body, user)  # parse, group and price outside the write lock
    with database.write() as session:
        job = submit_estimate(session, settings, catalog, user, prepared)
        public = job_public(session, job)
    request.app.state.metrics.jobs_submitted.labels(backend=body.backend, kind=ESTIMATE_KIND.value).inc()
    return public


@router.get("/{job_id}", response_model=EstimatePublic, operation_id="get_estimate")
def get(job_id: str, user: UserDep, database: DatabaseDep) -> EstimatePublic:
    """An estimation job's status and, once DONE, per PUB: ``values[binding][observable]`` and ``stds``."""
    with database.read() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None or job.kind != ESTIMATE_KIND:
            raise not_found("job", job_id)
        status = JobStatus(job.status)
        records = jobs.results_for(session, job.id) if status == JobStatus.DONE else []
    answer = EstimatePublic(id=job.id, status=status, backend=job.backend)
    if status == JobStatus.DONE:
        if len(records) != job.num_circuits:
            raise Problem(409, "estimate_incomplete", f"job {job_id} stored {len(records)} of its "
                          f"{job.num_circuits} measured circuits", stage="execute")
        answer.pubs = pub_estimates(job.payload, records)
    return answer
