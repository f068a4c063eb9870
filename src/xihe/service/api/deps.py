"""FastAPI dependencies: settings, database, device catalog, the authenticated user, the rate limiter."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from xihe.service.catalog import DeviceCatalog
from xihe.service.clock import utcnow
from xihe.service.db import Database, WriteLockTimeout
from xihe.service.models import User
from xihe.service.parse_pool import ParsePool
from xihe.service.problems import Problem, ProblemDetail, problem_responses, unauthorized
from xihe.service.repositories import users
from xihe.service.settings import Settings
from xihe.service.watch import ChangeWatcher

RECHECK_TOKEN_SECONDS = 1.0
bearer = HTTPBearer(auto_error=False, description="An API token from `xihe users add` or POST /api/v1/tokens.")


# Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, and a
# thread hop per trivial lookup costs more than the lookup. The token check is a sub-millisecond indexed read.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_database(request: Request) -> Database:
    return request.app.state.database  # type: ignore[no-any-return]


async def get_catalog(request: Request) -> DeviceCatalog:
    return request.app.state.catalog  # type: ignore[no-any-return]


def parse_pool(request: Request) -> ParsePool:
    """The app's pool of parse processes (every route that reads a submitted program goes through it)."""
    return request.app.state.parse_pool  # type: ignore[no-any-return]


