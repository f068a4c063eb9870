"""Job groups (quafu-sdk's iterative jobs): create, find, append a member job, close."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xihe.service.clock import utcnow
from xihe.service.models import JobGroup

ID_PREFIX = "g"  # a group id is never a job id (16 hex digits), so one URL space holds both


def new_group_id() -> str:
    return ID_PREFIX + secrets.token_hex(8)


def is_group_id(ident: str) -> bool:
    return ident.startswith(ID_PREFIX) and len(ident) == 17


def create_group(session: Session, user_id: int, *, open: bool = True, **fields: Any) -> JobGroup:
    group = JobGroup(id=new_group_id(), user_id=user_id, members=[], open=open, created_at=utcnow(), **fields)
    session.add(group)
    session.flush()
    return group


def find_by_client_ref(session: Session, user_id: int, client_ref: str) -> JobGroup | None:
    return session.scalars(select(JobGroup).where(JobGroup.user_id == user_id,
                                                  JobGroup.client_ref == client_ref)).first()


def get_user_group(session: Session, user_id: int, group_id: str) -> JobGroup | None:
    """The group if it belongs to ``user_id``; another user's is indistinguishable from a missing one."""
    group = session.get(JobGroup, group_id)
    return group if group is not None and group.user_id == user_id else None


def add_member(session: Session, group: JobGroup, job_id: str, n: int, iterations: list[int | None],
               evaluation_index: list[int | None], *, parameter_values: list[dict[str, float] | None] | None = None,
               names: list[str | None] | None = None) -> int:
    """Append a job of ``n`` tasks (once: a replay of the same job adds nothing); the seq of its first task.

    Per task: ``iterations``, ``evaluation_index``, and optionally ``parameter_values`` and ``names`` (labels the
    job itself does not hold).
    """
    first = 0
    for member in group.members:
        if member["job_id"] == job_id:
            return first
        first += int(member["n"])
    group.members = [*group.members, {"job_id": job_id, "n": n, "iterations": iterations,
                                      "evaluation_index": evaluation_index,
                                      "parameter_values": parameter_values or [None] * n,
                                      "names": names or [None] * n}]
    session.flush()
    return first


def close_group(session: Session, group: JobGroup) -> None:
    group.open = False
    session.flush()
