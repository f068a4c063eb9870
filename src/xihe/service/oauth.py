"""OAuth 2.0 authorization code + PKCE for public clients (RFC 6749, 7636, 8252): the rules, pure of storage.

quafu-sdk 0.2.7 logs in this way (``quafu.login()``): it opens ``{BASE}/oauth/authorize`` in the user's browser
with ``client_id=quafu-sdk``, a loopback ``redirect_uri`` (``http://127.0.0.1:<port>/callback``) or the paste page
``{BASE}/oauth/code``, an S256 ``code_challenge``, a ``state`` and a ``device_name``; the user logs in through
Xihe's own web login and allows it; the code (single use, 5 minutes) comes back to the redirect URI and the SDK
exchanges it with its ``code_verifier`` at ``POST /api/v1/oauth/token`` for an access token. That token is an
ordinary Xihe API token (``qf_`` + base62, the shape every client accepts) of kind ``oauth``, named after the
device, valid 90 days, revocable at ``POST /api/v1/oauth/revoke`` or on the account page, and good on every API.

The pages are :mod:`xihe.web.routes.oauth`, the token endpoints :mod:`xihe.service.api.routes.oauth`, the codes
:mod:`xihe.service.repositories.oauth_codes`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

CLIENTS = ("quafu-sdk",)  # public clients (no secret); each may use a loopback or this server's paste page
CODE_LIFETIME = timedelta(minutes=5)
TOKEN_LIFETIME = timedelta(days=90)
TOKEN_KIND = "oauth"
PASTE_PATH = "/oauth/code"
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest, no padding
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 section 4.1
_STATE_MAX = 512
DEVICE_NAME_MAX = 64


class AuthorizeError(Exception):
    """A refused authorization request. ``redirect`` False: the client or redirect URI itself is wrong, so the
    user sees the error (RFC 6749 section 4.1.2.1: never redirect to an unchecked URI)."""

    def __init__(self, error: str, description: str, *, redirect: bool) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect = redirect


@dataclass(frozen=True)
class AuthorizeRequest:
    """A checked ``/oauth/authorize`` request."""

    client_id: str
    redirect_uri: str
    code_challenge: str
    state: str
    device_name: str

    def fields(self) -> dict[str, str]:
        """The query parameters that ask for this again (the consent form posts them back)."""
        return {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                "code_challenge": self.code_challenge, "code_challenge_method": "S256", "state": self.state,
                "device_name": self.device_name}


def s256(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (RFC 7636 section 4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def verifier_matches(verifier: str, challenge: str) -> bool:
    return bool(_VERIFIER.fullmatch(verifier)) and hmac.compare_digest(s256(verifier), challenge)


def is_loopback_redirect(uri: str) -> bool:
    """``http://127.0.0.1:<any port>/<path>`` (or ``[::1]``, ``localhost``): a native app's loopback listener
    (RFC 8252 section 7.3; the port is chosen per login, so any port is allowed)."""
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.username or parts.password or parts.fragment or parts.port is None:
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def paste_uri(base_url: str) -> str:
    """This server's page that shows the code for the user to paste (``{BASE}/oauth/code``)."""
    return base_url.rstrip("/") + PASTE_PATH


def check_authorize(params: dict[str, str], base_url: str) -> AuthorizeRequest:
    """The request if it is a well-formed PKCE authorization request of a known client, else :class:`AuthorizeError`."""
    client_id = params.get("client_id", "")
    if client_id not in CLIENTS:
        raise AuthorizeError("invalid_client", f"unknown client {client_id!r}", redirect=False)
    redirect_uri = params.get("redirect_uri", "")
    if not (is_loopback_redirect(redirect_uri) or redirect_uri == paste_uri(base_url)):
        raise AuthorizeError("invalid_request", "redirect_uri must be a loopback address (http://127.0.0.1:PORT/...) "
                             f"or {paste_uri(base_url)}", redirect=False)
    state = params.get("state", "")
    if not state or len(state) > _STATE_MAX:
        raise AuthorizeError("invalid_request", "state is missing or too long", redirect=False)
    if params.get("response_type") != "code":
        raise AuthorizeError("unsupported_response_type", "response_type must be 'code'", redirect=True)
    if params.get("code_challenge_method") != "S256":
        raise AuthorizeError("invalid_request", "code_challenge_method must be S256 (PKCE)", redirect=True)
    challenge = params.get("code_challenge", "")
    if not _CHALLENGE.fullmatch(challenge):
        raise AuthorizeError("invalid_request", "code_challenge must be 43 base64url characters", redirect=True)
    device = "".join(ch for ch in params.get("device_name", "") if ch.isprintable()).strip()[:DEVICE_NAME_MAX]
    return AuthorizeRequest(client_id, redirect_uri, challenge, state, device or "unknown device")


def redirect_with(uri: str, **values: str) -> str:
    """``uri`` with ``values`` added to its query (a code and state, or an error and state)."""
    joiner = "&" if urlsplit(uri).query else "?"
    return uri + joiner + urlencode(values)


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
