"""Browser sessions of the dashboard: open, look up, revoke (logout, password change) and sweep expired rows.

Rows are keyed by the SHA-256 digest of the random session id the cookie carries (a fast hash is safe: the id is
256 random bits). Every API replica reads the same table, so a logout on one replica ends the session on all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from xihe.service.clock import utcnow
from xihe.service.models import WebSession
from xihe.service.security import hash_token


def open_session(session: Session, session_id: str, user_id: int, lifetime: timedelta) -> WebSession:
    now = utcnow()
    row = WebSession(id_hash=hash_token(session_id), user_id=user_id, created_at=now, expires_at=now + lifetime)
    session.add(row)
    return row


def live_session(session: Session, session_id: str, now: datetime | None = None) -> WebSession | None:
    """The session with this id if it exists, is not revoked and has not expired."""
    row = session.get(WebSession, hash_token(session_id))
    now = now or utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    return row


def revoke_session(session: Session, session_id: str) -> bool:
    result = session.execute(update(WebSession).where(WebSession.id_hash == hash_token(session_id),
                                                      WebSession.revoked_at.is_(None)).values(revoked_at=utcnow()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_user_sessions(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every session of a user (a password change), except the one with id ``keep``."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id_hash != hash_token(keep))
    return int(session.execute(query.values(revoked_at=utcnow())).rowcount)  # type: ignore[attr-defined]


def delete_expired(session: Session, now: datetime | None = None) -> int:
    """Drop sessions that expired (revoked ones go when they would have expired: the audit lasts that long)."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))
    return int(result.rowcount)  # type: ignore[attr-defined]

