"""Faults of the database itself, found by the chaos suite (issue 18): what the API answers when the database is away
or its disk is full, and what a lease holder frozen in the middle of a transaction does to everyone else."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tests.service.helpers import free_port
from xihe.service.api.errors import database_problem
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.models import Base
from xihe.service.repositories import jobs, queue, users
from xihe.service.repositories.queue import Ending
from xihe.service.retry import RetryPolicy
from xihe.service.settings import Settings

PAYLOAD = {"circuits": ["OPENQASM 2.0;"], "parameters": None, "compile": True, "optimization_level": 2, "seed": 1,
           "memory": False}


def test_an_unreachable_database_is_a_503_to_retry() -> None:
    engine = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")  # nothing listens there
    with pytest.raises(OperationalError) as refused, engine.connect():
        pass
    problem = database_problem(refused.value)
    assert problem is not None and problem.status == 503 and problem.code == "database_unavailable"
    assert float(problem.headers["Retry-After"]) > 0  # the SDK retries a 503 after this long


def test_a_full_sqlite_database_is_a_507(tmp_path: Path) -> None:
    """A real SQLITE_FULL: the file may not grow past its page limit, as on a full disk."""
    engine = create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with pytest.raises(OperationalError) as full, engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x BLOB)"))
        conn.execute(text("PRAGMA max_page_count = 8"))
        for _ in range(100):
            conn.execute(text("INSERT INTO t VALUES (randomblob(4096))"))
    assert "full" in str(full.value)
    problem = database_problem(full.value)
    assert problem is not None and problem.status == 507 and problem.code == "insufficient_storage"


def test_a_program_error_stays_a_500(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(IntegrityError) as broken, engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO t VALUES (1), (1)"))
    assert database_problem(broken.value) is None


@pytest.mark.postgres
def test_a_holder_frozen_mid_transaction_loses_its_lease_and_its_result(postgres_url: str) -> None:
    """A worker frozen (SIGSTOP) between its result's UPDATE and its COMMIT held the job's row lock for as long as
    it stayed frozen: the reaper skips locked rows, so the job stayed RUNNING (the chaos suite waited two minutes).
    The server now ends a session idle inside a transaction after ``idle_transaction_seconds``: the frozen
    transaction is rolled back, the lease is reaped, and the late COMMIT fails -- nothing is stored."""
    holder = Database.from_settings(Settings(database_url=postgres_url, idle_transaction_seconds=1))
    reaper = Database(postgres_url)
    try:
        with reaper.write() as session:  # the session's database, emptied (other tests leave queued jobs)
            session.execute(text(f"TRUNCATE {', '.join(t.name for t in Base.metadata.sorted_tables)} CASCADE"))
        with reaper.write() as session:
            user = users.create_user(session, f"frozen-{time.monotonic_ns()}").id
            job_id = jobs.insert_job(session, user_id=user, backend="sim", kind="single", name=None, tags=[],
                                     shots=10, priority=0, effective_priority=0, num_circuits=1, num_qubits=2,
                                     memory_estimate=0, payload=PAYLOAD, max_attempts=3, wall_seconds=60.0).id
        with holder.write() as session:
            claimed = queue.claim_next_job(session, worker_id="frozen", host="h", backends=["sim"], exclusive=(),
                                           memory_budget=2**40, lease_seconds=0.5, now=utcnow())
            assert claimed is not None and claimed.id == job_id
        with contextlib.ExitStack() as frozen:
            session = frozen.enter_context(holder.write())
            assert queue.finish_attempt(session, job_id, Ending.done([{"counts": {"00": 10}}], 0.1), now=utcnow(),
                                        holder="frozen")
            # Frozen here, before COMMIT. The reaper gets the job once the server has ended the frozen session
            # (liveness only: the bound is far above the one-second setting).
            deadline = time.monotonic() + 60
            requeued: list[str] = []
            while job_id not in requeued:
                assert time.monotonic() < deadline, "the frozen transaction still holds the job's row"
                time.sleep(0.2)
                with reaper.write() as reaping:
                    requeued = queue.requeue_expired(reaping, now=utcnow(), policy=RetryPolicy(3))
            with pytest.raises(DBAPIError) as ended:
                frozen.close()  # the thaw: its COMMIT finds its session gone
            problem = database_problem(ended.value)  # were it an API request: a 503 to retry, not a 500
            assert problem is not None and problem.status == 503, ended.value
        with reaper.read() as session:
            job = jobs.get_job(session, job_id)
            assert job is not None and job.status == "QUEUED" and job.attempts == 1
            assert jobs.results_for(session, job_id) == []
            assert [a.outcome for a in jobs.attempts_for(session, job_id)] == ["LOST"]
    finally:
        holder.dispose()
        reaper.dispose()
