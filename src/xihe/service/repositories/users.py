"""Users, roles, passwords and API tokens (SHA-256 hashes only; a token is shown once, at creation)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from xihe.service.clock import utcnow
from xihe.service.models import ApiToken, User
from xihe.service.scheduling import add_usage
from xihe.service.security import hash_password, hash_token, new_token

ROLES = ("user", "admin")


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: ``secret`` is the only time the clear value exists."""

    row: ApiToken
    secret: str


def create_user(session: Session, name: str, *, role: str = "user", password: str | None = None) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    user = User(name=name, role=role, password_hash=hash_password(password) if password else None,
                created_at=utcnow(), active=True, usage_log2=-1e9)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_name(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name)).first()


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.id)).all()


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)


def create_token(session: Session, user: User, *, name: str = "", expires_at: datetime | None = None,
                 kind: str = "user") -> IssuedToken:
    secret = new_token()
    row = ApiToken(id=secrets.token_hex(8), user_id=user.id, token_hash=hash_token(secret), prefix=secret[:7],
                   name=name, kind=kind, created_at=utcnow(), expires_at=expires_at)
    session.add(row)
    session.flush()
    return IssuedToken(row=row, secret=secret)


_TOKEN_COLUMNS = list(ApiToken.__table__.c)
_USER_COLUMNS = list(User.__table__.c)
_AUTHENTICATE = (select(*_TOKEN_COLUMNS, *_USER_COLUMNS).join_from(ApiToken, User, User.id == ApiToken.user_id)
                 .where(ApiToken.token_hash == bindparam("p_hash")))


def authenticate_token(source: Session | Connection, secret: str, *, now: datetime | None = None
                       ) -> tuple[User, ApiToken] | None:
    """The active user and token row for a clear token, or None if unknown, revoked, expired or user disabled.

    On every API request, so one prebuilt statement; the rows come back as detached objects. ``source``: a session,
    or (what the API's requests pass, :meth:`~xihe.service.db.Database.read_connection`) a Core connection, which
    skips opening and closing an ORM session: ~33 of ~85 us a lookup, two lookups a job (issue 13).
    """
    now = now or utcnow()
    connection = source.connection() if isinstance(source, Session) else source
    row = connection.execute(_AUTHENTICATE, {"p_hash": hash_token(secret)}).first()
    if row is None:
        return None
    values = tuple(row)
    token = ApiToken(**{c.key: v for c, v in zip(_TOKEN_COLUMNS, values[: len(_TOKEN_COLUMNS)], strict=True)})
    user = User(**{c.key: v for c, v in zip(_USER_COLUMNS, values[len(_TOKEN_COLUMNS):], strict=True)})
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now) or not user.active:
        return None
    return user, token


def token_is_live(session: Session, token_id: str, *, now: datetime | None = None) -> bool:
    """Whether token ``token_id`` still authenticates (not revoked, not expired, its user active): the re-check of
    a long poll opened with it."""
    now = now or utcnow()
    row = session.execute(select(ApiToken.revoked_at, ApiToken.expires_at, User.active)
                          .join_from(ApiToken, User, User.id == ApiToken.user_id)
                          .where(ApiToken.id == token_id)).first()
    if row is None:
        return False
    revoked_at, expires_at, active = row
    return revoked_at is None and (expires_at is None or expires_at > now) and bool(active)


def list_tokens(session: Session, user_id: int) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at)).all()


def revoke_token(session: Session, user_id: int, token_id: str) -> bool:
    """Revoke one of the user's tokens; False if the user has no such token."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    return session.scalars(select(ApiToken.id).where(ApiToken.id == token_id, ApiToken.user_id == user_id)).first() \
        is not None


def revoke_all_tokens(session: Session, user_id: int) -> int:
    result = session.execute(
        update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def record_usage(session: Session, user_id: int, seconds: float, at: datetime) -> None:
    """Add execution seconds to the user's fair-share usage (see :mod:`xihe.service.scheduling`)."""
    connection = session.connection()
    current = connection.execute(_USAGE, {"user_id": user_id}).scalar()
    if current is not None:
        connection.execute(_SET_USAGE, {"user_id": user_id, "usage": add_usage(current, seconds, at)})


_USAGE = select(User.usage_log2).where(User.id == bindparam("user_id"))
_SET_USAGE = update(User).where(User.id == bindparam("user_id")).values(usage_log2=bindparam("usage"))
