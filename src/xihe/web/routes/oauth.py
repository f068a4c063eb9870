"""The browser side of the PKCE login (:mod:`xihe.service.oauth`): ``/oauth/authorize`` and ``/oauth/code``.

``GET /oauth/authorize`` checks the request, sends a visitor without a session through Xihe's own login form (and
back), and asks the logged-in user to allow or deny the client. The answer (a POST with the session's CSRF token)
issues a code and redirects to the client's loopback ``redirect_uri`` with ``code`` and ``state``, or to
``/oauth/code``, which shows ``code#state`` for the user to paste. A request with an unknown client or a
``redirect_uri`` that is neither loopback nor this server's paste page is shown as an error, never redirected.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from xihe.service.clock import utcnow
from xihe.service.oauth import (
    AuthorizeError,
    AuthorizeRequest,
    check_authorize,
    origin_of,
    paste_uri,
    redirect_with,
)
from xihe.service.repositories import oauth_codes
from xihe.web.deps import PageError, PageUser, check_csrf, database, login_redirect, read_session, render

router = APIRouter(include_in_schema=False)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _checked(request: Request, params: dict[str, str]) -> AuthorizeRequest | Response:
    """The checked request, or the response to a bad one (an error page, or the error sent to the client)."""
    try:
        return check_authorize(params, _base_url(request))
    except AuthorizeError as exc:
        if not exc.redirect:
            raise PageError(400, "Login request refused", f"{exc.description} ({exc.error}).") from None
        return RedirectResponse(redirect_with(params["redirect_uri"], error=exc.error,
                                              error_description=exc.description, state=params["state"]),
                                status_code=303)


@router.get("/oauth/authorize")
def authorize_page(request: Request) -> Response:
    params = dict(request.query_params)
    checked = _checked(request, params)
    if isinstance(checked, Response):
        return checked
    user = read_session(request)
    if user is None:
        return RedirectResponse(login_redirect(f"{request.url.path}?{request.url.query}"), status_code=303)
    response = render(request, "oauth.html", {"request_": checked, "fields": checked.fields()}, user=user)
    # The answer redirects to the client's loopback listener: a browser applies form-action to that redirect too.
    policy = response.headers["Content-Security-Policy"]
    response.headers["Content-Security-Policy"] = policy.replace(
        "form-action 'self'", f"form-action 'self' {origin_of(checked.redirect_uri)}")
    return response


@router.post("/oauth/authorize")
def authorize(request: Request, user: PageUser, csrf_token: Annotated[str, Form()] = "",
              decision: Annotated[str, Form()] = "", response_type: Annotated[str, Form()] = "",
              client_id: Annotated[str, Form()] = "", redirect_uri: Annotated[str, Form()] = "",
              code_challenge: Annotated[str, Form()] = "", code_challenge_method: Annotated[str, Form()] = "",
              state: Annotated[str, Form()] = "", device_name: Annotated[str, Form()] = "") -> Response:
    """Allow (a code to the redirect URI) or deny (``access_denied``) the client's request."""
    check_csrf(user, csrf_token)
    checked = _checked(request, {"response_type": response_type, "client_id": client_id,
                                 "redirect_uri": redirect_uri, "code_challenge": code_challenge,
                                 "code_challenge_method": code_challenge_method, "state": state,
                                 "device_name": device_name})
    if isinstance(checked, Response):
        return checked
    if decision != "allow":
        return RedirectResponse(redirect_with(checked.redirect_uri, error="access_denied", state=checked.state),
                                status_code=303)
    with database(request).write() as session:
        code = oauth_codes.issue_code(session, user.id, checked, utcnow())
    target = checked.redirect_uri
    if target == paste_uri(_base_url(request)):
        target = "/oauth/code"  # the same page, as a path: no host to trust
    return RedirectResponse(redirect_with(target, code=code, state=checked.state), status_code=303)


@router.get("/oauth/code")
def code_page(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    """The code to paste (``code#state``), or why there is none."""
    if code and state and not error:
        return render(request, "oauth_code.html", {"pasted": f"{code}#{state}"}, user=read_session(request))
    reason = "You denied the request." if error == "access_denied" else f"No code was issued ({error or 'none'})."
    return render(request, "oauth_code.html", {"pasted": None, "error": reason}, status=400,
                  user=read_session(request))
