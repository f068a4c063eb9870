"""``/api/v1/sample``: submit Sampler PUBs as one job; read each PUB's per-register bit arrays.

The job itself is an ordinary job (kind ``sample``): ``GET /api/v1/jobs/{id}?wait=`` waits for it and shows each
item's counts; ``GET /api/v1/sample/{id}`` answers the shots per classical register once it is DONE.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from xihe.service.api.deps import CatalogDep, DatabaseDep, SettingsDep, UserDep, parse_pool
from xihe.service.api.primitives import finished_job, store_checked
from xihe.service.limits import quota_of
from xihe.service.problems import problem_responses
from xihe.service.sample import SAMPLE_KIND, prepare_sample, stored_shot_chunks, stream_answer, submit_sample
from xihe.service.sample_schemas import SampleCreate, SamplePublic
from xihe.service.schemas import JobPublic

router = APIRouter(prefix="/sample", tags=["sample"], responses=problem_responses(400, 401, 403, 404, 409, 422))


@router.post("", status_code=201, response_model=JobPublic, operation_id="submit_sample")
def submit(request: Request, body: SampleCreate, user: UserDep, settings: SettingsDep, database: DatabaseDep,
           catalog: CatalogDep) -> JobPublic:
    """Queue PUBs (circuit, parameter values, shots) as one sampling job."""
    # Parse, bind and price outside the write lock (large programs in the parse pool).
    items = sum(max(1, len(pub.parameter_values or ())) for pub in body.pubs)
    prepared = parse_pool(request).run([pub.circuit for pub in body.pubs], prepare_sample, body, quota_of(user),
                                       items=items)
    return store_checked(request, database, SAMPLE_KIND, body.backend,
                         lambda session: submit_sample(session, settings, catalog, user, prepared))


@router.get("/{job_id}", response_model=SamplePublic, operation_id="get_sample")
def get(job_id: str, user: UserDep, database: DatabaseDep) -> Response:
    """A sampling job's status and, once DONE, per PUB and register: ``samples[binding][shot]`` as hex.

    A DONE job's answer is streamed, each item's shots read a memory page at a time in short read transactions
    of their own, so the API holds one page whatever the number of shots (the answer itself is as large as the
    shots it carries)."""
    with database.read() as session:
        job, status, records = finished_job(session, user, job_id, SAMPLE_KIND, "circuits")
    if records is None:
        return Response(SamplePublic(id=job.id, status=status, backend=job.backend).model_dump_json(),
                        media_type="application/json")
    chunks = stream_answer(job.id, job.backend, job.payload,
                           lambda item: stored_shot_chunks(database, job.id, item))
    return StreamingResponse(chunks, media_type="application/json")
