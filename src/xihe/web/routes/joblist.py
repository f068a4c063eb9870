"""The job list: search, filters, date range, sort and page size in the query string; live updates by long poll
(new jobs appear and statuses change without a reload); multi-select cancel.

The long poll (``/jobs/updates.json``) answers as soon as a job newer than the newest shown appears or a shown
open job changes status or queue place, else after ``wait`` seconds; new rows come as server-rendered HTML (the
same template as the page, so escaping is Jinja's). Registered before :mod:`xihe.web.routes.jobs`, whose
``/jobs/{job_id}`` would otherwise take ``/jobs/updates.json``.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response

from xihe.service.api.deps import backend_parallelism
from xihe.service.repositories import jobs
from xihe.service.repositories.jobs import JOB_ORDERS
from xihe.service.schemas import JobPublic
from xihe.service.states import JobStatus
from xihe.service.views import job_public
from xihe.web.deps import JsonUser, PageUser, WebUser, catalog, check_csrf, database, render, web_state

router = APIRouter(include_in_schema=False)

PAGE_SIZES = (10, 25, 50, 100)
STATUSES = [s.value for s in JobStatus]
ORDER_LABELS = {"newest": "newest first", "oldest": "oldest first", "name": "name", "status": "status",
                "backend": "backend", "shots": "most shots"}
MAX_WAIT_SECONDS = 25.0
POLL_SECONDS = 1.0  # a database read per open tab per second at most
MAX_CANCEL = 200


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class ListQuery:
    """What the list shows, parsed once from the query string (anything unknown falls back to the default)."""

    q: str = ""
    status: str = ""
    backend: str = ""
    tag: str = ""
    day_from: date | None = None
    day_to: date | None = None
    order: str = "newest"
    per_page: int = 25
    page: int = 1

    @classmethod
    def parse(cls, q: str, status: str, backend: str, tag: str, day_from: str, day_to: str, order: str,
              per_page: int, page: int) -> ListQuery:
        return cls(q=q.strip()[:100], status=status if status in STATUSES else "", backend=backend.strip(),
                   tag=tag.strip(), day_from=_day(day_from), day_to=_day(day_to),
                   order=order if order in JOB_ORDERS else "newest",
                   per_page=per_page if per_page in PAGE_SIZES else 25, page=max(1, page))

    def filters(self) -> dict[str, Any]:
        """Keyword arguments of ``jobs.list_jobs`` (the date range is whole UTC days, ``to`` included)."""
        start = datetime.combine(self.day_from, day_time(), UTC) if self.day_from else None
        end = datetime.combine(self.day_to, day_time(), UTC) + timedelta(days=1) if self.day_to else None
        return {"status": self.status or None, "backend": self.backend or None, "tag": self.tag or None,
                "search": self.q or None, "created_from": start, "created_before": end}

    def params(self, **changed: Any) -> dict[str, str]:
        values = {"q": self.q, "status": self.status, "backend": self.backend, "tag": self.tag,
                  "from": self.day_from.isoformat() if self.day_from else "",
                  "to": self.day_to.isoformat() if self.day_to else "", "order": self.order,
                  "per_page": str(self.per_page), "page": str(self.page)}
        values.update({k: str(v) for k, v in changed.items()})
        return {k: v for k, v in values.items() if v and (k, v) not in (("order", "newest"), ("per_page", "25"),
                                                                         ("page", "1"))}

    def url(self, **changed: Any) -> str:
        query = urlencode(self.params(**changed))
        return "/jobs" + (f"?{query}" if query else "")

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.status or self.backend or self.tag or self.day_from or self.day_to)

    @property
    def live_new_rows(self) -> bool:
        """New jobs are added at the top only where they belong there: the first page, newest first."""
        return self.page == 1 and self.order == "newest"


def _query(q: str = "", status: str = "", backend: str = "", tag: str = "",
           day_from: Annotated[str, Query(alias="from")] = "", day_to: Annotated[str, Query(alias="to")] = "",
           order: str = "newest", per_page: Annotated[int, Query(ge=1, le=1000)] = 25,
           page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> ListQuery:
    return ListQuery.parse(q, status, backend, tag, day_from, day_to, order, per_page, page)


def _public(request: Request, session: Any, job: Any) -> JobPublic:
    return job_public(session, job, with_results=False, parallelism=backend_parallelism(request, job.backend))


@router.get("/jobs")
def jobs_page(request: Request, user: PageUser, q: str = "", status: str = "", backend: str = "", tag: str = "",
              day_from: Annotated[str, Query(alias="from")] = "", day_to: Annotated[str, Query(alias="to")] = "",
              order: str = "newest", per_page: Annotated[int, Query(ge=1, le=1000)] = 25,
              page: Annotated[int, Query(ge=1, le=100_000)] = 1, cancelled: int | None = None) -> Response:
    query = _query(q, status, backend, tag, day_from, day_to, order, per_page, page)
    with database(request).read() as session:
        rows, total = jobs.list_jobs(session, user.id, **query.filters(), order=query.order, limit=query.per_page,
                                     offset=(query.page - 1) * query.per_page)
        items = [_public(request, session, job) for job in rows]
    newest = max((job.created_at for job in items), default=None)
    context = {"nav": "jobs", "jobs": items, "total": total, "query": query,
               "pages": max(1, -(-total // query.per_page)), "statuses": STATUSES, "orders": ORDER_LABELS,
               "page_sizes": PAGE_SIZES, "backends": catalog(request).names(), "cancelled": cancelled,
               "newest": newest.isoformat() if newest else ""}
    return render(request, "jobs.html", context, user=user)


def _state(job: JobPublic) -> str:
    """What the page knows of an open job: its status and queue place (a change of either is news)."""
    return f"{job.status.value}:{'' if job.queue_position is None else job.queue_position}"


def _status_fields(job: JobPublic) -> dict[str, Any]:
    return {"id": job.id, "status": job.status.value, "terminal": job.status.is_terminal,
            "state": _state(job), "queue_position": job.queue_position,
            "starts": job.eta.text.split(",")[0] if job.eta else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None}


def _updates(request: Request, user: WebUser, query: ListQuery, after: datetime | None,
             known: dict[str, str]) -> dict[str, Any]:
    """New rows (HTML) since ``after`` and the shown jobs whose state differs from ``known``."""
    template = web_state(request).templates.get_template("_job_row.html")
    with database(request).read() as session:
        new_rows: list[dict[str, str]] = []
        if after is not None and query.live_new_rows:
            rows, _ = jobs.list_jobs(session, user.id, **query.filters(), created_after=after,
                                     limit=query.per_page)
            for job in rows:
                public = _public(request, session, job)
                new_rows.append({"id": public.id, "created_at": public.created_at.isoformat(),
                                 "html": template.render(job=public, csrf_token=user.csrf)})
        changed = []
        for job_id, state in list(known.items())[:MAX_CANCEL]:
            shown = jobs.get_user_job(session, user.id, job_id)
            if shown is None:
                continue
            public = _public(request, session, shown)
            if _state(public) != state:
                changed.append(_status_fields(public))
    return {"new": new_rows, "changed": changed}


def _parse_known(text: str) -> dict[str, str]:
    known = {}
    for part in text.split(",")[:MAX_CANCEL]:
        job_id, _, state = part.partition("=")
        if job_id:
            known[job_id] = state
    return known


@router.get("/jobs/updates.json")
async def jobs_updates(request: Request, user: JsonUser, after: str = "", known: str = "",
                       wait: Annotated[float, Query(ge=0, le=60)] = 0, q: str = "", status: str = "",
                       backend: str = "", tag: str = "", day_from: Annotated[str, Query(alias="from")] = "",
                       day_to: Annotated[str, Query(alias="to")] = "", order: str = "newest",
                       per_page: Annotated[int, Query(ge=1, le=1000)] = 25,
                       page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Long poll: the list's news (new rows, changed states), at once if there is any, else within ``wait`` s."""
    query = _query(q, status, backend, tag, day_from, day_to, order, per_page, page)
    try:
        since = datetime.fromisoformat(after) if after else None
    except ValueError:
        since = None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    states = _parse_known(known)
    deadline = time.monotonic() + min(wait, MAX_WAIT_SECONDS)
    while True:
        body = await run_in_threadpool(_updates, request, user, query, since, states)
        if body["new"] or body["changed"] or time.monotonic() >= deadline or await request.is_disconnected():
            return JSONResponse(body, headers={"Cache-Control": "no-store"})
        await asyncio.sleep(POLL_SECONDS)


@router.post("/jobs/cancel")
def cancel_selected(request: Request, user: PageUser, job: Annotated[list[str] | None, Form()] = None,
                    back: Annotated[str, Form()] = "/jobs", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Cancel every selected job of the user's that is still open (others' ids and finished jobs are skipped)."""
    check_csrf(user, csrf_token)
    cancelled = 0
    with database(request).write() as session:
        for job_id in (job or [])[:MAX_CANCEL]:
            row = jobs.get_user_job(session, user.id, job_id)
            if row is not None and not JobStatus(row.status).is_terminal:
                jobs.request_cancel(session, row)
                cancelled += 1
    target = back if back.startswith("/jobs") and not back.startswith("//") else "/jobs"
    target = re.sub(r"[?&]cancelled=\d*", "", target)
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}cancelled={cancelled}", status_code=303)