class RateLimiter:
    """Token buckets per user (in this API process): ``rate`` requests/s sustained, ``burst`` at once."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, user_id: int, rate: float, burst: int) -> float:
        """Take one request; 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(user_id, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[user_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[user_id] = (tokens, now)
            return (1.0 - tokens) / rate if rate > 0 else 3600.0


class AuthThrottled(Exception):
    """Too many failed authentications from one client address: HTTP 429 with ``Retry-After`` in every protocol.

    Deliberately not a :class:`Problem`: the protocol adapters (legacy Quafu, quafusqc) turn every Problem into
    their own error shape, and a throttled guesser must get a 429 whatever route it tries."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed authentications from this address; retry in {retry_after} s")
        self.retry_after = retry_after

    def problem(self) -> Problem:
        return Problem(429, "too_many_failed_authentications", str(self),
                       headers={"Retry-After": str(self.retry_after)})


class FailureLimiter:
    """Failed authentications per client address (in this API process): a bucket of ``burst`` refilled at
    ``per_minute``. Only failures take from it, so a client with a good token is never slowed by it."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, address: str, per_minute: float, burst: int, now: float) -> float:
        tokens, last = self._buckets.get(address, (float(burst), now))
        return min(float(burst), tokens + (now - last) * per_minute / 60.0)

    def wait(self, address: str, per_minute: float, burst: int) -> float:
        """0 if ``address`` may try a token now, else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            tokens = self._level(address, per_minute, burst, now)
        if tokens >= 1.0:
            return 0.0
        return (1.0 - tokens) * 60.0 / per_minute if per_minute > 0 else 3600.0

    def fail(self, address: str, per_minute: float, burst: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > 100_000:  # a flood of addresses: forget the full (idle) buckets
                self._buckets = {a: v for a, v in self._buckets.items() if v[0] < burst}
            self._buckets[address] = (max(0.0, self._level(address, per_minute, burst, now) - 1.0), now)


def trusted_proxies(settings: Settings) -> list[str]:
    """The ``trusted_proxies`` setting as a list of addresses/networks (uvicorn's ProxyHeadersMiddleware form)."""
    return [part.strip() for part in settings.trusted_proxies.split(",") if part.strip()]


def client_address(request: Request) -> str:
    """The client's address; behind a proxy listed in ``trusted_proxies`` it is the forwarded one (the proxy
    headers middleware rewrites the connection's client, see :func:`xihe.app.create_app`)."""
    return request.client.host if request.client else "unknown"


def check_failures(request: Request) -> None:
    """Raise :class:`AuthThrottled` if this client address has used up its failed authentications."""
    settings: Settings = request.app.state.settings
    limiter: FailureLimiter = request.app.state.auth_failures
    wait = limiter.wait(client_address(request), settings.auth_failures_per_minute,
                        max(1, settings.auth_failure_burst))
    if wait > 0:
        raise AuthThrottled(max(1, math.ceil(wait)))


def record_failure(request: Request) -> None:
    """Count one failed authentication (a missing, unknown, revoked or expired token) against the address."""
    settings: Settings = request.app.state.settings
    limiter: FailureLimiter = request.app.state.auth_failures
    limiter.fail(client_address(request), settings.auth_failures_per_minute, max(1, settings.auth_failure_burst))


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> User:
    """The user of a token, for every protocol (native, legacy Quafu, quafu-sdk, quafusqc, long polls).

    A client address with too many recent failures gets :class:`AuthThrottled` before its token is looked at."""
    check_failures(request)
    if credentials is None or not credentials.credentials:
        record_failure(request)
        raise unauthorized("missing bearer token (Authorization: Bearer <token>)")
    database: Database = request.app.state.database
    with database.read_connection() as connection:  # no ORM session: the lookup builds its two objects itself
        found = users.authenticate_token(connection, credentials.credentials)
    if found is None:
        record_failure(request)
        raise unauthorized("invalid, expired or revoked token")
    user, token = found
    request.state.token_id = token.id
    request.state.token_checked_at = time.monotonic()  # long polls re-check the token a second after this
    touched: dict[str, float] = request.app.state.token_touch
    now = time.monotonic()
    if now - touched.get(token.id, -math.inf) > 60:
        touched[token.id] = now
        try:
            # One try for the write lock: a stamp is not worth a wait, and a process frozen while it holds the
            # lock must not hold up every authenticated read (issue 18).
            with database.write(wait=0.0) as session:
                row = session.get(type(token), token.id)
                if row is not None:
                    row.last_used_at = utcnow()
        except WriteLockTimeout:
            touched.pop(token.id, None)  # stamped by a later request
    return user


def _token_still_valid(request: Request) -> bool:
    """Whether the token that opened this request is still live (not revoked, not expired, its user active)."""
    token_id = getattr(request.state, "token_id", None)
    if token_id is None:  # not a token-authenticated request (a web session): nothing to re-check here
        return True
    with request.app.state.database.read() as session:
        return users.token_is_live(session, token_id)


def rate_limit(request: Request, user: User) -> None:
    """Take one request from ``user``'s bucket, or raise 429 with Retry-After: one rule for every protocol."""
    settings: Settings = request.app.state.settings
    if user.rate_limit_per_second is not None:  # a per-user limit: a burst of two seconds' worth
        rate, burst = user.rate_limit_per_second, max(1, math.ceil(2 * user.rate_limit_per_second))
    else:
        rate, burst = settings.rate_limit_per_second, max(1, settings.rate_limit_burst)
    wait = request.app.state.rate_limiter.take(user.id, rate, burst)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise Problem(429, "rate_limited", f"too many requests; retry in {retry_after} s",
                      headers={"Retry-After": str(retry_after)})


async def current_user(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    """The authenticated user of a native API request, after the rate limit (429 with Retry-After).

    The token is read on the event loop where reads are local (SQLite: well under a millisecond, less than a
    thread hop), on the thread pool on PostgreSQL, where it is a network round trip that held every other answer
    (``/health`` 103-104 ms while a client read 40-62 result pages, issue 18)."""
    database: Database = request.app.state.database
    if database.is_sqlite:
        user = authenticate(request, credentials)
    else:
        user = await run_in_threadpool(authenticate, request, credentials)
    rate_limit(request, user)
    return user


def backend_parallelism(request: Request, backend: str) -> int:
    """How many of ``backend``'s jobs run at once on this deployment (for queue estimates)."""
    catalog: DeviceCatalog = request.app.state.catalog
    return catalog.parallelism(backend, request.app.state.settings.resolved_workers())


async def wait_until_finished(request: Request, job_id: str, seconds: float,
                              finished: Callable[[], Awaitable[bool]]) -> None:
    """The long poll every protocol uses: return once ``finished()`` or after ``seconds`` (at most the server's
    ``max_wait_seconds``); the watcher wakes the wait when the job finishes (see :mod:`xihe.service.watch`)."""
    settings: Settings = request.app.state.settings
    deadline = time.monotonic() + min(seconds, float(settings.max_wait_seconds))
    watcher: ChangeWatcher = request.app.state.watcher
    # The token is checked again every second: a revoked token stops the poll (401) within about a second. The
    # first re-check is due a second after authentication, not at once (the token was read milliseconds ago).
    recheck_at = getattr(request.state, "token_checked_at", -math.inf) + RECHECK_TOKEN_SECONDS
    with watcher.watching(job_id) as watch:  # registered before the first status read: no finish goes unseen
        while not await finished():
            now = time.monotonic()
            if now >= deadline:
                return
            if now >= recheck_at:
                if not await run_in_threadpool(_token_still_valid, request):
                    raise unauthorized("the token was revoked or expired during the wait")
                now = time.monotonic()
                recheck_at = now + RECHECK_TOKEN_SECONDS
            if await watch.wait(max(0.0, min(deadline, recheck_at) - now)):
                return


async def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise Problem(403, "forbidden", "this needs an admin account")
    return user


def _in_networks(address: str, networks: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for part in (p.strip() for p in networks.split(",")):
        if part == "*":
            return True
        try:
            if part and ip in ipaddress.ip_network(part, strict=False):
                return True
        except ValueError:
            continue
    return False


async def metrics_reader(request: Request,
                         credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """Who may read ``/metrics``: a client in ``metrics_networks`` (a scraper beside the server), else an admin's
    token (401 without a token, 403 for a non-admin one); failures count like any other authentication."""
    settings: Settings = request.app.state.settings
    if _in_networks(client_address(request), settings.metrics_networks):
        return
    user = await run_in_threadpool(authenticate, request, credentials)
    if user.role != "admin":
        raise Problem(403, "forbidden", "metrics are for admins (or a client in XIHE_METRICS_NETWORKS)")


# Protocols that read their token by hand (a header of their own): every operation under these prefixes.
_HAND_AUTHENTICATED = ("/qbackend/", "/task/")
AUTH_CODES = (401, 403, 429)


def document_auth_responses(app: FastAPI) -> None:
    """Document the 401/403/429 answers of every authenticated operation in the OpenAPI: those that declare the
    bearer scheme, and the hand-authenticated legacy protocols. One rule applied to the generated document, so a
    new route cannot forget it (FastAPI documents neither its security dependencies' errors nor the 429)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        for path, operations in spec.get("paths", {}).items():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                if operation.get("security") or path.startswith(_HAND_AUTHENTICATED):
                    for code, entry in problem_responses(*AUTH_CODES).items():
                        operation["responses"].setdefault(str(code), {
                            "description": entry["description"], "content": entry["content"]})
        spec.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "ProblemDetail", ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}"))
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
CatalogDep = Annotated[DeviceCatalog, Depends(get_catalog)]
UserDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(require_admin)]
MetricsReaderDep = Annotated[None, Depends(metrics_reader)]
