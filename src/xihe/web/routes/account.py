"""The account page: the user's API tokens (create -- the secret shown once -- and revoke) and password.

Creating a token is POST-redirect-GET: the POST stores nothing but the token's hash, hands the secret to the next
page in a short-lived HttpOnly cookie scoped to ``/account``, and redirects; the page shows the secret once (if it
hashes to one of the user's tokens) and deletes the cookie, so a reload neither shows it again nor makes another.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from xihe.service.clock import utcnow
from xihe.service.repositories import jobs, users, web_sessions
from xihe.service.scheduling import decayed_usage
from xihe.service.security import hash_token, verify_password
from xihe.service.settings import Settings
from xihe.web.deps import (
    PageError,
    PageUser,
    WebUser,
    check_csrf,
    cookie_is_secure,
    database,
    render,
    start_session,
)

router = APIRouter(include_in_schema=False)

MIN_PASSWORD = 8
NEW_TOKEN_COOKIE = "xihe_new_token"


def _account(request: Request, user: WebUser, *, new_token: dict[str, Any] | None = None,
             error: str | None = None, notice: str | None = None, status: int = 200) -> Response:
    now = utcnow()
    with database(request).read() as session:
        tokens = list(users.list_tokens(session, user.id))
        quota = _quota(session, request.app.state.settings, user.id, now)
    context = {"nav": "account", "tokens": tokens, "new_token": new_token, "error": error, "notice": notice,
               "now": now, "quota": quota,
               "api_url": str(request.base_url).rstrip("/")}
    return render(request, "account.html", context, status=status, user=user)


def _quota(session: Session, settings: Settings, user_id: int, now: datetime) -> dict[str, Any]:
    """The user's limits as submit_job applies them (their own value, else the settings' default) and today's use."""
    account = users.get_user(session, user_id)
    if account is None:
        raise PageError(404, "No such user", "Your account no longer exists.")

    def limit(own: float | None, default: float | None) -> float | None:
        return own if own is not None else default

    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "today_jobs": jobs.count_jobs_since(session, user_id, midnight),
        "today_circuits": jobs.count_circuits_since(session, user_id, midnight),
        "today_seconds": jobs.exec_seconds_since(session, user_id, midnight),
        "jobs_used": jobs.count_jobs_since(session, user_id, now - timedelta(days=1)),
        "jobs_per_day": limit(account.jobs_per_day, settings.default_jobs_per_day),
        "max_shots": limit(account.max_shots, settings.default_max_shots),
        "max_qubits": limit(account.max_qubits, settings.default_max_qubits),
        "wall_seconds": limit(account.wall_seconds, settings.default_wall_seconds),
        "usage_seconds": decayed_usage(account.usage_log2, now),
    }


def _new_token(request: Request, user: WebUser, token_id: str | None) -> dict[str, Any] | None:
    secret = request.cookies.get(NEW_TOKEN_COOKIE)
    if not secret or not token_id:
        return None
    with database(request).read() as session:
        for row in users.list_tokens(session, user.id):
            if row.id == token_id and row.token_hash == hash_token(secret) and row.revoked_at is None:
                return {"id": row.id, "name": row.name, "secret": secret}
    return None


@router.get("/account")
def account_page(request: Request, user: PageUser, changed: str | None = None,
                 token: str | None = None) -> Response:
    response = _account(request, user, new_token=_new_token(request, user, token),
                        notice="Your password was changed; other sessions are logged out."
                        if changed == "password" else None)
    if NEW_TOKEN_COOKIE in request.cookies:  # shown once: gone for the next load
        response.delete_cookie(NEW_TOKEN_COOKIE, path="/account", httponly=True,
                               secure=cookie_is_secure(request), samesite="strict")
    return response


@router.post("/account/password")
def change_password(request: Request, user: PageUser, current: Annotated[str, Form()] = "",
                    new: Annotated[str, Form()] = "", confirm: Annotated[str, Form()] = "",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    """A new password ends every other session (their cookies carry the old hash's fingerprint); this one goes on."""
    check_csrf(user, csrf_token)
    if len(new) < MIN_PASSWORD:
        return _account(request, user, error=f"A password has at least {MIN_PASSWORD} characters.", status=422)
    if new != confirm:
        return _account(request, user, error="The new password and its confirmation differ.", status=422)
    with database(request).write() as session:
        account = users.get_user(session, user.id)
        if account is None:
            raise PageError(404, "No such user", "Your account no longer exists.")
        if not verify_password(account.password_hash, current):
            return _account(request, user, error="The current password is wrong.", status=403)
        users.set_password(session, account, new)
        stored = account.password_hash
    response = RedirectResponse("/account?changed=password", status_code=303)
    kept = start_session(request, response, user.id, stored)
    with database(request).write() as session:
        web_sessions.revoke_user_sessions(session, user.id, keep=kept)
    return response


@router.post("/account/tokens")
def create_token(request: Request, user: PageUser, name: Annotated[str, Form()] = "",
                 expires_days: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "") -> Response:
    """Create a token and show its secret in this response only (the database keeps its SHA-256)."""
    check_csrf(user, csrf_token)
    name = name.strip()[:128]
    try:
        days = float(expires_days) if expires_days.strip() else None
    except ValueError:
        return _account(request, user, error="Expiry must be a number of days.", status=422)
    if days is not None and not 0 < days <= 3650:
        return _account(request, user, error="Expiry must be between 0 and 3650 days.", status=422)
    with database(request).write() as session:
        account = users.get_user(session, user.id)
        if account is None:
            raise PageError(404, "No such user", "Your account no longer exists.")
        issued = users.create_token(session, account, name=name or "web",
                                    expires_at=utcnow() + timedelta(days=days) if days else None)
        token_id, secret = issued.row.id, issued.secret
    response = RedirectResponse(f"/account?token={token_id}", status_code=303)
    response.set_cookie(NEW_TOKEN_COOKIE, secret, max_age=300, httponly=True, secure=cookie_is_secure(request),
                        samesite="strict", path="/account")
    return response


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: str, user: PageUser, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    with database(request).write() as session:
        if not users.revoke_token(session, user.id, token_id):
            raise PageError(404, "No such token", f"You have no token {token_id!r}.")
    return RedirectResponse("/account", status_code=303)
