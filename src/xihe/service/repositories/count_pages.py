"""Counts of many distinct outcomes in bounded pages, apart from the job's record (issue 18).

A 20-qubit ``h q;`` job with 10^6 shots has about 644,000 distinct outcomes: its counts (and probabilities) as one
record were 34 MB of JSON that every read of the job decoded, validated and encoded. A result with more than
:data:`PAGE_OUTCOMES` outcomes is therefore stored as rows of ``job_count_pages``, each a JSON object of at most
that many outcomes, in order of count, most frequent first (ties by outcome), and its record in ``job_results``
keeps only page 0 (the most frequent outcomes, with their probabilities) and ``counts_outcomes``, the number of
distinct outcomes in all. Pages concatenated in order are exactly the counts.

Readers get a slice (:func:`read_slice`: at most two rows for a slice of the API's size) or, for a protocol that
must answer with the whole dict, every page (:func:`read_item`, bounded by the caller). Pages are written in the
same transaction as the records that refer to them (:func:`split_counts`) and removed with the memory pages when
an attempt ends without results.
"""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from xihe.service.models import JobCountPage
from xihe.service.problems import Problem

# Outcomes per stored row and per answer: 16,384 outcomes of 20 bits are about 500 kB of JSON.
PAGE_OUTCOMES = 1 << 14
MAX_SLICE = PAGE_OUTCOMES
# Most outcomes a protocol that answers with the whole counts in one reply (the Quafu protocols) is given for a whole
# job, all its items together: about 3.5 MB of JSON and a few tens of MB in Python on one request thread; beyond it
# the request is refused with a 413 that names this limit and the pages to read instead.
WHOLE_COUNTS_LIMIT = 4 * PAGE_OUTCOMES

_INSERT = insert(JobCountPage)


def ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Outcomes in page order: most frequent first, ties by outcome."""
    return sorted(((str(key), int(count)) for key, count in counts.items()), key=lambda kv: (-kv[1], kv[0]))


def split_counts(connection: Connection, job_id: str, item: int, record: dict[str, Any]) -> dict[str, Any]:
    """Store a record's counts as pages when they exceed one page; the record as ``job_results`` keeps it (counts
    and probabilities of page 0 only, ``counts_outcomes`` set), or the record unchanged when its counts are small."""
    counts = record.get("counts") or {}
    if len(counts) <= PAGE_OUTCOMES:
        return record
    pairs = ordered(counts)
    for number, start in enumerate(range(0, len(pairs), PAGE_OUTCOMES)):
        page = pairs[start:start + PAGE_OUTCOMES]
        connection.execute(_INSERT, {"job_id": job_id, "item": item, "page": number, "outcomes": len(page),
                                     "data": json.dumps(dict(page), separators=(",", ":"))})
    first = dict(pairs[:PAGE_OUTCOMES])
    probabilities = record.get("probabilities") or {}
    return {**record, "counts": first, "counts_outcomes": len(pairs),
            "probabilities": {key: probabilities[key] for key in first if key in probabilities}}


def outcomes(record: dict[str, Any]) -> int:
    """How many distinct outcomes the record's whole counts have (paged or not), without reading a page."""
    return max(int(record.get("counts_outcomes") or 0), len(record.get("counts") or {}))


def too_many_outcomes(job_id: str, item: int, total: int, limit: int) -> Problem:
    """The 413 of a protocol that answers with whole counts, for a job whose items up to ``item`` have ``total``
    distinct outcomes, more than ``limit``."""
    return Problem(413, "too_many_outcomes", (
        f"job {job_id} has {total:,} distinct outcomes in its items 0 to {item}; this protocol answers with the "
        f"whole counts and takes at most {limit:,} for a job; read them in pages from "
        f"/api/v1/jobs/{job_id}/items/{item}/counts"))


def is_paged(record: dict[str, Any]) -> bool:
    """Whether the record's counts are only its first page (the rest in ``job_count_pages``)."""
    return int(record.get("counts_outcomes") or 0) > len(record.get("counts") or {})


def delete_for(connection: Connection, job_id: str) -> None:
    """Forget every count page of the job (its attempt ended without results)."""
    connection.execute(delete(JobCountPage).where(JobCountPage.job_id == job_id))


_SLICE = (select(JobCountPage.data)
          .where(JobCountPage.job_id == bindparam("p_job"), JobCountPage.item == bindparam("p_item"),
                 JobCountPage.page >= bindparam("p_first"), JobCountPage.page <= bindparam("p_last"))
          .order_by(JobCountPage.page))


def stored_outcomes(session: Session, job_id: str, item: int) -> int:
    """How many outcomes the item's count pages hold in all (0: its counts are in its record), from the rows'
    counts, not their text: a page's reader needs no decoding of the record (~1.2 MB with its first page)."""
    return int(session.scalar(select(func.coalesce(func.sum(JobCountPage.outcomes), 0)).where(
        JobCountPage.job_id == job_id, JobCountPage.item == item)) or 0)


