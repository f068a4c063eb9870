"""Pure-ASGI middleware: refuse oversized bodies (413 problem JSON), count requests for /metrics, and put the
security headers on every response."""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xihe.service.metrics import ServiceMetrics
from xihe.service.problems import Problem


async def _send_problem(send: Send, problem: Problem) -> None:
    body = json.dumps(problem.to_dict()).encode()
    await send({"type": "http.response.start", "status": problem.status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """A body larger than ``max_bytes`` is a 413 before any handler reads it (declared or streamed length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> Problem:
        return Problem(413, "body_too_large", f"request body exceeds {self.max_bytes} bytes", stage="validate")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_problem(send, Problem(400, "bad_request", "invalid Content-Length"))
                    return
        if declared is not None:
            if declared > self.max_bytes:
                await _send_problem(send, self._too_large())
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read the body here, up to the limit, then hand it on.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_problem(send, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: list[int] = [500]

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            method: Any = scope.get("method", "GET")
            self.metrics.requests.labels(method=method, status=str(status[0])).inc()
            self.metrics.latency.labels(method=method).observe(time.perf_counter() - start)


# Every response: API JSON, problem JSON, static files, /metrics, the legacy protocols. A page that needs more
# (the dashboard, the vendored Swagger UI and ReDoc, which run their own scripts) sets its own policy, which wins.
DEFAULT_SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
# HTTPS only (a browser ignores it on plain HTTP, and a plain-HTTP development server must stay reachable).
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeadersMiddleware:
    """Adds :data:`DEFAULT_SECURITY_HEADERS` to every response that lacks them, and HSTS when the request came
    over HTTPS (the scheme after the trusted-proxy rewrite, so behind a TLS-terminating ingress too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = (*DEFAULT_SECURITY_HEADERS, HSTS) if scope.get("scheme") == "https" else DEFAULT_SECURITY_HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
