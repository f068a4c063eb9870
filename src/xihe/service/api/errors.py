"""Turn every error into RFC 9457 problem JSON; a bad request is a 4xx with a useful detail, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from xihe.errors import XiheError
from xihe.service.api.deps import AuthThrottled
from xihe.service.db import WriteLockTimeout
from xihe.service.problems import Problem

log = logging.getLogger("xihe.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.to_dict(), status_code=problem.status, headers=problem.headers,
                        media_type=PROBLEM_MEDIA_TYPE)


def _describe(error: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body",))
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    return f"{location}: {message}" if location else message


def validation_problem(exc: RequestValidationError) -> Problem:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        ctx = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {}) or {}
        return Problem(400, "bad_json", f"the body is not valid JSON: {ctx.get('error', 'parse error')}",
                       stage="validate")
    if any(e.get("type") == "model_attributes_type" or (e.get("loc") == ("body",) and e.get("type") in
                                                         ("dict_type", "model_type")) for e in errors):
        return Problem(422, "invalid_request", "the body must be a JSON object", stage="validate")
    details = "; ".join(_describe(e) for e in errors[:10])
    cleaned = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")), "type": str(e.get("type"))}
               for e in errors[:50]]
    return Problem(422, "invalid_request", details or "invalid request", stage="validate",
                   extra={"errors": cleaned})


# How long a client should wait before retrying after a database outage or a full disk (``Retry-After``).
DATABASE_RETRY_AFTER_S = 2
STORAGE_RETRY_AFTER_S = 30
_SQLITE_FULL = 13  # SQLITE_FULL: "database or disk is full"
_SQLITE_BUSY = 5  # SQLITE_BUSY: "database is locked" after the busy wait (another program held the write lock)
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full
_PG_LOCK_TIMEOUT = "55P03"  # SQLSTATE lock_not_available: lock_timeout passed (see ``Database``)
# SQLSTATEs of a session the server ended or cannot serve: connection exceptions (08), operator intervention such as
# a restart (57P), the idle-in-transaction timeout (25P03, see ``Database``), and too many connections (53300).
_PG_UNAVAILABLE = ("08", "57P", "25P03", "53300")


def storage_full(error: BaseException) -> bool:
    """Did the database refuse a write for want of disk space (SQLite's SQLITE_FULL, PostgreSQL's disk_full)?"""
    original = getattr(error, "orig", error)
    return (getattr(original, "sqlite_errorcode", None) == _SQLITE_FULL
            or getattr(original, "sqlstate", None) == _PG_DISK_FULL)


def database_problem(error: sa_exc.SQLAlchemyError, write_wait_seconds: float = 0.0) -> Problem | None:
    """The answer to a request the database could not serve for reasons of its own (restarting, unreachable, out
    of connections or of disk, a lock held past ``write_wait_seconds`` by a frozen process): a 503, or a 507 for a
    full disk, with ``Retry-After``, never the catch-all 500.

    A 503 is what clients retry (the SDK does, and a submit's Idempotency-Key makes the retry safe); the request
    changed nothing, since its transaction did not commit. ``None``: an error of the program (a bad statement, a
    constraint), which stays a 500 with its trace in the log.
    """
    if storage_full(error):
        return Problem(507, "insufficient_storage", "the server's storage is full; nothing was stored, try again "
                       "later", headers={"Retry-After": str(STORAGE_RETRY_AFTER_S)})
    original = getattr(error, "orig", None)
    sqlstate = str(getattr(original, "sqlstate", None) or "")
    if (isinstance(error, WriteLockTimeout) or sqlstate == _PG_LOCK_TIMEOUT
            or getattr(original, "sqlite_errorcode", None) == _SQLITE_BUSY):
        waited = error.waited if isinstance(error, WriteLockTimeout) else write_wait_seconds
        return Problem(503, "database_busy", f"another process held the database lock this request needs for more "
                       f"than {waited:g} s, the server's limit (write_wait_seconds); nothing was changed, try again "
                       "shortly", headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
                       extra={"limit": "write_wait_seconds", "allowed": waited})
    unavailable = (isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)
                   or (isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated)
                   or (bool(sqlstate) and sqlstate.startswith(_PG_UNAVAILABLE)))
    if unavailable:
        return Problem(503, "database_unavailable", "the database is unavailable; nothing was changed, try again "
                       "shortly", headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(Problem(exc.status_code, code, detail, headers=dict(exc.headers or {})))

    @app.exception_handler(AuthThrottled)
    async def _throttled(_request: Request, exc: AuthThrottled) -> JSONResponse:
        return problem_response(exc.problem())

    @app.exception_handler(XiheError)
    async def _xihe(_request: Request, exc: XiheError) -> JSONResponse:
        return problem_response(Problem(422, type(exc).__name__.lower(), str(exc), stage=exc.stage))

    @app.exception_handler(sa_exc.SQLAlchemyError)
    async def _database(request: Request, exc: sa_exc.SQLAlchemyError) -> JSONResponse:
        problem = database_problem(exc, request.app.state.settings.write_wait_seconds)
        if problem is None:
            return await _unexpected(request, exc)
        log.warning("%s %s: %s (%s)", request.method, request.url.path, problem.detail, str(exc).splitlines()[0])
        return problem_response(problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "internal", "internal server error; the operator's log has details"))
