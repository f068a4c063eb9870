"""Pure-ASGI middleware: refuse oversized bodies (413 problem JSON) and count requests for /metrics."""

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
