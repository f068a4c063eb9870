"""Per-shot memory pages on real SQLite and PostgreSQL (issue 18): slices across rows, writes only under the lease,
pages of an attempt that ends without results removed, and the worker's groups of items."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.service.test_queue import add_job, claim, make_user
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.repositories import memory_pages, queue
from xihe.service.repositories.memory_pages import PAGE_SHOTS
from xihe.service.retry import RetryDecision
from xihe.service.states import ErrorStage

KEYS = [format(i % 1024, "010b") for i in range(2 * PAGE_SHOTS + 5)]


def test_slices_across_rows_are_exact(database: Database) -> None:
    job_id = add_job(database, make_user(database, "pages-a"))
    with database.write() as session:
        assert memory_pages.write_pages(session.connection(), job_id, 0, KEYS) == len(KEYS)
    with database.read() as session:
        assert memory_pages.stored_shots(session, job_id, 0) == len(KEYS)
        assert memory_pages.read_item(session, job_id, 0) == KEYS
        for offset, limit in [(0, PAGE_SHOTS), (PAGE_SHOTS - 2, 5), (2 * PAGE_SHOTS, PAGE_SHOTS), (len(KEYS), 10)]:
            assert memory_pages.read_slice(session, job_id, 0, offset, limit) == KEYS[offset:offset + limit]


def test_only_the_lease_holder_writes_and_an_attempt_without_results_leaves_no_pages(database: Database) -> None:
    job_id = add_job(database, make_user(database, "pages-b"))
    assert claim(database, "w1") is not None
    record = {"counts": {"0": 3}, "memory": ["0", "0", "0"]}
    with database.write() as session, pytest.raises(memory_pages.LeaseLost):
        memory_pages.store_item(session, job_id, "someone-else", 0, record)
    with database.write() as session:
        stored = memory_pages.store_item(session, job_id, "w1", 0, record)
    assert stored["memory"] is None and stored["memory_shots"] == 3
    with database.write() as session:  # the attempt fails and goes back to the queue: its pages go with it
        ending = queue.Ending.error(RetryDecision(True, "boom"), ErrorStage.EXECUTE, 0.1)
        assert queue.finish_attempt(session, job_id, ending, now=utcnow(), holder="w1")
    with database.read() as session:
        assert memory_pages.stored_shots(session, job_id, 0) == 0


@dataclass
class Item:
    shots: int


def test_groups_hold_at_most_a_row_of_shots_or_one_larger_item() -> None:
    shots = [PAGE_SHOTS // 2, PAGE_SHOTS // 2, 1, 3 * PAGE_SHOTS, 5, 5]
    groups = [[item.shots for item in group] for group in memory_pages.shot_groups([Item(s) for s in shots])]
    assert groups == [[PAGE_SHOTS // 2, PAGE_SHOTS // 2], [1], [3 * PAGE_SHOTS], [5, 5]]
