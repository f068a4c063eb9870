"""What every page needs: the logged-in user (from the session cookie), CSRF checks, rendering, page errors.

Pages never raise the API's problem JSON: a missing login is a redirect to ``/login``, a missing or foreign object
a 404 page, a failed CSRF check a 403 page. JSON helpers of the pages (validation, status polling) answer 401 JSON
instead of redirecting.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from xihe.service.catalog import DeviceCatalog
from xihe.service.db import Database
from xihe.service.repositories import users, web_sessions
from xihe.service.settings import Settings
from xihe.version import __version__
from xihe.web.config import SigningKey, WebSettings
from xihe.web.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SessionData,
    SessionSigner,
    csrf_matches,
    new_nonce,
    new_session_id,
    password_tag,
)
from xihe.web.throttle import LoginThrottle

TEMPLATES_DIR = Path(__file__).with_name("templates")

# Pages load only their own scripts and styles; SVG is inline markup, which the policy allows.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebUser:
    """The logged-in user as pages see it (a plain value, detached from any database session)."""

    id: int
    name: str
    role: str
    csrf: str
    session_id: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class WebState:
    """Built once by :func:`xihe.web.mount`: web settings, the session signer, the templates."""

    def __init__(self, settings: Settings, web_settings: WebSettings) -> None:
        self.settings = settings
        self.web_settings = web_settings
        self.signer = SessionSigner(SigningKey(web_settings.secret_key, settings.data_dir).get)
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
        self.templates.env.globals["xihe_version"] = __version__
        self.login_throttle = LoginThrottle(web_settings.login_max_failures, web_settings.login_base_delay_seconds,
                                            web_settings.login_window_seconds)


class PageError(Exception):
    """An error shown as an HTML page with ``status``."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, JSON helpers answer 401."""

    def __init__(self, next_path: str, as_json: bool = False) -> None:
        super().__init__("login required")
        self.next_path = next_path
        self.as_json = as_json


def web_state(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


def database(request: Request) -> Database:
    return request.app.state.database  # type: ignore[no-any-return]


def catalog(request: Request) -> DeviceCatalog:
    return request.app.state.catalog  # type: ignore[no-any-return]


def _cookie_session(request: Request) -> SessionData | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return web_state(request).signer.loads(token, now=time.time())


def read_session(request: Request) -> WebUser | None:
    """The user of a valid session: good signature, a live (not logged out, unexpired) server-side row, an active
    account and an unchanged password; else None."""
    data = _cookie_session(request)
    if data is None:
        return None
    with database(request).read() as session:
        row = web_sessions.live_session(session, data.sid)
        if row is None or row.user_id != data.user_id:
            return None
        user = users.get_user(session, data.user_id)
        if user is None or not user.active or password_tag(user.password_hash) != data.password_tag:
            return None
        return WebUser(id=user.id, name=user.name, role=user.role, csrf=data.csrf, session_id=data.sid)


def _next_path(request: Request) -> str:
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


def require_user(request: Request) -> WebUser:
    user = read_session(request)
    if user is None:
        raise LoginRequired(_next_path(request))
    return user


def require_user_json(request: Request) -> WebUser:
    user = read_session(request)
    if user is None:
        raise LoginRequired(_next_path(request), as_json=True)
    return user


def require_admin(user: Annotated[WebUser, Depends(require_user)]) -> WebUser:
    if not user.is_admin:
        raise PageError(403, "Forbidden", "This page needs an admin account.")
    return user


PageUser = Annotated[WebUser, Depends(require_user)]
JsonUser = Annotated[WebUser, Depends(require_user_json)]
AdminUser = Annotated[WebUser, Depends(require_admin)]


def check_csrf(user: WebUser, given: str | None) -> None:
    """Refuse a POST whose CSRF token is not this session's."""
    if not csrf_matches(user.csrf, given):
        raise PageError(403, "Forbidden", "The form's security token is missing or stale; reload the page and retry.")


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200,
           user: WebUser | None = None) -> Response:
    """An HTML page from ``template``, with the user, its CSRF token and the security headers."""
    values: dict[str, Any] = {"user": user, "csrf_token": user.csrf if user else "", **(context or {})}
    response = web_state(request).templates.TemplateResponse(request, template, values, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def cookie_is_secure(request: Request) -> bool:
    """Secure cookies unless plain HTTP to a non-loopback host (then a browser would drop them) or configured."""
    configured = web_state(request).web_settings.cookie_secure
    if configured is not None:
        return configured
    if request.url.scheme == "https":
        return True
    host = request.url.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_session(request: Request, response: Response, user_id: int, stored_hash: str | None) -> str:
    """Open a server-side session row and set its cookie; returns the new session id."""
    state = web_state(request)
    lifetime = state.web_settings.session_hours * 3600
    sid = new_session_id()
    with database(request).write() as session:
        web_sessions.delete_expired(session)
        web_sessions.open_session(session, sid, user_id, timedelta(seconds=lifetime))
    data = SessionData(sid=sid, user_id=user_id, expires=time.time() + lifetime, csrf=new_nonce(),
                       password_tag=password_tag(stored_hash))
    response.set_cookie(SESSION_COOKIE, state.signer.dumps(data), max_age=int(lifetime), httponly=True,
                        secure=cookie_is_secure(request), samesite="lax", path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return sid


def end_session(request: Request, response: Response) -> None:
    """Revoke the server-side row (the cookie is then refused everywhere, even if kept) and clear the cookie."""
    data = _cookie_session(request)
    if data is not None:
        with database(request).write() as session:
            web_sessions.revoke_session(session, data.sid)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=cookie_is_secure(request),
                           samesite="lax")


def login_redirect(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def safe_next(value: str | None) -> str:
    """Only same-site paths after login (an open redirect would let a link send users elsewhere)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/backends"
    return value
