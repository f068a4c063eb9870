"""Typed exceptions for what the Xihe server answers, built from its RFC 9457 problem JSON.

The server answers every error as ``{type, title, status, detail, code, stage}``. The client turns each into one
exception class chosen by HTTP status (and ``code`` where it is more precise), carrying the server's ``detail`` as
its message, so callers write ``except NotFoundError`` instead of inspecting status codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xihe import errors as core_errors

NOT_LOGGED_IN = "not logged in: run `xihe login`, or set XIHE_TOKEN (in Python: Client(url, token=...))"


class APIError(core_errors.XiheError):
    """The server refused or failed a request; ``detail`` is the server's own explanation."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        stage: str | None = None,
        title: str | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, stage=stage)
        self.detail = detail
        self.status = status
        self.code = code
        self.title = title
        self.problem = dict(problem or {})

    def __str__(self) -> str:
        prefix = f"[{self.status}] " if self.status else ""
        return f"{prefix}{self.detail}"


class TransportError(APIError):
    """The server could not be reached (connection refused, reset, timed out) even after retries."""


class AuthenticationError(APIError):
    """The token is missing, unknown, revoked or expired (HTTP 401)."""


class NotLoggedInError(AuthenticationError):
    """No API token is configured (no ``token=``, no ``XIHE_TOKEN``, no ``xihe login``), so nothing was sent."""

    def __init__(self) -> None:
        super().__init__(NOT_LOGGED_IN, status=None)


class PermissionDeniedError(APIError):
    """The token is valid but may not do this (HTTP 403)."""


class QuotaError(PermissionDeniedError):
    """A quota (shots, jobs per day, qubits) is exhausted (HTTP 403 with a quota code)."""


class NotFoundError(APIError):
    """No such job or backend, or not one this user may see (HTTP 404)."""


class ConflictError(APIError):
    """The request conflicts with the server's state (HTTP 409): the backend is in maintenance or offline, or an
    ``Idempotency-Key`` was reused with a different body.

    Cancelling a job that has already finished is not a conflict: the server answers 200 with the job as it is
    (DONE, FAILED or CANCELLED), so :meth:`xihe.client.Job.cancel` returns that snapshot and raises nothing.
    """


class ValidationError(APIError, core_errors.ValidationError):
    """The circuit or request is invalid for the backend (HTTP 400/422); the detail names the culprit."""


class RateLimitError(APIError):
    """Too many requests (HTTP 429); ``retry_after`` is the server's advice in seconds."""

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """The server failed (HTTP 5xx)."""


class JobFailedError(APIError):
    """A job ended FAILED; ``stage`` says where (compile, execute...) and ``detail`` why."""


class JobCancelledError(APIError):
    """The result of a CANCELLED job was asked for."""


class JobTimeoutError(APIError, TimeoutError):
    """``Job.wait`` gave up before the job finished; the job itself goes on."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    429: RateLimitError,
}


def error_from_problem(status: int, problem: Mapping[str, Any] | None, retry_after: float | None = None) -> APIError:
    """The typed exception for an HTTP error answer (``problem`` is its parsed JSON body, if any)."""
    problem = problem or {}
    raw_detail = problem.get("detail")
    if isinstance(raw_detail, list):  # FastAPI's own request validation errors
        detail = "; ".join(_describe_pydantic_error(item) for item in raw_detail)
    else:
        detail = str(raw_detail or problem.get("title") or f"HTTP {status}")
    code = problem.get("code")
    code_text = str(code) if code is not None else None
    if status == 403 and code_text and "quota" in code_text.lower():
        cls: type[APIError] = QuotaError
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, APIError)
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code_text,
        "stage": problem.get("stage"),
        "title": problem.get("title"),
        "problem": problem,
    }
    if cls is RateLimitError:
        return RateLimitError(detail, retry_after=retry_after, **kwargs)
    return cls(detail, **kwargs)


def _describe_pydantic_error(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", ""))
