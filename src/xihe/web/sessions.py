"""Signed session tokens for the browser, and the per-session CSRF token they carry.

A session is ``base64url(json) + "." + base64url(HMAC-SHA256)`` in an HttpOnly, SameSite=Lax cookie: a random
session id, the user id, an expiry, a random CSRF nonce, and a fingerprint of the user's password hash, so that
changing the password (``xihe users passwd``) ends every session of that user. The session id names a server-side
row (:mod:`xihe.service.repositories.web_sessions`): logging out revokes it, so the old cookie and its CSRF nonce
are refused on every replica. The signature only stops forgery. Every POST must echo the session's CSRF nonce
(form field ``csrf_token`` or header ``X-CSRF-Token``).

>>> signer = SessionSigner(lambda: b"k" * 32)
>>> token = signer.dumps(SessionData(sid="s", user_id=7, expires=2e9, csrf="n", password_tag="t"))
>>> signer.loads(token, now=1e9).user_id
7
>>> signer.loads(token[:-2] + "xx", now=1e9) is None
True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass

SESSION_COOKIE = "xihe_session"
LOGIN_CSRF_COOKIE = "xihe_login_csrf"


@dataclass(frozen=True)
class SessionData:
    sid: str
    user_id: int
    expires: float
    csrf: str
    password_tag: str


def password_tag(password_hash: str | None) -> str:
    """A short fingerprint of the stored hash (not of the password): a new password ends old sessions."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and checks session tokens with the key ``key()`` returns (read lazily, on the first request)."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key

    def _signature(self, body: str) -> str:
        return _b64(hmac.new(self._key(), b"xihe-session:" + body.encode(), hashlib.sha256).digest())

    def dumps(self, data: SessionData) -> str:
        body = _b64(json.dumps(asdict(data), separators=(",", ":")).encode())
        return f"{body}.{self._signature(body)}"

    def loads(self, token: str, *, now: float) -> SessionData | None:
        """The session in ``token`` if its signature is good and it has not expired; None otherwise."""
        body, _, signature = token.partition(".")
        if not body or not signature or not hmac.compare_digest(signature, self._signature(body)):
            return None
        try:
            fields = json.loads(_unb64(body))
            data = SessionData(sid=str(fields["sid"]), user_id=int(fields["user_id"]), expires=float(fields["expires"]),
                               csrf=str(fields["csrf"]), password_tag=str(fields["password_tag"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        return data if data.expires > now else None


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
