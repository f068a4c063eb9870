"""The web login's failure counters (:class:`xihe.web.throttle.LoginThrottle` decides what they mean): read,
count one more, clear, and forget the old ones. Keys are stored as their SHA-256 digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xihe.service.models import LoginFailure


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def counts(session: Session, keys: Iterable[str]) -> dict[str, tuple[int, datetime]]:
    """Key -> (failures, time of the last one), for the keys that have any."""
    by_hash = {_digest(key): key for key in keys}
    rows = session.scalars(select(LoginFailure).where(LoginFailure.key_hash.in_(list(by_hash))))
    return {by_hash[row.key_hash]: (row.count, row.last_at) for row in rows}


def add_failure(session: Session, key: str, now: datetime, *, forget_before: datetime) -> None:
    """One more failure of ``key`` at ``now``; a count whose last failure is before ``forget_before`` restarts."""
    digest = _digest(key)
    restarted = session.execute(update(LoginFailure).where(LoginFailure.key_hash == digest,
                                                           LoginFailure.last_at < forget_before)
                                .values(count=1, last_at=now)).rowcount  # type: ignore[attr-defined]
    if restarted:
        return
    counted = session.execute(update(LoginFailure).where(LoginFailure.key_hash == digest)
                              .values(count=LoginFailure.count + 1, last_at=now)).rowcount  # type: ignore[attr-defined]
    if counted:
        return
    try:
        with session.begin_nested():  # another replica may insert the same key at the same moment
            session.add(LoginFailure(key_hash=digest, count=1, last_at=now))
    except IntegrityError:
        session.execute(update(LoginFailure).where(LoginFailure.key_hash == digest)
                        .values(count=LoginFailure.count + 1, last_at=now))


def clear(session: Session, keys: Iterable[str]) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key_hash.in_([_digest(key) for key in keys])))


def forget_older_than(session: Session, before: datetime) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.last_at < before))
