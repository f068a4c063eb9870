"""Turn every error into RFC 9457 problem JSON; a bad request is a 4xx with a useful detail, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from xihe.errors import XiheError
from xihe.service.api.deps import AuthThrottled
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem(500, "internal", "internal server error; the operator's log has details"))
