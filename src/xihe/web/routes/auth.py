"""Log in (username + password, argon2) and log out; the root page sends users to the backends or the login form.

The login form has no session yet, so its CSRF check is a double submit: a random value in a short-lived,
HttpOnly, SameSite=Strict cookie scoped to ``/login`` must come back in the form.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from xihe.service.clock import utcnow
from xihe.service.repositories import users
from xihe.service.security import verify_password
from xihe.web.deps import (
    PageUser,
    check_csrf,
    cookie_is_secure,
    database,
    end_session,
    read_session,
    render,
    safe_next,
    start_session,
    web_state,
)
from xihe.web.sessions import LOGIN_CSRF_COOKIE, csrf_matches, new_nonce

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/backends" if read_session(request) else "/login", status_code=303)


def _login_form(request: Request, *, next_path: str, error: str | None = None, name: str = "",
                status: int = 200) -> Response:
    nonce = new_nonce()
    response = render(request, "login.html", {"next": safe_next(next_path), "error": error, "name": name,
                                              "login_csrf": nonce}, status=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, nonce, max_age=3600, httponly=True, secure=cookie_is_secure(request),
                        samesite="strict", path="/login")
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/backends") -> Response:
    if read_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next_path=next)


def _check_password(request: Request, name: str, password: str) -> tuple[int, str | None] | None:
    with database(request).read() as session:
        user = users.get_user_by_name(session, name)
        stored = user.password_hash if user is not None else None
        user_id = user.id if user is not None else None
        active = bool(user.active) if user is not None else False
    # Verify even for an unknown name, so a wrong name and a wrong password take the same time.
    ok = verify_password(stored or _DUMMY_HASH.value(), password)
    if user_id is None or not ok or not active or not stored:
        return None
    return user_id, stored


class _LazyDummyHash:
    """An argon2 hash of a random string, made on first use, for timing-equal refusals."""

    def __init__(self) -> None:
        self._hash: str | None = None

    def value(self) -> str:
        if self._hash is None:
            from xihe.service.security import hash_password, new_password

            self._hash = hash_password(new_password())
        return self._hash


_DUMMY_HASH = _LazyDummyHash()


def _wait_text(seconds: float) -> str:
    return f"{math.ceil(seconds)} s" if seconds < 90 else f"{math.ceil(seconds / 60)} min"


@router.post("/login")
async def login(request: Request, name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/backends"
                ) -> Response:
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_form(request, next_path=next, name=name, status=403,
                           error="The login form expired or cookies are blocked; please try again.")
    throttle = web_state(request).login_throttle
    keys = throttle.keys(name, request.client.host if request.client else None)
    wait = await run_in_threadpool(throttle.retry_after, database(request), keys, utcnow())
    if wait > 0:
        response = _login_form(request, next_path=next, name=name, status=429,
                               error=f"Too many failed logins from here; try again in {_wait_text(wait)}.")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    found = await run_in_threadpool(_check_password, request, name.strip(), password)
    if found is None:
        await run_in_threadpool(throttle.failed, database(request), keys, utcnow())
        return _login_form(request, next_path=next, name=name, status=401, error="Wrong username or password.")
    await run_in_threadpool(throttle.succeeded, database(request), keys)
    user_id, stored = found
    response = RedirectResponse(safe_next(next), status_code=303)
    start_session(request, response, user_id, stored)
    return response


@router.post("/logout")
def logout(request: Request, user: PageUser, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    end_session(request, response)
    return response
