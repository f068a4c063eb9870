"""The admin page: users (create with a password, quotas and limits, enable/disable) and backend maintenance.

The same changes as ``xihe users add/limits`` and the operator's maintenance switch, for admins in a browser.
A blank quota field means "the settings' default".
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from xihe.limits import user_limit_problem
from xihe.service.clock import utcnow
from xihe.service.repositories import calibrations, jobs, users
from xihe.service.scheduling import decayed_usage
from xihe.web.deps import AdminUser, PageError, WebUser, catalog, check_csrf, database, render
from xihe.web.routes.backends import backend_rows

router = APIRouter(include_in_schema=False)

LIMITS: dict[str, type] = {"jobs_per_day": int, "max_shots": int, "max_qubits": int, "max_priority": int,
                           "wall_seconds": float}
STATUSES = ("online", "maintenance", "offline")
# Names appear in pages, logs, CLI output and shell commands: no spaces, markup, control or look-alike characters.
USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)


def _admin(request: Request, user: WebUser, *, error: str | None = None, notice: str | None = None,
           status: int = 200) -> Response:
    settings = request.app.state.settings
    now = utcnow()
    with database(request).read() as session:
        rows = []
        for account in users.list_users(session):
            rows.append({
                "id": account.id, "name": account.name, "role": account.role, "active": account.active,
                "has_password": bool(account.password_hash), "created_at": account.created_at,
                "circuits_today": jobs.count_circuits_since(session, account.id, now - timedelta(days=1)),
                "usage_seconds": decayed_usage(account.usage_log2, now),
                "limits": {name: getattr(account, name) for name in LIMITS},
            })
    context = {"nav": "admin", "users": rows, "defaults": settings.user_limit_defaults(), "limits": list(LIMITS),
               "backends": backend_rows(request), "statuses": STATUSES, "error": error, "notice": notice}
    return render(request, "admin.html", context, status=status, user=user)


@router.get("/admin")
def admin_page(request: Request, user: AdminUser) -> Response:
    return _admin(request, user)


@router.post("/admin/users")
def add_user(request: Request, user: AdminUser, name: Annotated[str, Form()] = "",
             password: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "user",
             csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    name = name.strip()
    if not USER_NAME.fullmatch(name):
        return _admin(request, user, status=422,
                      error="A user name has 1 to 64 characters: letters, digits, '.', '_' or '-', starting with a "
                      "letter or digit.")
    if len(password) < 8:
        return _admin(request, user, error="A password has at least 8 characters.", status=422)
    if role not in users.ROLES:
        return _admin(request, user, error=f"Role must be one of {', '.join(users.ROLES)}.", status=422)
    with database(request).write() as session:
        if users.get_user_by_name(session, name) is not None:
            return _admin(request, user, error=f"User {name!r} exists.", status=409)
        users.create_user(session, name, role=role, password=password)
    return _admin(request, user, notice=f"User {name} created; they can log in and make API tokens.", status=201)


def _parse_limits(form: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in LIMITS.items():
        raw = form.get(name, "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ValueError(f"{name.replace('_', ' ')} must be a number, not {raw!r}") from None
        problem = user_limit_problem(name, value)
        if problem is not None:
            raise ValueError(problem)
        values[name] = value
    return values


@router.post("/admin/users/{user_id}/limits")
def set_limits(request: Request, user_id: int, user: AdminUser, csrf_token: Annotated[str, Form()] = "",
               jobs_per_day: Annotated[str, Form()] = "", max_shots: Annotated[str, Form()] = "",
               max_qubits: Annotated[str, Form()] = "", max_priority: Annotated[str, Form()] = "",
               wall_seconds: Annotated[str, Form()] = "") -> Response:
    check_csrf(user, csrf_token)
    try:
        values = _parse_limits({"jobs_per_day": jobs_per_day, "max_shots": max_shots, "max_qubits": max_qubits,
                                "max_priority": max_priority, "wall_seconds": wall_seconds})
    except ValueError as exc:
        return _admin(request, user, error=str(exc), status=422)
    with database(request).write() as session:
        account = users.get_user(session, user_id)
        if account is None:
            raise PageError(404, "No such user", f"There is no user #{user_id}.")
        for name, value in values.items():
            setattr(account, name, value)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/users/{user_id}/active")
def set_active(request: Request, user_id: int, user: AdminUser, csrf_token: Annotated[str, Form()] = "",
               active: Annotated[str, Form()] = "true") -> Response:
    check_csrf(user, csrf_token)
    if user_id == user.id:
        return _admin(request, user, error="You cannot disable your own account.", status=422)
    with database(request).write() as session:
        account = users.get_user(session, user_id)
        if account is None:
            raise PageError(404, "No such user", f"There is no user #{user_id}.")
        account.active = active == "true"
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/backends/{name}/status")
def set_backend_status(request: Request, name: str, user: AdminUser, csrf_token: Annotated[str, Form()] = "",
                       status: Annotated[str, Form()] = "online") -> Response:
    """The maintenance switch: a backend that is not online refuses new submissions."""
    check_csrf(user, csrf_token)
    if name not in catalog(request).names():
        raise PageError(404, "No such backend", f"There is no backend named {name!r}.")
    if status not in STATUSES:
        return _admin(request, user, error=f"Status must be one of {', '.join(STATUSES)}.", status=422)
    with database(request).write() as session:
        calibrations.set_backend_status(session, name, status)
    return RedirectResponse("/admin", status_code=303)
