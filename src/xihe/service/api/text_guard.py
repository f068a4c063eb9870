"""Refuse control characters at the edge (422 problem JSON), before any handler, schema or database sees them.

Why here, in one pure-ASGI middleware, and not per field: the strings of a request reach the code by many roads
(path parameters, query parameters, JSON bodies read by pydantic or by hand, the legacy Quafu forms), and a NUL
that slips through one of them is a 500 on PostgreSQL (``psycopg`` refuses NUL in text) and a dropped keep-alive
connection. One check of every path, query and body string covers every protocol, today's and tomorrow's.

The rules: the path and the query string carry no control character at all (C0, DEL); a JSON or form body carries
no control character other than tab, line feed and carriage return (program text needs those). Name-like fields
are stricter still: see :mod:`xihe.service.text` (no line breaks either).
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xihe.service.problems import Problem
from xihe.service.text import CONTROL, CONTROL_IN_TEXT

# A JSON escape of a control character: ``\u0000``-``\u001f`` or ``\u007f``, preceded by an even number of
# backslashes (an odd run would make the backslash itself the escaped character).
_JSON_ESCAPE = re.compile(rb"(\\+)u00([01][0-9a-fA-F]|7[fF])")
_ALLOWED_ESCAPES = {0x09, 0x0A, 0x0D}
_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _problem(where: str) -> Problem:
    return Problem(422, "invalid_request", f"{where}: control characters (such as NUL) are not allowed",
                   stage="validate")


def _json_has_control(body: bytes) -> bool:
    if _RAW_CONTROL.search(body):
        return True
    for match in _JSON_ESCAPE.finditer(body):
        if len(match.group(1)) % 2 == 1 and int(match.group(2), 16) not in _ALLOWED_ESCAPES:
            return True
    return False


# A control character other than tab, LF and CR in a URL-encoded form, raw or percent-encoded: what
# ``CONTROL_IN_TEXT`` finds in the form's decoded keys and values (a percent escape decodes to that one byte;
# ``+`` is a space; bytes from 0x80 up never decode to a C0 control or DEL), found by one scan of the raw bytes in
# C. Decoding the form to look (``parse_qsl``, pure Python) held the event loop about 40 ms per 190 KB program on
# the loaded machine, and the legacy route then decoded it a second time (issue 18).
_FORM_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|%(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")


def _form_has_control(body: bytes) -> bool:
    return _FORM_CONTROL.search(body) is not None


def _form_has_control_decoded(body: bytes) -> bool:
    """The rule as written (decode the form, look at each key and value): the reference the raw scan is tested
    against."""
    text = body.decode("latin-1")
    return any(CONTROL_IN_TEXT.search(key) or CONTROL_IN_TEXT.search(value)
               for key, value in parse_qsl(text, keep_blank_values=True))


def request_problem(path: str, query: bytes) -> Problem | None:
    """The problem with a request's path and query string, or None."""
    if CONTROL.search(path):
        return _problem("path")
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if CONTROL.search(key) or CONTROL.search(value):
            return _problem(f"query parameter {key[:40]!r}" if not CONTROL.search(key) else "query")
    return None


def body_problem(content_type: str, body: bytes) -> Problem | None:
    """The problem with a JSON (or untyped) or form body, or None (other media types are the handler's)."""
    if ("json" in content_type or not content_type) and _json_has_control(body):
        return _problem("body")
    if "x-www-form-urlencoded" in content_type and _form_has_control(body):
        return _problem("form")
    return None


async def _send(send: Send, problem: Problem) -> None:
    body = json.dumps(problem.to_dict()).encode()
    await send({"type": "http.response.start", "status": problem.status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class ControlCharacterMiddleware:
    """Answers 422 to a request whose path, query or JSON/form body holds a control character (see module doc).

    Runs inside :class:`BodyLimitMiddleware`, so the body it reads is already bounded by ``max_body_bytes``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = request_problem(scope.get("path", ""), scope.get("query_string", b""))
        if problem is not None:
            await _send(send, problem)
            return
        content_type = ""
        for name, value in scope.get("headers", []):
            if name == b"content-type":
                content_type = value.decode("latin-1").lower()
        # No content type: quafusqc's ``run/`` sends its JSON so; judged as JSON.
        if content_type and "json" not in content_type and "x-www-form-urlencoded" not in content_type:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"".join(chunks), receive, message), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = body_problem(content_type, body)
        if problem is not None:
            await _send(send, problem)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive, last: Message | None = None) -> Receive:
    """A ``receive`` that gives the buffered body once (then ``last``, if any), then defers to the real one."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if last is not None:
        pending = [last]

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
