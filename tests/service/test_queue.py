"""The queue's storage rules on real SQLite and PostgreSQL: claim order, leases, exactly-once results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.models import Job
from xihe.service.repositories import jobs, queue, users
from xihe.service.repositories.queue import Ending
from xihe.service.retry import RetryDecision, RetryPolicy
from xihe.service.states import ErrorStage, InvalidTransition, JobStatus, check_transition

PAYLOAD = {"circuits": ["OPENQASM 2.0;"], "parameters": None, "compile": True, "optimization_level": 2, "seed": 1,
           "memory": False}


def make_user(database: Database, name: str) -> int:
    with database.write() as session:
        return users.create_user(session, name).id


def add_job(database: Database, user_id: int, *, backend: str = "sim", priority: int = 0, memory: int = 0,
            age_seconds: float = 0.0) -> str:
    with database.write() as session:
        job = jobs.insert_job(session, user_id=user_id, backend=backend, kind="single", name=None, tags=[], shots=10,
                              priority=priority, effective_priority=priority, num_circuits=1, num_qubits=2,
                              memory_estimate=memory, payload=PAYLOAD, max_attempts=3, wall_seconds=60.0,
                              created_at=utcnow() - timedelta(seconds=age_seconds))
        return job.id


def claim(database: Database, worker: str = "w1", *, host: str = "h", budget: int = 2**40,
          exclusive: tuple[str, ...] = (), lease: float = 30.0, now=None) -> Job | None:
    with database.write() as session:
        return queue.claim_next_job(session, worker_id=worker, host=host, backends=None, exclusive=exclusive,
                                    memory_budget=budget, lease_seconds=lease, now=now or utcnow())


def status_of(database: Database, job_id: str) -> Job:
    with database.read() as session:
        job = jobs.get_job(session, job_id)
        assert job is not None
        return job


def test_claim_takes_higher_priority_then_older(database: Database) -> None:
    user = make_user(database, "a")
    old = add_job(database, user, age_seconds=10)
    new = add_job(database, user)
    urgent = add_job(database, user, priority=3)
    assert [claim(database).id for _ in range(3)] == [urgent, old, new]
    assert claim(database) is None


def test_fair_share_prefers_the_user_with_less_recent_usage(database: Database) -> None:
    heavy, light = make_user(database, "heavy"), make_user(database, "light")
    with database.write() as session:
        users.record_usage(session, heavy, 50.0, utcnow())
        users.record_usage(session, light, 5.0, utcnow())
    heavy_job = add_job(database, heavy, age_seconds=100)
    light_job = add_job(database, light)
    assert claim(database).id == light_job
    assert claim(database).id == heavy_job


def test_exclusive_backend_runs_one_job_at_a_time(database: Database) -> None:
    user = make_user(database, "a")
    first = add_job(database, user, backend="line10", age_seconds=2)
    add_job(database, user, backend="line10", age_seconds=1)
    sim_job = add_job(database, user, backend="sim")
    assert claim(database, "w1", exclusive=("line10",)).id == first
    assert claim(database, "w2", exclusive=("line10",)).id == sim_job
    assert claim(database, "w3", exclusive=("line10",)) is None


def test_job_that_does_not_fit_the_memory_budget_waits(database: Database) -> None:
    user = make_user(database, "a")
    big = add_job(database, user, memory=600, age_seconds=5)
    small = add_job(database, user, memory=300)
    assert claim(database, "w1", host="m1", budget=1000).id == big
    assert claim(database, "w2", host="m1", budget=1000).id == small
    assert claim(database, "w3", host="m1", budget=1000) is None  # nothing left anyway
    third = add_job(database, user, memory=200)
    assert claim(database, "w3", host="m1", budget=1000) is None  # 600 + 300 running: 200 does not fit
    assert claim(database, "w4", host="m2", budget=1000).id == third  # another machine has room


def test_only_the_lease_holder_stores_the_result_once(database: Database) -> None:
    user = make_user(database, "a")
    job_id = add_job(database, user)
    claim(database, "w1")
    with database.write() as session:
        assert not queue.finish_attempt(session, job_id, Ending.done([{"counts": {}}], 0.1),
                                        now=utcnow(), holder="intruder")
    with database.write() as session:
        assert queue.finish_attempt(session, job_id, Ending.done([{"counts": {"00": 10}}], 0.1), now=utcnow(),
                                    holder="w1")
    with database.write() as session:
        assert not queue.finish_attempt(session, job_id, Ending.done([{"counts": {}}], 0.1), now=utcnow(), holder="w1")
    with database.read() as session:
        assert jobs.results_for(session, job_id) == [{"counts": {"00": 10}}]
    assert status_of(database, job_id).status == "DONE"


def test_results_table_refuses_a_second_write(database: Database) -> None:
    user = make_user(database, "a")
    job_id = add_job(database, user)
    claim(database, "w1")
    with database.write() as session:
        queue.finish_attempt(session, job_id, Ending.done([{"counts": {}}], 0.1), now=utcnow(), holder="w1")
    from xihe.service.models import JobResult

    with pytest.raises(IntegrityError), database.write() as session:
        session.add(JobResult(job_id=job_id, index=0, data={}, created_at=utcnow()))
        session.flush()


def test_expired_lease_requeues_then_fails_after_three_attempts(database: Database) -> None:
    user = make_user(database, "a")
    job_id = add_job(database, user)
    policy = RetryPolicy(max_attempts=3)
    now = utcnow()
    for attempt in (1, 2, 3):
        job = claim(database, f"dead{attempt}", lease=1.0, now=now)
        assert job is not None and job.attempts == attempt
        now += timedelta(seconds=2)
        with database.write() as session:
            assert queue.requeue_expired(session, now=now, policy=policy) == [job_id]
    job = status_of(database, job_id)
    assert job.status == "FAILED" and job.error_stage == "execute" and "3 attempts" in (job.error_detail or "")
    with database.read() as session:
        outcomes = [a.outcome for a in jobs.attempts_for(session, job_id)]
    assert outcomes == ["LOST", "LOST", "LOST"]


def test_heartbeat_keeps_the_lease_and_reports_cancel(database: Database) -> None:
    user = make_user(database, "a")
    job_id = add_job(database, user)
    now = utcnow()
    claim(database, "w1", lease=1.0, now=now)
    with database.write() as session:
        state = queue.renew_lease(session, job_id, "w1", lease_seconds=10.0, now=now + timedelta(seconds=0.9))
    assert state.held and not state.cancel_requested
    with database.write() as session:
        assert queue.requeue_expired(session, now=now + timedelta(seconds=5), policy=RetryPolicy()) == []
        job = jobs.get_job(session, job_id)
        assert job is not None
        jobs.request_cancel(session, job)
    with database.write() as session:
        state = queue.renew_lease(session, job_id, "w1", lease_seconds=10.0, now=now + timedelta(seconds=1))
        assert state.cancel_requested
        assert queue.finish_attempt(session, job_id, Ending.cancelled(0.5), now=utcnow(), holder="w1")
    assert status_of(database, job_id).status == "CANCELLED"
    with database.write() as session:
        assert not queue.renew_lease(session, job_id, "w1", lease_seconds=10.0, now=utcnow()).held


def test_cancel_of_queued_job_is_immediate(database: Database) -> None:
    user = make_user(database, "a")
    job_id = add_job(database, user)
    with database.write() as session:
        job = jobs.get_job(session, job_id)
        assert job is not None
        jobs.request_cancel(session, job)
    assert status_of(database, job_id).status == "CANCELLED"
    assert claim(database) is None


def test_failed_attempt_with_retry_goes_back_to_the_queue(database: Database) -> None:
    user = make_user(database, "a")
    job_id = add_job(database, user)
    claim(database, "w1")
    with database.write() as session:
        assert queue.finish_attempt(session, job_id, Ending.error(RetryDecision(True, "blip"), ErrorStage.EXECUTE, 0.0),
                                    now=utcnow(), holder="w1")
    assert status_of(database, job_id).status == "QUEUED"
    claim(database, "w2")
    with database.write() as session:
        queue.finish_attempt(session, job_id, Ending.error(RetryDecision(False, "no route"), ErrorStage.COMPILE, 0.0),
                             now=utcnow(), holder="w2")
    job = status_of(database, job_id)
    assert (job.status, job.error_stage, job.error_detail, job.attempts) == ("FAILED", "compile", "no route", 2)
    with database.read() as session:
        attempts = [(a.outcome, a.detail) for a in jobs.attempts_for(session, job_id)]
    assert attempts == [("RETRY", "execute: blip"), ("FAILED", "compile: no route")]


def test_expired_lease_of_a_cancelled_job_ends_cancelled_and_a_late_holder_cannot_finish(database: Database) -> None:
    """The reaper and the holder end an attempt through the same guarded update: whoever comes second loses."""
    user = make_user(database, "a")
    job_id = add_job(database, user)
    now = utcnow()
    claim(database, "w1", lease=1.0, now=now)
    with database.write() as session:
        job = jobs.get_job(session, job_id)
        assert job is not None
        jobs.request_cancel(session, job)
    with database.write() as session:
        assert queue.requeue_expired(session, now=now + timedelta(seconds=2), policy=RetryPolicy()) == [job_id]
    with database.write() as session:
        assert not queue.finish_attempt(session, job_id, Ending.done([{"counts": {}}], 0.1), now=utcnow(),
                                        holder="w1")
    assert status_of(database, job_id).status == "CANCELLED"
    with database.read() as session:
        assert [a.outcome for a in jobs.attempts_for(session, job_id)] == ["LOST"]
        assert jobs.results_for(session, job_id) == []


def test_done_job_cannot_move_again() -> None:
    with pytest.raises(InvalidTransition):
        check_transition(JobStatus.DONE, JobStatus.QUEUED)


def test_queue_position_follows_claim_order(database: Database) -> None:
    a, b = make_user(database, "a"), make_user(database, "b")
    with database.write() as session:
        users.record_usage(session, a, 100.0, utcnow())
    a_jobs = [add_job(database, a, age_seconds=10 - i) for i in range(3)]
    b_job = add_job(database, b)
    with database.read() as session:
        positions = {job_id: jobs.queue_position(session, jobs.get_job(session, job_id)) for job_id in [*a_jobs, b_job]}
    assert positions[b_job] == 0
    assert [positions[j] for j in a_jobs] == [1, 2, 3]
    assert claim(database).id == b_job


def test_tokens_revoke_and_expire(database: Database) -> None:
    with database.write() as session:
        user = users.create_user(session, "t", password="pw")
        live = users.create_token(session, user)
        expiring = users.create_token(session, user, expires_at=utcnow() + timedelta(seconds=1))
        user_id = user.id
    with database.read() as session:
        assert users.authenticate_token(session, live.secret) is not None
        assert users.authenticate_token(session, expiring.secret, now=utcnow() + timedelta(seconds=5)) is None
        assert users.authenticate_token(session, "xh_wrong") is None
    with database.write() as session:
        assert users.revoke_token(session, user_id, live.row.id)
        assert not users.revoke_token(session, user_id, "nope")
    with database.read() as session:
        assert users.authenticate_token(session, live.secret) is None
        stored = [t.token_hash for t in users.list_tokens(session, user_id)]
    assert live.secret not in stored and all(len(h) == 64 for h in stored)


def test_backend_in_maintenance_keeps_its_queue_but_starts_nothing(database: Database) -> None:
    from xihe.service.repositories import calibrations

    user = make_user(database, "a")
    job_id = add_job(database, user, backend="line10")
    with database.write() as session:
        calibrations.set_backend_status(session, "line10", "maintenance")
    assert claim(database) is None
    with database.write() as session:
        calibrations.set_backend_status(session, "line10", "online")
    assert claim(database).id == job_id


def test_old_idempotency_keys_are_purged(database: Database) -> None:
    from xihe.service.repositories import idempotency

    user = make_user(database, "a")
    job_id = add_job(database, user)
    with database.write() as session:
        idempotency.store_key(session, user, "old", "h", job_id, utcnow() - timedelta(hours=30))
        idempotency.store_key(session, user, "new", "h", job_id, utcnow())
    with database.write() as session:
        assert idempotency.purge_keys(session, older_than=utcnow() - timedelta(hours=24)) == 1
        assert idempotency.keys_for_user(session, user) == ["new"]
        assert idempotency.find_key(session, user, "new", not_before=utcnow() + timedelta(seconds=1)) is None


def test_tag_filter_matches_whole_tags_only(database: Database) -> None:
    user = make_user(database, "a")
    with database.write() as session:
        for tags in (["exp-1", "bell"], ["exp-10"], ['we"ird', "100%"], []):
            jobs.insert_job(session, user_id=user, backend="sim", shots=1, payload=PAYLOAD, tags=tags)
    with database.read() as session:
        def tagged(tag: str) -> list[list[str]]:
            rows, total = jobs.list_jobs(session, user, tag=tag)
            assert total == len(rows)
            return sorted(job.tags for job in rows)

        assert tagged("exp-1") == [["exp-1", "bell"]]
        assert tagged('we"ird') == [['we"ird', "100%"]]
        assert tagged("100%") == [['we"ird', "100%"]]
        assert tagged("exp") == []


def test_expired_lease_check_is_a_read(database: Database) -> None:
    user = make_user(database, "a")
    add_job(database, user)
    now = utcnow()
    claim(database, "dead", lease=1.0, now=now)
    with database.read() as session:
        assert not queue.any_expired(session, now)
        assert queue.any_expired(session, now + timedelta(seconds=2))
