"""The token endpoints of the PKCE browser login (:mod:`xihe.service.oauth`): ``POST /api/v1/oauth/token`` and
``/api/v1/oauth/revoke``, form bodies, no Authorization header, errors as RFC 6749 section 5.2 JSON
(``{"error": "invalid_grant", "error_description": ...}``) as quafu-sdk reads them. Included by the quafu-sdk
router (same ``/api/v1`` prefix).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from xihe.service.clock import utcnow
from xihe.service.oauth import CLIENTS
from xihe.service.repositories import oauth_codes
from xihe.service.repositories.oauth_codes import GrantError

router = APIRouter(tags=["oauth"], include_in_schema=False)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=_NO_STORE)


async def _form(request: Request) -> dict[str, str]:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return {}
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _exchange(request: Request, form: dict[str, str]) -> dict[str, Any]:
    refused: GrantError | None = None
    with request.app.state.database.write() as session:
        try:
            grant = oauth_codes.redeem(session, form.get("code", ""), client_id=form.get("client_id", ""),
                                       redirect_uri=form.get("redirect_uri", ""),
                                       verifier=form.get("code_verifier", ""), now=utcnow())
        except GrantError as exc:
            refused = exc  # committed all the same: a replayed code's token stays revoked
    if refused is not None:
        raise refused
    seconds = int((grant.expires_at - utcnow()).total_seconds())
    return {"access_token": grant.access_token, "token_type": "Bearer",
            "expires_at": grant.expires_at.isoformat(timespec="seconds"), "expires_in": seconds}


@router.post("/oauth/token", operation_id="oauth_token")
async def token(request: Request) -> JSONResponse:
    """Exchange an authorization code and its PKCE verifier for an access token."""
    form = await _form(request)
    if form.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type", "grant_type must be authorization_code")
    if form.get("client_id") not in CLIENTS:
        return _oauth_error("invalid_client", f"unknown client {form.get('client_id')!r}", 401)
    if not form.get("code") or not form.get("code_verifier") or not form.get("redirect_uri"):
        return _oauth_error("invalid_request", "code, code_verifier and redirect_uri are required")
    try:
        answer = await run_in_threadpool(_exchange, request, form)
    except GrantError as exc:
        return _oauth_error("invalid_grant", str(exc))
    return JSONResponse(answer, headers=_NO_STORE)


def _revoke(request: Request, secret: str) -> None:
    with request.app.state.database.write() as session:
        oauth_codes.revoke(session, secret, utcnow())


@router.post("/oauth/revoke", operation_id="oauth_revoke")
async def revoke(request: Request) -> JSONResponse:
    """Revoke a token (RFC 7009): ``{}`` whether or not it was live, so the answer tells nothing about tokens."""
    form = await _form(request)
    if not form.get("token"):
        return _oauth_error("invalid_request", "token is required")
    await run_in_threadpool(_revoke, request, form["token"])
    return JSONResponse({}, headers=_NO_STORE)
