"""HTTP calls to the native API with timeouts, retries and error mapping, in a sync and an async flavour.

Retry policy (one policy object for both flavours): a request is retried, with exponential backoff, when the
connection fails or times out, and on HTTP 429/502/503/504 (429 and 503 honour ``Retry-After``). Every call the
client makes is safe to repeat: reads are idempotent, cancelling twice is harmless, and a submit carries an
``Idempotency-Key`` so that the server answers a repeated submit with the job it already created.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from xihe.client.errors import APIError, NotLoggedInError, RateLimitError, TransportError, error_from_problem
from xihe.version import __version__

API_PREFIX = "/api/v1"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_RETRYABLE_EXCEPTIONS = (httpx.TransportError,)  # connect/read/write errors, timeouts, dropped connections


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; the delay doubles from ``backoff`` up to ``max_backoff``."""

    max_attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(30.0, connect=10.0)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def base_headers(token: str | None) -> dict[str, str]:
    headers = {"User-Agent": f"xihe-client/{__version__}", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def decode_response(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer, or the typed :class:`APIError` for any other."""
    if response.is_success:
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {"detail": response.text.strip() or response.reason_phrase}
    if not isinstance(problem, Mapping):
        problem = {"detail": str(problem)}
    raise error_from_problem(response.status_code, problem, parse_retry_after(response.headers.get("Retry-After")))


def _require_token(token: str | None) -> None:
    """Every native API call needs a token: without one, say how to log in instead of sending a doomed request."""
    if not token:
        raise NotLoggedInError()


def _transport_error(exc: Exception, method: str, url: str, attempts: int) -> TransportError:
    return TransportError(f"{method} {url} failed after {attempts} attempt(s): {type(exc).__name__}: {exc}")


def _http_options(base_url: str, token: str | None, timeout: httpx.Timeout | float | None) -> dict[str, Any]:
    """The options both flavours give their httpx client: base URL, headers and timeout."""
    return {
        "base_url": base_url,
        "headers": base_headers(token),
        "timeout": timeout if timeout is not None else default_timeout(),
    }


def _status_retry_delay(
    retry: RetryPolicy, attempt: int, response: httpx.Response, exc: APIError
) -> float | None:
    """Seconds to wait before retrying an error answer, or None when it is final (re-raise it): not a retried
    status, or the last attempt. A rate-limit error's own ``retry_after`` wins over the header."""
    if response.status_code not in RETRY_STATUSES or attempt == retry.max_attempts:
        return None
    retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
    if retry_after is None:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return retry.delay(attempt, retry_after)


@dataclass(frozen=True)
class Settled:
    """What one attempt came to: the decoded body (``retry_in`` None), or wait ``retry_in`` seconds and try again."""

    body: Any = None
    retry_in: float | None = None


def settle(retry: RetryPolicy, attempt: int, method: str, path: str,
           outcome: httpx.Response | httpx.TransportError) -> Settled:
    """The retry policy applied to one attempt's outcome, with no I/O (both flavours' loops call this).

    Raises the typed error when the outcome is final and failed: :class:`TransportError` after the last attempt
    that could not connect, or the answer's :class:`APIError`.
    """
    if isinstance(outcome, httpx.TransportError):
        if attempt == retry.max_attempts:
            raise _transport_error(outcome, method, path, attempt) from outcome
        return Settled(retry_in=retry.delay(attempt))
    try:
        return Settled(body=decode_response(outcome))
    except APIError as exc:
        delay = _status_retry_delay(retry, attempt, outcome, exc)
        if delay is None:
            raise
        return Settled(retry_in=delay)


class SyncTransport:
    """Blocking requests against one server through one pooled ``httpx.Client``."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._token = token
        self._http = httpx.Client(**_http_options(base_url, token, timeout), transport=transport)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> Any:
        _require_token(self._token)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        for attempt in range(1, self.retry.max_attempts + 1):
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = self._http.request(method, path, json=json, params=params, headers=headers, **extra)
            except _RETRYABLE_EXCEPTIONS as exc:
                outcome = exc
            settled = settle(self.retry, attempt, method, path, outcome)
            if settled.retry_in is None:
                return settled.body
            self._sleep(settled.retry_in)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    def close(self) -> None:
        self._http.close()


class AsyncTransport:
    """The same requests and policy as :class:`SyncTransport`, over ``httpx.AsyncClient``."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self._token = token
        self._http = httpx.AsyncClient(**_http_options(base_url, token, timeout), transport=transport)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> Any:
        _require_token(self._token)
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        for attempt in range(1, self.retry.max_attempts + 1):
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await self._http.request(method, path, json=json, params=params, headers=headers, **extra)
            except _RETRYABLE_EXCEPTIONS as exc:
                outcome = exc
            settled = settle(self.retry, attempt, method, path, outcome)
            if settled.retry_in is None:
                return settled.body
            await asyncio.sleep(settled.retry_in)
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def aclose(self) -> None:
        await self._http.aclose()
