"""OAuth authorization codes: issue one for a logged-in user, redeem it once for a token (SHA-256 stored only).

The exchange is one transaction: the code is checked (client, redirect URI, PKCE verifier, expiry), marked used by
a conditional UPDATE (so two racing exchanges cannot both win, on any replica) and the token is created. A code
presented after its exchange revokes the token it gave (RFC 6749 section 4.1.2).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from xihe.service.models import ApiToken, OAuthCode
from xihe.service.oauth import CODE_LIFETIME, TOKEN_KIND, TOKEN_LIFETIME, AuthorizeRequest, verifier_matches
from xihe.service.repositories import users
from xihe.service.security import hash_token


class GrantError(Exception):
    """The code cannot be exchanged (RFC 6749 ``invalid_grant``); the message says why, without the code."""


@dataclass(frozen=True)
class Grant:
    access_token: str
    expires_at: datetime
    user_id: int


def issue_code(session: Session, user_id: int, request: AuthorizeRequest, now: datetime) -> str:
    """A new authorization code for ``user_id`` and this request (the clear code exists only in the return)."""
    session.execute(delete(OAuthCode).where(OAuthCode.expires_at <= now))
    code = secrets.token_urlsafe(32)
    session.add(OAuthCode(code_hash=hash_token(code), user_id=user_id, client_id=request.client_id,
                          redirect_uri=request.redirect_uri, code_challenge=request.code_challenge,
                          device_name=request.device_name, created_at=now, expires_at=now + CODE_LIFETIME))
    return code


def redeem(session: Session, code: str, *, client_id: str, redirect_uri: str, verifier: str, now: datetime) -> Grant:
    """Exchange ``code`` for an access token of kind ``oauth``; :class:`GrantError` if it cannot be."""
    row = session.get(OAuthCode, hash_token(code))
    if row is None or row.expires_at <= now:
        raise GrantError("the authorization code is unknown or expired (codes are valid for 5 minutes)")
    if row.used_at is not None:
        if row.token_id is not None:
            session.execute(update(ApiToken).where(ApiToken.id == row.token_id, ApiToken.revoked_at.is_(None))
                            .values(revoked_at=now))
        raise GrantError("the authorization code was already used; the token it gave is revoked")
    if row.client_id != client_id or row.redirect_uri != redirect_uri:
        raise GrantError("client_id or redirect_uri differ from the authorization request")
    if not verifier_matches(verifier, row.code_challenge):
        raise GrantError("code_verifier does not match the code_challenge (PKCE S256)")
    taken = session.execute(update(OAuthCode).where(OAuthCode.code_hash == row.code_hash, OAuthCode.used_at.is_(None))
                            .values(used_at=now))
    if not taken.rowcount:  # type: ignore[attr-defined]
        raise GrantError("the authorization code was already used")
    user = users.get_user(session, row.user_id)
    if user is None or not user.active:
        raise GrantError("the account is disabled")
    expires_at = now + TOKEN_LIFETIME
    issued = users.create_token(session, user, name=f"{row.client_id} on {row.device_name}", expires_at=expires_at,
                                kind=TOKEN_KIND)  # how the Account page lists the login
    session.execute(update(OAuthCode).where(OAuthCode.code_hash == row.code_hash).values(token_id=issued.row.id))
    return Grant(issued.secret, expires_at, user.id)


def revoke(session: Session, token: str, now: datetime) -> bool:
    """Revoke a user's token (RFC 7009: the holder of a token may revoke it); device tokens are not revoked here."""
    result = session.execute(update(ApiToken).where(ApiToken.token_hash == hash_token(token),
                                                    ApiToken.kind != "device", ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]
