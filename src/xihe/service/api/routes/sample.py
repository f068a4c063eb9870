"""``/api/v1/sample``: submit Sampler PUBs as one job; read each PUB's per-register bit arrays.

The job itself is an ordinary job (kind ``sample``): ``GET /api/v1/jobs/{id}?wait=`` waits for it and shows each
item's counts; ``GET /api/v1/sample/{id}`` answers the shots per classical register once it is DONE.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from xihe.service.api.deps import CatalogDep, DatabaseDep, SettingsDep, UserDep
from xihe.service.problems import Problem, not_found, problem_responses
from xihe.service.repositories import jobs
from xihe.service.sample import SAMPLE_KIND, prepare_sample, pub_samples, submit_sample
from xihe.service.sample_schemas import SampleCreate, SamplePublic
from xihe.service.schemas import JobPublic
from xihe.service.states import JobStatus
from xihe.service.views import job_public

router = APIRouter(prefix="/sample", tags=["sample"], responses=problem_responses(400, 401, 403, 404, 409, 422))


@router.post("", status_code=201, response_model=JobPublic, operation_id="submit_sample")
def submit(request: Request, body: SampleCreate, user: UserDep, settings: SettingsDep, database: DatabaseDep,
           catalog: CatalogDep) -> JobPublic:
    """Queue PUBs (circuit, parameter values, shots) as one sampling job."""
    prepared = prepare_sample(settings, catalog, body, user)  # parse, bind and price outside the write lock
    with database.write() as session:
        job = submit_sample(session, settings, catalog, user, prepared)
        public = job_public(session, job)
    request.app.state.metrics.jobs_submitted.labels(backend=body.backend, kind=SAMPLE_KIND.value).inc()
    return public


@router.get("/{job_id}", response_model=SamplePublic, operation_id="get_sample")
def get(job_id: str, user: UserDep, database: DatabaseDep) -> SamplePublic:
    """A sampling job's status and, once DONE, per PUB and register: ``samples[binding][shot]`` as hex."""
    with database.read() as session:
        job = jobs.get_user_job(session, user.id, job_id)
        if job is None or job.kind != SAMPLE_KIND:
            raise not_found("job", job_id)
        status = JobStatus(job.status)
        records = jobs.results_for(session, job.id, with_memory=True) if status == JobStatus.DONE else []
    answer = SamplePublic(id=job.id, status=status, backend=job.backend)
    if status == JobStatus.DONE:
        if len(records) != job.num_circuits:
            raise Problem(409, "sample_incomplete", f"job {job_id} stored {len(records)} of its "
                          f"{job.num_circuits} circuits", stage="execute")
        answer.pubs = pub_samples(job.payload, records)
    return answer
