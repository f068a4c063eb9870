"""The account page: the user's API tokens (create -- the secret shown once -- and revoke) and password."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from xihe.service.clock import utcnow
from xihe.service.repositories import users, web_sessions
from xihe.service.security import verify_password
from xihe.web.deps import PageError, PageUser, WebUser, check_csrf, database, render, start_session

router = APIRouter(include_in_schema=False)

MIN_PASSWORD = 8


def _account(request: Request, user: WebUser, *, new_token: dict[str, Any] | None = None,
             error: str | None = None, notice: str | None = None, status: int = 200) -> Response:
    with database(request).read() as session:
        tokens = list(users.list_tokens(session, user.id))
    now = utcnow()
    context = {"nav": "account", "tokens": tokens, "new_token": new_token, "error": error, "notice": notice,
               "now": now,
               "api_url": str(request.base_url).rstrip("/")}
    return render(request, "account.html", context, status=status, user=user)


@router.get("/account")
def account_page(request: Request, user: PageUser, changed: str | None = None) -> Response:
    return _account(request, user, notice="Your password was changed; other sessions are logged out."
                    if changed == "password" else None)


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
        created = {"id": issued.row.id, "name": issued.row.name, "secret": issued.secret}
    return _account(request, user, new_token=created, status=201)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: str, user: PageUser, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    with database(request).write() as session:
        if not users.revoke_token(session, user.id, token_id):
            raise PageError(404, "No such token", f"You have no token {token_id!r}.")
    return RedirectResponse("/account", status_code=303)
