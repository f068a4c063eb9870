"""Characterization as jobs (issue 9): the admin call queues a suite, the service's own worker loop runs it, and
the figures appear at ``/backends/{name}/performance``, in the backend list and on the backend's web page.

A real app (``create_app``) on a real SQLite database, driven by Starlette's test client; the quick suite on a
2-qubit region with few shots keeps each run to seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from xihe.app import create_app
from xihe.service.catalog import DeviceCatalog
from xihe.service.characterization import enqueue_due
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.migrate import upgrade
from xihe.service.models import Job, PerformanceRun
from xihe.service.repositories import users
from xihe.service.settings import Settings
from xihe.service.worker import Worker

ALICE_PASSWORD = "alice-password-1"
QUICK = {"suite": "quick", "seed": 7, "shots": 50, "region_size": 2}


class Site:
    def __init__(self, data_dir: Path) -> None:
        self.settings = Settings(data_dir=data_dir, workers=1, memory_budget_bytes=2**30)
        self.database = Database.from_settings(self.settings)
        upgrade(self.database)
        with self.database.write() as session:
            alice = users.create_user(session, "alice", role="admin", password=ALICE_PASSWORD)
            bob = users.create_user(session, "bob", role="user", password="bob-password-1")
            self.admin_token = users.create_token(session, alice).secret
            self.user_token = users.create_token(session, bob).secret
        self.app = create_app(self.settings, database=self.database)
        self.client = TestClient(self.app, base_url="https://testserver")
        self.client.__enter__()

    def api(self, method: str, path: str, token: str | None, **kwargs):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def run_jobs(self) -> int:
        worker = Worker(self.settings, self.database)
        done = 0
        while worker.run_once():
            done += 1
        return done

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.database.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = Site(tmp_path_factory.mktemp("xihe-characterize"))
    yield site
    site.close()


def test_only_an_admin_may_queue_a_characterization(site: Site) -> None:
    assert site.api("POST", "/backends/line10/characterize", None, json=QUICK).status_code == 401
    refused = site.api("POST", "/backends/line10/characterize", site.user_token, json=QUICK)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    with site.database.read() as session:
        assert session.scalars(select(Job).where(Job.kind == "characterize")).first() is None


def test_bad_requests_are_clear_4xx(site: Site) -> None:
    unknown_suite = site.api("POST", "/backends/line10/characterize", site.admin_token, json={"suite": "nope"})
    assert unknown_suite.status_code == 422
    unknown_backend = site.api("POST", "/backends/nowhere/characterize", site.admin_token, json=QUICK)
    assert unknown_backend.status_code == 404
    assert "nowhere" in unknown_backend.json()["detail"]
    too_wide = site.api("POST", "/backends/line10/characterize", site.admin_token, json={**QUICK, "region_size": 11})
    assert too_wide.status_code == 422
    assert "region_size" in too_wide.json()["detail"]
    never = site.api("GET", "/backends/line10/performance", site.user_token)
    assert never.status_code == 404
    assert "characterize" in never.json()["detail"]


def test_admin_queues_worker_runs_figures_are_served_listed_and_drawn(site: Site) -> None:
    job_ids = []
    for seed in (7, 8):  # two runs: the history has two points
        queued = site.api("POST", "/backends/line10/characterize", site.admin_token, json={**QUICK, "seed": seed})
        assert queued.status_code == 201, queued.text
        body = queued.json()
        assert body["kind"] == "characterize" and body["status"] == "QUEUED" and body["backend"] == "line10"
        job_ids.append(body["id"])
    # The same queue, claim and lease path as every job: the worker loop runs both.
    assert site.run_jobs() == 2
    for job_id in job_ids:
        job = site.api("GET", f"/jobs/{job_id}", site.admin_token).json()
        assert job["status"] == "DONE", job
        assert job["attempts"] == 1
    with site.database.read() as session:
        runs = list(session.scalars(select(PerformanceRun).order_by(PerformanceRun.id)))
    assert [r.job_id for r in runs] == job_ids  # stored once per job, with its time
    assert all(r.backend == "line10" and r.suite == "quick" for r in runs)

    figures = site.api("GET", "/backends/line10/performance", site.user_token)
    assert figures.status_code == 200, figures.text
    perf = figures.json()
    assert perf["backend"] == "line10" and perf["suite"] == "quick" and perf["seed"] == 8 and perf["runs"] == 2
    assert len(perf["qubits"]) == 2
    for experiment in ("readout", "t1", "t2_echo", "rb", "interleaved_rb", "quantum_volume[n=2]"):
        assert experiment in perf["experiments"], sorted(perf["experiments"])
    t1 = perf["experiments"]["t1"]["estimates"]
    assert t1 and all(e["ci95"][0] <= e["value"] <= e["ci95"][1] for e in t1.values())
    summary = perf["summary"]
    # A noisy twin: T1 of tens of µs, small but non-zero errors.
    assert 1.0 < summary["t1_us"] < 1000.0
    assert 0.0 < summary["readout_error"] < 0.2
    assert summary["quantum_volume"] >= 1
    assert [p["value"] for p in perf["history"]["t1_us"]] == [runs[0].summary["t1_us"], runs[1].summary["t1_us"]]

    listed = {b["name"]: b for b in site.api("GET", "/backends", site.user_token).json()}
    headline = listed["line10"]["performance"]
    assert headline["quantum_volume"] == summary["quantum_volume"]
    assert headline["readout_error"] == summary["readout_error"]
    assert headline["gate_error_2q"] == summary["gate_error_2q"]
    assert "time" in headline
    assert listed["dongling"]["performance"] == {}  # never characterized

    # The backend's web page draws the figures and the history (for any logged-in user).
    web = TestClient(site.app, base_url="https://testserver")
    with web:
        login = web.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf
        response = web.post("/login", data={"name": "bob", "password": "bob-password-1",
                                            "csrf_token": csrf.group(1), "next": "/backends"},
                            follow_redirects=False)
        assert response.status_code == 303, response.text
        page = web.get("/backends/line10")
        assert page.status_code == 200
        section = page.text.split('id="performance"', 1)[1]
        figures_html = section.split('id="performance-figures"', 1)[1].split('id="performance-history"', 1)
        assert figures_html[0].count("<svg") >= 5  # readout, T1, T2 Ramsey, T2 echo, RB, ... figures
        assert figures_html[1].count("<svg") >= 4  # history of the headline figures
        assert "T1 (energy relaxation)" in figures_html[0]
        assert "Quantum volume" in section
        listing = web.get("/backends").text
        row = listing.split('href="/backends/line10"', 1)[1].split("</tr>", 1)[0]
        assert f'<td class="num qv">{summary["quantum_volume"]}</td>' in row
        other = web.get("/backends/dongling")
        assert "Not characterized yet" in other.text


def test_schedule_enqueues_each_due_chip_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, workers=1)
    database = Database.from_settings(settings)
    upgrade(database)
    catalog = DeviceCatalog()
    try:
        now = utcnow()
        due = enqueue_due(database, catalog, timedelta(hours=6), suite="quick", shots=100, seed=3, now=now)
        twins = sorted(name for name in catalog.names() if catalog.get(name).kind != "simulator")
        assert sorted(due) == twins and "sim" not in due
        # A second tick (another replica, or the next tick) finds them pending: nothing more is queued.
        assert enqueue_due(database, catalog, timedelta(hours=6), now=now + timedelta(minutes=5)) == []
        with database.read() as session:
            queued = list(session.scalars(select(Job).where(Job.kind == "characterize")))
        assert sorted(j.backend for j in queued) == twins
        assert all(j.payload["suite"] == "quick" and j.status == "QUEUED" for j in queued)
        # Off (interval 0): nothing.
        assert enqueue_due(database, catalog, timedelta(0), now=now + timedelta(days=1)) == []
    finally:
        database.dispose()


def test_a_remote_agent_is_never_handed_a_characterization_as_an_empty_job() -> None:
    from xihe.errors import XiheError
    from xihe.service.cluster.agents import compile_plan

    device = DeviceCatalog().get("line10")
    with pytest.raises(XiheError, match="own workers"):
        compile_plan(device, {**QUICK, "circuits": []}, 50)


def test_scheduler_thread_of_serve_queues_due_chips(tmp_path: Path) -> None:
    import time

    from xihe.service.characterization import CharacterizationScheduler

    settings = Settings(data_dir=tmp_path, workers=1, characterize_every_hours=24, characterize_suite="quick")
    database = Database.from_settings(settings)
    upgrade(database)
    scheduler = CharacterizationScheduler(settings, database, DeviceCatalog(), tick_seconds=0.05)
    assert scheduler.enabled
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        queued: list[Job] = []
        while time.monotonic() < deadline and not queued:
            with database.read() as session:
                queued = list(session.scalars(select(Job).where(Job.kind == "characterize")))
            time.sleep(0.05)
        assert queued, "the scheduler queued nothing"
        time.sleep(0.3)  # several more ticks: still one job per chip
        with database.read() as session:
            backends = [j.backend for j in session.scalars(select(Job).where(Job.kind == "characterize"))]
        assert sorted(backends) == sorted(set(backends)) and "sim" not in backends
    finally:
        scheduler.stop()
        database.dispose()
    assert not CharacterizationScheduler(Settings(data_dir=tmp_path), database, DeviceCatalog()).enabled
