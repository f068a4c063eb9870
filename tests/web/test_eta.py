"""The honest queue estimate: a start and finish with a band from the backend's measured job durations, the jobs
ahead (running ones included) and the owner's fair-share usage; the API and the pages say the same thing."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.service.helpers import BELL
from tests.web.conftest import Site
from tests.web.test_pages import submit
from xihe.service.clock import utcnow
from xihe.service.models import Job
from xihe.service.repositories import users
from xihe.service.scheduling import BAND_SIGMAS, add_usage, queue_estimate

DURATIONS = [4.0, 6.0, 5.0, 7.0, 3.0, 5.0]  # measured execution seconds of line10's recent jobs


def test_a_queued_job_gets_a_start_band_a_finish_and_the_reason(site: Site, alice: TestClient) -> None:
    done = [submit(alice, backend="line10", shots="10") for _ in DURATIONS]
    running = submit(alice, backend="line10", shots="10")
    ahead = submit(alice, backend="line10", shots="10")
    mine = submit(alice, backend="line10", shots="10")
    now = utcnow()
    with site.database.write() as session:
        for job_id, seconds in zip(done, DURATIONS, strict=True):
            row = session.get(Job, job_id)
            assert row is not None
            row.status, row.exec_seconds, row.started_at, row.finished_at = "DONE", seconds, now, now
        row = session.get(Job, running)
        assert row is not None
        row.status, row.started_at = "RUNNING", now
        owner = users.get_user_by_name(session, "alice")
        assert owner is not None
        owner.usage_log2 = add_usage(-1e9, 90.0, now)
        token = users.create_token(session, owner, name="eta").secret
    page_status = alice.get(f"/jobs/{mine}/status.json").json()
    api = alice.get(f"/api/v1/jobs/{mine}", headers={"Authorization": f"Bearer {token}"}).json()
    eta = api["eta"]
    assert eta["jobs_ahead"] == 1 and eta["running"] == 1
    mean, spread = statistics.fmean(DURATIONS), statistics.pstdev(DURATIONS)
    start = datetime.fromisoformat(eta["start"])
    earliest, latest = datetime.fromisoformat(eta["start_earliest"]), datetime.fromisoformat(eta["start_latest"])
    finish = datetime.fromisoformat(eta["finish"])
    # one slot: the running job and the one ahead must finish first, two mean jobs; the band is 2 sigma of that sum
    assert (start - now).total_seconds() == pytest.approx(2 * mean, abs=1.0)
    assert (latest - start).total_seconds() == pytest.approx(BAND_SIGMAS * spread * 2 ** 0.5, rel=1e-3)
    assert (start - earliest).total_seconds() == pytest.approx(BAND_SIGMAS * spread * 2 ** 0.5, rel=1e-3)
    assert (finish - start).total_seconds() == pytest.approx(mean, rel=1e-3)
    assert eta["text"].startswith("starts in under a minute")
    assert "1 job ahead, 1 running on 1 slot; your share this hour: 90 s of execution" in eta["text"]
    assert page_status["queue_text"] == eta["text"] or page_status["queue_text"].split(";")[1:] == \
        eta["text"].split(";")[1:]  # the same function: only the seconds between the two reads may differ
    page = alice.get(f"/jobs/{mine}").text
    assert "your share this hour: 90 s of execution" in page
    assert alice.get(f"/jobs/{ahead}/status.json").json()["queue_text"].count("next in the queue, 1 running") == 1
    with site.database.write() as session:  # leave the backend free
        for job_id in (running, ahead, mine):
            row = session.get(Job, job_id)
            assert row is not None
            row.status, row.finished_at = "CANCELLED", now + timedelta(seconds=1)


def test_the_band_widens_with_the_queue() -> None:
    now = utcnow()
    near = queue_estimate(1, 0, 1, now, seconds_per_circuit=60.0, spread_seconds=20.0)
    far = queue_estimate(16, 0, 1, now, seconds_per_circuit=60.0, spread_seconds=20.0)
    assert (far.start_latest - far.start) > (near.start_latest - near.start) * 3.9  # sqrt(16 / 1) = 4
    assert "in about 16 min (" in far.text(now) and "16 jobs ahead, 0 running on 1 slot" in far.text(now)


def test_a_batch_ahead_counts_as_its_circuits(site: Site, alice: TestClient) -> None:
    """The service rate is per circuit: a job behind a 20-circuit batch waits 20 circuits' time, not one job's."""
    measured = [submit(alice, backend="grid36", shots="10") for _ in range(5)]
    now = utcnow()
    with site.database.write() as session:  # grid36 ran five one-circuit jobs of 2 s each
        for job_id in measured:
            row = session.get(Job, job_id)
            assert row is not None
            row.status, row.exec_seconds, row.started_at, row.finished_at = "DONE", 2.0, now, now
        owner = users.get_user_by_name(session, "alice")
        assert owner is not None
        token = users.create_token(session, owner, name="batch").secret
    api = {"Authorization": f"Bearer {token}"}
    program = BELL.replace("qreg q[2];", "qreg q[2];\nx q[1];")
    big = alice.post("/api/v1/jobs", json={"circuits": [program] * 20, "backend": "grid36", "shots": 10},
                     headers=api).json()["id"]
    after_big = alice.post("/api/v1/jobs", json={"qasm": program, "backend": "grid36", "shots": 10},
                           headers=api).json()["id"]
    etas = {job_id: alice.get(f"/api/v1/jobs/{job_id}", headers=api).json()["eta"] for job_id in (big, after_big)}

    def seconds(job_id: str, field: str) -> float:
        return (datetime.fromisoformat(etas[job_id][field]) - utcnow()).total_seconds()

    assert seconds(big, "start") == pytest.approx(0.0, abs=1.0)  # a free slot
    assert seconds(big, "finish") == pytest.approx(40.0, abs=1.0)  # its own 20 circuits of 2 s
    assert seconds(after_big, "start") == pytest.approx(40.0, abs=1.0)  # behind the batch: 40 s, not 2 s
    assert "in under a minute" in etas[after_big]["text"] and "1 job ahead, 0 running" in etas[after_big]["text"]
    with site.database.write() as session:
        for job_id in (big, after_big):
            row = session.get(Job, job_id)
            assert row is not None
            row.status = "CANCELLED"
