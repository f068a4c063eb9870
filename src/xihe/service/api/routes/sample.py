"""``/api/v1/sample``: submit Sampler PUBs as one job; read each PUB's per-register bit arrays.

The job itself is an ordinary job (kind ``sample``): ``GET /api/v1/jobs/{id}?wait=`` waits for it and shows each
item's counts; ``GET /api/v1/sample/{id}`` answers the shots per classical register once it is DONE.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from xihe.service.api.deps import CatalogDep, DatabaseDep, SettingsDep, UserDep, parse_pool
from xihe.service.api.primitives import finished_job, store_checked
from xihe.service.limits import quota_of
from xihe.service.problems import Problem, problem_responses
from xihe.service.repositories import memory_pages
from xihe.service.sample import (
    SAMPLE_KIND,
    outline_answer,
    prepare_sample,
    pub_page,
    stored_shot_chunks,
    stored_shot_slice,
    stream_answer,
    submit_sample,
)
from xihe.service.sample_schemas import SampleCreate, SamplePagePublic, SamplePublic
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
def get(job_id: str, user: UserDep, database: DatabaseDep,
        outline: Annotated[bool, Query(description="Leave the shots out (each binding's samples an empty list): "
                                       "read them in pages from /sample/{id}/pubs/{p}")] = False) -> Response:
    """A sampling job's status and, once DONE, per PUB and register: ``samples[binding][shot]`` as hex.

    A DONE job's answer is streamed, each item's shots read a memory page at a time in short read transactions
    of their own, so the API holds one page whatever the number of shots (the answer itself is as large as the
    shots it carries). With ``outline`` it carries no shots, only their shape: the SDK then reads each PUB's
    pages, every answer bounded."""
    with database.read() as session:
        job, status, records = finished_job(session, user, job_id, SAMPLE_KIND, "circuits")
    if records is None:
        return Response(SamplePublic(id=job.id, status=status, backend=job.backend).model_dump_json(),
                        media_type="application/json")
    if outline:
        return Response(outline_answer(job.id, job.backend, job.payload), media_type="application/json")
    chunks = stream_answer(job.id, job.backend, job.payload,
                           lambda item: stored_shot_chunks(database, job.id, item))
    return StreamingResponse(chunks, media_type="application/json")


@router.get("/{job_id}/pubs/{pub}", response_model=SamplePagePublic, operation_id="get_sample_page")
def page(job_id: str, pub: Annotated[int, Path(ge=0, le=10**6)], user: UserDep, database: DatabaseDep,
         binding: Annotated[int, Query(ge=0, le=10**6)] = 0, offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
         limit: Annotated[int, Query(ge=1, le=memory_pages.PAGE_SHOTS)] = memory_pages.PAGE_SHOTS) -> Response:
    """Shots ``offset`` to ``offset + limit`` (at most 16,384) of one PUB under one binding, per register as hex:
    a DONE sampling job's shots read in bounded pages, each from at most two stored rows."""
    with database.read() as session:
        job, status, records = finished_job(session, user, job_id, SAMPLE_KIND, "circuits")
        if records is None:
            raise Problem(409, "job_not_done", f"job {job_id} is {status.value}: its shots come once DONE")
        pubs = job.payload["sample"]["pubs"]
        if pub >= len(pubs) or binding >= len(pubs[pub]["bindings"]):
            raise Problem(404, "pub_not_found", f"job {job_id} has no PUB {pub} with binding {binding}")
        body = pub_page(job.id, job.payload, pub, binding, offset, limit,
                        lambda item, start, count: stored_shot_slice(session, job.id, item, start, count))
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")
