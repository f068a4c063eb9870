"""FastAPI dependencies: settings, database, device catalog, the authenticated user, the rate limiter."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from xihe.service.catalog import DeviceCatalog
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.models import User
from xihe.service.problems import Problem, unauthorized
from xihe.service.repositories import users
from xihe.service.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API token from `xihe users add` or POST /api/v1/tokens.")


# Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool, and a
# thread hop per trivial lookup costs more than the lookup. The token check is a sub-millisecond indexed read.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_database(request: Request) -> Database:
    return request.app.state.database  # type: ignore[no-any-return]


async def get_catalog(request: Request) -> DeviceCatalog:
    return request.app.state.catalog  # type: ignore[no-any-return]


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


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> User:
    if credentials is None or not credentials.credentials:
        raise unauthorized("missing bearer token (Authorization: Bearer <token>)")
    database: Database = request.app.state.database
    with database.read() as session:
        found = users.authenticate_token(session, credentials.credentials)
    if found is None:
        raise unauthorized("invalid, expired or revoked token")
    user, token = found
    touched: dict[str, float] = request.app.state.token_touch
    now = time.monotonic()
    if now - touched.get(token.id, -math.inf) > 60:
        touched[token.id] = now
        with database.write() as session:
            row = session.get(type(token), token.id)
            if row is not None:
                row.last_used_at = utcnow()
    return user


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
    """The authenticated user of a native API request, after the rate limit (429 with Retry-After)."""
    user = authenticate(request, credentials)
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
    watcher = request.app.state.watcher
    while not await finished():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        if await watcher.wait_finished(job_id, min(remaining, 5.0)):
            return


async def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != "admin":
        raise Problem(403, "forbidden", "this needs an admin account")
    return user


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
CatalogDep = Annotated[DeviceCatalog, Depends(get_catalog)]
UserDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(require_admin)]
