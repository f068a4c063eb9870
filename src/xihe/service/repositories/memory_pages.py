"""Per-shot memory in bounded pages, apart from the counts summary in ``job_results`` (issue 18).

A stored result record (:class:`~xihe.service.schemas.ResultPublic` as a dict) keeps its counts and metadata, with
``memory`` set to None and ``memory_shots`` to the number of per-shot keys; the keys themselves are rows of
``job_memory_pages``, :data:`PAGE_SHOTS` shots a row. The worker runs items in groups of at most that many shots
(:func:`shot_groups`) and writes a group's pages under its lease (:func:`store_item`) before the next group runs,
so it never holds a whole job's memory; :func:`split_record` stores the
memory of records that arrive whole (device agents, sampling jobs) when the attempt ends. Readers get a slice of
one item (:func:`read_slice`: at most two rows for a page of the API's size) or, where a protocol needs every
shot and the job is small, the whole item (:func:`read_item`).

Pages exist only for the current attempt: :func:`~xihe.service.repositories.queue.finish_attempt` deletes them
whenever an attempt ends without results, and a holder writes only while its lease is held.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xihe.devices import plan
from xihe.service.models import Job, JobMemoryPage
from xihe.service.repositories import count_pages

# Shots per stored row: 16,384 keys of 20 bits are 344 kB of text, a few MB in Python while a page is served.
PAGE_SHOTS = 1 << 14
# Largest slice the API serves in one answer (one row's worth: a request touches at most two rows).
MAX_SLICE = PAGE_SHOTS
# A job whose items hold this many per-shot keys in all, or fewer, still gets them inline in its record.
INLINE_SHOTS = PAGE_SHOTS
_SEPARATOR = "\n"


class _HasShots(Protocol):
    @property
    def shots(self) -> int: ...


T = TypeVar("T", bound=_HasShots)

_INSERT = insert(JobMemoryPage)


def _pages(memory: Sequence[str]) -> Iterator[tuple[int, Sequence[str]]]:
    for number, start in enumerate(range(0, len(memory), PAGE_SHOTS)):
        yield number, memory[start:start + PAGE_SHOTS]


def write_pages(connection: Connection, job_id: str, item: int, memory: Sequence[str]) -> int:
    """Store one item's per-shot keys as pages (one INSERT a page, so the text of one page at a time)."""
    for number, keys in _pages(memory):
        connection.execute(_INSERT, {"job_id": job_id, "item": item, "page": number, "shots": len(keys),
                                     "data": _SEPARATOR.join(str(key) for key in keys)})
    return len(memory)


def strip_memory(record: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    """The record as stored (``memory`` None, ``memory_shots`` set) and the per-shot keys it carried."""
    memory = record.get("memory")
    if memory is None:
        return record, None
    return {**record, "memory": None, "memory_shots": len(memory)}, [str(key) for key in memory]


def split_record(connection: Connection, job_id: str, item: int, record: dict[str, Any]) -> dict[str, Any]:
    """Store a whole record's per-shot keys as pages; the record without them (what ``job_results`` keeps)."""
    stored, memory = strip_memory(record)
    if memory is not None:
        write_pages(connection, job_id, item, memory)
    return count_pages.split_counts(connection, job_id, item, stored)  # many outcomes: counts in pages too


def shot_groups(items: Sequence[T]) -> Iterator[list[T]]:
    """Consecutive items (anything with ``shots``) in groups of at most :data:`PAGE_SHOTS` shots in all, a larger
    item alone (:func:`xihe.devices.plan.shot_groups`, which the plan prices by): the worker stores a group's
    pages in one transaction before it runs the next group."""
    for group in plan.shot_groups([int(item.shots) for item in items], PAGE_SHOTS):
        yield [items[i] for i in group]


# What the plan of a per-shot job is told of this storage (so it prices what the worker holds at once).
STORED_IN_GROUPS = plan.ResultStorage(shots=PAGE_SHOTS, outcomes=count_pages.PAGE_OUTCOMES)


class LeaseLost(Exception):
    """The writer no longer holds the job's lease: its pages were not stored."""


def store_item(session: Session, job_id: str, holder: str, item: int, record: dict[str, Any]) -> dict[str, Any]:
    """Store one finished item's per-shot keys while ``holder`` has the job's lease (the job row is locked on
    PostgreSQL, so an expiring lease and this write cannot interleave); the record without them."""
    owner = session.execute(select(Job.lease_owner).where(Job.id == job_id).with_for_update()).scalar()
    if owner != holder:
        raise LeaseLost(job_id)
    return split_record(session.connection(), job_id, item, record)


def delete_for(connection: Connection, job_id: str) -> None:
    """Forget every page of the job, per-shot keys and counts (its attempt ended without results)."""
    connection.execute(delete(JobMemoryPage).where(JobMemoryPage.job_id == job_id))
    count_pages.delete_for(connection, job_id)


_SLICE = (select(JobMemoryPage.page, JobMemoryPage.data)
          .where(JobMemoryPage.job_id == bindparam("p_job"), JobMemoryPage.item == bindparam("p_item"),
                 JobMemoryPage.page >= bindparam("p_first"), JobMemoryPage.page <= bindparam("p_last"))
          .order_by(JobMemoryPage.page))


def read_slice(session: Session, job_id: str, item: int, offset: int, limit: int) -> list[str]:
    """Keys ``offset`` to ``offset + limit`` of one item (``limit`` at most :data:`MAX_SLICE`: two rows)."""
    if limit <= 0:
        return []
    first, last = offset // PAGE_SHOTS, (offset + limit - 1) // PAGE_SHOTS
    keys: list[str] = []
    for _page, data in session.connection().execute(
            _SLICE, {"p_job": job_id, "p_item": item, "p_first": first, "p_last": last}):
        keys.extend(data.split(_SEPARATOR))  # a page holds at least one key
    start = offset - first * PAGE_SHOTS
    return keys[start:start + limit]


def read_job(session: Session, job_id: str) -> dict[int, list[str]]:
    """Every item's keys in one query (a small job's record inlines them: one round trip, not one per item)."""
    keys: dict[int, list[str]] = {}
    rows = session.execute(select(JobMemoryPage.item, JobMemoryPage.data).where(JobMemoryPage.job_id == job_id)
                           .order_by(JobMemoryPage.item, JobMemoryPage.page))
    for item, data in rows:
        keys.setdefault(int(item), []).extend(data.split(_SEPARATOR))
    return keys


def read_item(session: Session, job_id: str, item: int) -> list[str]:
    """Every key of one item, in shot order (for protocols that answer with every shot)."""
    keys: list[str] = []
    rows = session.execute(select(JobMemoryPage.data).where(JobMemoryPage.job_id == job_id,
                                                              JobMemoryPage.item == item)
                           .order_by(JobMemoryPage.page))
    for (data,) in rows:
        keys.extend(data.split(_SEPARATOR))  # a page holds at least one key
    return keys


def stored_shots(session: Session, job_id: str, item: int) -> int:
    """How many keys of the item are in pages (0: none), from the rows' counts, not their text."""
    return int(session.scalar(select(func.coalesce(func.sum(JobMemoryPage.shots), 0)).where(
        JobMemoryPage.job_id == job_id, JobMemoryPage.item == item)) or 0)