_PAGE_TEXT = (select(JobCountPage.data)
              .where(JobCountPage.job_id == bindparam("p_job"), JobCountPage.item == bindparam("p_item"),
                     JobCountPage.page == bindparam("p_page")))


def page_text(session: Session, job_id: str, item: int, page: int) -> str | None:
    """Page ``page`` of one item's counts as stored: the JSON object a whole-page slice answers with, so a reader
    of aligned pages sends it as it is, neither decoding nor encoding 16,384 outcomes (on a request thread that
    holds the GIL meanwhile, ~10-20 ms a page on the loaded machine, which the event loop waits behind)."""
    data = session.connection().execute(_PAGE_TEXT, {"p_job": job_id, "p_item": item, "p_page": page}).scalar()
    return None if data is None else str(data)


def read_slice(session: Session, job_id: str, item: int, offset: int, limit: int) -> dict[str, int]:
    """Outcomes ``offset`` to ``offset + limit`` (in page order) of one item; ``limit`` at most :data:`MAX_SLICE`,
    so at most two rows are read."""
    if limit <= 0:
        return {}
    first, last = offset // PAGE_OUTCOMES, (offset + limit - 1) // PAGE_OUTCOMES
    pairs: list[tuple[str, int]] = []
    for (data,) in session.connection().execute(
            _SLICE, {"p_job": job_id, "p_item": item, "p_first": first, "p_last": last}):
        pairs.extend(json.loads(data).items())
    start = offset - first * PAGE_OUTCOMES
    return dict(pairs[start:start + limit])


def read_item(session: Session, job_id: str, item: int) -> dict[str, int]:
    """Every outcome of one item (for protocols that answer with the whole dict; the caller bounds how many)."""
    counts: dict[str, int] = {}
    rows = session.execute(select(JobCountPage.data).where(JobCountPage.job_id == job_id, JobCountPage.item == item)
                           .order_by(JobCountPage.page))
    for (data,) in rows:
        counts.update(json.loads(data))
    return counts


def iter_pages(session: Session, job_id: str, item: int, outcomes: int) -> Iterator[dict[str, int]]:
    """One item's count pages in order, each read by a query of its own, so that a reader holds one page (16,384
    outcomes) whatever the number of outcomes."""
    for page in range(-(-outcomes // PAGE_OUTCOMES)):
        for (data,) in session.connection().execute(
                _SLICE, {"p_job": job_id, "p_item": item, "p_first": page, "p_last": page}):
            yield json.loads(data)


class PagedCounts(Mapping[str, int]):
    """An item's whole counts as a read-only mapping read page by page each time it is iterated (``items()``,
    ``values()``, iteration), from ``session`` while it is open: what computes over every outcome (the estimator's
    moments, a marginal) then holds one page (16,384 outcomes), not the counts. Looking one outcome up scans the
    pages: for the rare reader that needs it, never in a loop."""

    def __init__(self, session: Session, job_id: str, item: int, outcomes: int) -> None:
        self._session, self._job_id, self._item, self._outcomes = session, job_id, item, outcomes

    def _pairs(self) -> Iterator[tuple[str, int]]:
        for page in iter_pages(self._session, self._job_id, self._item, self._outcomes):
            yield from page.items()

    def __len__(self) -> int:
        return self._outcomes

    def __iter__(self) -> Iterator[str]:
        return (key for key, _count in self._pairs())

    def __getitem__(self, key: str) -> int:
        for k, count in self._pairs():
            if k == key:
                return count
        raise KeyError(key)

    def items(self) -> ItemsView[str, int]:
        return _StreamedItems(self)

    def values(self) -> ValuesView[int]:
        return _StreamedValues(self)

    def __repr__(self) -> str:
        return f"PagedCounts({self._job_id!r}, item={self._item}, outcomes={self._outcomes})"


class _StreamedItems(ItemsView[str, int]):
    _mapping: PagedCounts

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return self._mapping._pairs()


class _StreamedValues(ValuesView[int]):
    _mapping: PagedCounts

    def __iter__(self) -> Iterator[int]:
        return (count for _key, count in self._mapping._pairs())


def streamed(session: Session, job_id: str, item: int, record: dict[str, Any]) -> dict[str, Any]:
    """The record with its whole counts as :class:`PagedCounts` when they are paged (read page by page as they are
    iterated; probabilities left out), else as stored."""
    if not is_paged(record):
        return record
    return {**record, "counts": PagedCounts(session, job_id, item, int(record["counts_outcomes"])),
            "probabilities": None}


def with_all_counts(session: Session, job_id: str, item: int, record: dict[str, Any]) -> dict[str, Any]:
    """The record with its whole counts (and probabilities, counts/shots) read back from its pages (the caller
    bounds how many: :func:`~xihe.service.repositories.jobs.results_for`'s ``counts_limit``)."""
    if not is_paged(record):
        return record
    counts = read_item(session, job_id, item)
    shots = int(record.get("shots") or 0) or sum(counts.values()) or 1
    return {**record, "counts": counts, "probabilities": {key: count / shots for key, count in counts.items()}}
