"""Errors the API answers as RFC 9457 problem JSON: ``{type, title, status, detail, code, stage}``.

Service code raises a :class:`Problem` (or lets a :class:`~xihe.errors.XiheError` through); the handlers in
:mod:`xihe.service.api.errors` turn both into responses. Nothing a user sends may become a 500.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel


class Problem(Exception):
    """An HTTP error with a machine-readable ``code`` and the pipeline ``stage`` where it arose."""

    def __init__(self, status: int, code: str, detail: str, *, stage: str | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.stage = stage
        self.headers = headers or {}
        self.extra = extra or {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt whole after a pickle round trip (a refusal made in a parse process, xihe.service.parse_pool);
        # Exception's own pickle would call Problem(detail) alone.
        return (_rebuild, (self.status, self.code, self.detail, self.stage, self.headers, self.extra))

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://xihe.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "stage": self.stage,
        }
        body.update(self.extra)
        return body


def _rebuild(status: int, code: str, detail: str, stage: str | None, headers: dict[str, str],
             extra: dict[str, Any]) -> Problem:
    return Problem(status, code, detail, stage=stage, headers=headers, extra=extra)


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, as every 4xx/5xx of the native API answers (media type
    ``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    stage: str | None = None


_DESCRIPTIONS = {
    400: "Bad QASM or JSON", 401: "Missing, wrong, expired or revoked token", 403: "Quota exhausted or not allowed",
    404: "Not found (or not yours)", 409: "Conflict (Idempotency-Key reused, backend unavailable)",
    413: "Body too large", 422: "Invalid request, or a circuit the backend cannot take", 429: "Rate limited",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem answers."""
    return {code: {"model": ProblemDetail, "description": _DESCRIPTIONS.get(code, "Error"),
                   "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}}
            for code in codes}


def not_found(what: str, ident: str) -> Problem:
    return Problem(404, f"{what}_not_found", f"no {what} {ident!r}")


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="xihe"'})
