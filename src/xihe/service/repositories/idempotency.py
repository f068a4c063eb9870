"""Idempotency-Key records: per user, kept ``idempotency_hours``; a key maps to one job and one body hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xihe.service.models import IdempotencyKey


def find_key(session: Session, user_id: int, key: str, *, not_before: datetime) -> IdempotencyKey | None:
    row = session.get(IdempotencyKey, (user_id, key))
    if row is not None and row.created_at < not_before:
        session.delete(row)
        session.flush()
        return None
    return row


def store_key(session: Session, user_id: int, key: str, body_hash: str, job_id: str, at: datetime) -> None:
    session.add(IdempotencyKey(user_id=user_id, key=key, body_hash=body_hash, job_id=job_id, created_at=at))


def purge_keys(session: Session, *, older_than: datetime) -> int:
    result = session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < older_than))
    return int(result.rowcount)  # type: ignore[attr-defined]


def keys_for_user(session: Session, user_id: int) -> list[str]:
    return list(session.scalars(select(IdempotencyKey.key).where(IdempotencyKey.user_id == user_id)))
