"""Count pages on real SQLite and PostgreSQL (issue 18): a record keeps its most frequent page, slices across rows
are exact, the whole counts come back past a page and are refused past a caller's limit, and a memory job's counts
pages go with its attempt when it ends without results."""

from __future__ import annotations

import random

import pytest

from tests.service.test_queue import add_job, claim, make_user
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.problems import Problem
from xihe.service.repositories import count_pages, jobs, memory_pages, queue
from xihe.service.repositories.count_pages import PAGE_OUTCOMES
from xihe.service.retry import RetryDecision
from xihe.service.states import ErrorStage

RNG = random.Random(18)
COUNTS = {format(i, "017b"): RNG.randint(1, 50) for i in range(2 * PAGE_OUTCOMES + 5)}
SHOTS = sum(COUNTS.values())
ORDER = sorted(COUNTS.items(), key=lambda kv: (-kv[1], kv[0]))  # what the pages hold, in order


def record() -> dict:
    return {"counts": dict(COUNTS), "probabilities": {k: v / SHOTS for k, v in COUNTS.items()}, "shots": SHOTS}


def test_a_record_keeps_the_most_frequent_page_and_slices_are_exact(database: Database) -> None:
    job_id = add_job(database, make_user(database, "counts-a"))
    with database.write() as session:
        stored = count_pages.split_counts(session.connection(), job_id, 0, record())
    assert list(stored["counts"].items()) == ORDER[:PAGE_OUTCOMES]
    assert stored["counts_outcomes"] == len(COUNTS) and set(stored["probabilities"]) == set(stored["counts"])
    assert count_pages.is_paged(stored)
    with database.read() as session:
        for offset, limit in [(0, PAGE_OUTCOMES), (PAGE_OUTCOMES - 2, 9), (2 * PAGE_OUTCOMES, PAGE_OUTCOMES),
                              (len(COUNTS), 5)]:
            got = count_pages.read_slice(session, job_id, 0, offset, limit)
            assert list(got.items()) == ORDER[offset:offset + limit]
        whole = count_pages.with_all_counts(session, job_id, 0, stored)
        assert whole["counts"] == COUNTS and whole["probabilities"]["0" * 17] == COUNTS["0" * 17] / SHOTS
        assert dict(count_pages.PagedCounts(session, job_id, 0, len(COUNTS)).items()) == COUNTS  # page by page


def test_small_counts_stay_in_the_record() -> None:
    small = {"counts": {"0": 2, "1": 1}, "probabilities": {"0": 2 / 3, "1": 1 / 3}, "shots": 3}
    assert count_pages.split_counts(None, "j", 0, small) is small  # type: ignore[arg-type]  # nothing written


def test_results_for_reads_the_whole_counts_and_an_attempt_without_results_leaves_no_pages(
        database: Database) -> None:
    job_id = add_job(database, make_user(database, "counts-b"))
    assert claim(database, "w1") is not None
    with database.write() as session:  # a per-shot job's item, stored under the lease while the job runs
        memory_pages.store_item(session, job_id, "w1", 0, {**record(), "memory": ["0"]})
    with database.write() as session:
        ending = queue.Ending.error(RetryDecision(True, "boom"), ErrorStage.EXECUTE, 0.1)
        assert queue.finish_attempt(session, job_id, ending, now=utcnow(), holder="w1")
    with database.read() as session:
        assert count_pages.read_item(session, job_id, 0) == {}
    assert claim(database, "w2") is not None
    with database.write() as session:
        assert queue.finish_attempt(session, job_id, queue.Ending.done([record()], 0.1), now=utcnow(), holder="w2")
    with database.read() as session:
        assert jobs.results_for(session, job_id)[0]["counts"] == COUNTS
        assert len(jobs.results_for(session, job_id, all_counts=False)[0]["counts"]) == PAGE_OUTCOMES
        with pytest.raises(Problem) as refused:  # a protocol that answers with whole counts, past its limit
            jobs.results_for(session, job_id, counts_limit=PAGE_OUTCOMES)
    assert refused.value.status == 413 and f"{PAGE_OUTCOMES:,}" in refused.value.detail
