"""``create_app(settings)``: the one ASGI app -- native API, legacy Quafu routes, web pages -- over one database.

Nothing happens at import: the database engine, the device catalog and the metrics registry are built inside
``create_app`` from the settings handed in, so tests and several apps in one process never share state.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from xihe.service.api.deps import FailureLimiter, RateLimiter, document_auth_responses, trusted_proxies
from xihe.service.api.errors import install_error_handlers
from xihe.service.api.health_probe import DatabaseProbe
from xihe.service.api.middleware import BodyLimitMiddleware, MetricsMiddleware, SecurityHeadersMiddleware
from xihe.service.api.routes import agents, backends, estimate, health, jobs, sample, tokens
from xihe.service.api.text_guard import ControlCharacterMiddleware
from xihe.service.catalog import DeviceCatalog
from xihe.service.db import Database
from xihe.service.metrics import ServiceMetrics
from xihe.service.parse_pool import ParsePool
from xihe.service.settings import Settings
from xihe.service.watch import ChangeWatcher
from xihe.version import __version__

API_PREFIX = "/api/v1"


def _optional(module: str) -> Any | None:
    """A module of another layer that may not have landed yet (web pages, legacy Quafu routes)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise


def _stable_operation_ids(app: FastAPI) -> None:
    for route in app.routes:
        if isinstance(route, APIRoute) and route.operation_id is None:
            route.operation_id = route.name


def create_app(settings: Settings | None = None, *, database: Database | None = None,
               catalog: DeviceCatalog | None = None) -> FastAPI:
    settings = settings or Settings()
    database = database or Database.from_settings(settings)
    catalog = catalog or DeviceCatalog()
    metrics = ServiceMetrics(database)
    watcher = ChangeWatcher(database)
    parse_pool = ParsePool(settings, catalog)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await watcher.start()
        parse_pool.start()
        try:
            yield
        finally:
            parse_pool.close()
            await watcher.stop()
            probe.close()
            database.dispose()

    app = FastAPI(title="Xihe", version=__version__, lifespan=lifespan,
                  description="Xihe: a self-hostable quantum computing cloud. Native API under /api/v1.")
    app.state.settings = settings
    app.state.database = database
    app.state.catalog = catalog
    app.state.metrics = metrics
    app.state.watcher = watcher
    app.state.parse_pool = parse_pool
    app.state.rate_limiter = RateLimiter()
    app.state.auth_failures = FailureLimiter()
    app.state.token_touch = {}
    app.state.health_probe = probe = DatabaseProbe(database)
    install_error_handlers(app)
    sdk = _optional("xihe.service.api.routes.quafu_sdk")
    if sdk is not None:  # first: it hands POST /jobs and /jobs/{id}/cancel that are not its own to jobs' handlers
        app.include_router(sdk.shared)
    for module in (jobs, estimate, sample, backends, tokens, health, agents):
        app.include_router(module.router, prefix=API_PREFIX)
    if sdk is not None:  # its other paths are not native ones: after them, native requests never walk them
        app.include_router(sdk.router)
    # Aliases at the root for load balancers and Prometheus' default path.
    app.add_api_route("/health", health.health, include_in_schema=False)
    app.add_api_route("/metrics", health.metrics, include_in_schema=False)
    quafu = _optional("xihe.service.api.routes.quafu")
    if quafu is not None:
        app.include_router(quafu.router)
    sqc = _optional("xihe.service.api.routes.quafu_sqc")
    if sqc is not None:
        app.include_router(sqc.router)
    web = _optional("xihe.web")
    if web is not None and hasattr(web, "mount"):
        web.mount(app)
    _stable_operation_ids(app)
    document_auth_responses(app)
    app.add_middleware(ControlCharacterMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost: the client address and scheme every layer sees are the forwarded ones only from a trusted proxy
    # (``trusted_proxies``; uvicorn's own proxy handling is off, see ``xihe serve``).
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies(settings))
    return app
