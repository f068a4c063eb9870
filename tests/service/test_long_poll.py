"""A long poll (``GET /jobs/{id}?wait=``) sees its job finish from that finish's own wake-up, and reads the token
again only when a re-check is due.

A real app (``create_app``) on a real database (SQLite, and PostgreSQL where the machine has it), driven by
Starlette's test client; no worker, so a job finishes only when the test cancels it. The watcher's wake-up source
is the real one, wrapped so that it reports changes only: its half-second timer, which would hide a lost wake-up
behind a late answer, never fires, so what is checked is *which* reads the poll made, never how long it took.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from xihe.app import create_app
from xihe.service.api import deps
from xihe.service.db import Database
from xihe.service.repositories import jobs, users
from xihe.service.settings import Settings

GHZ = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


class ChangesOnly:
    """The watcher's real wake-up source without its timer: ``wait`` returns only on a change (or at shutdown),
    and tells the test each time it delivered one."""

    def __init__(self, inner: Any, stop: threading.Event) -> None:
        self.inner = inner
        self.stop = stop
        self.delivered = threading.Event()
        self.in_use = threading.Event()

    def wait(self, timeout: float) -> bool:
        self.in_use.set()
        while not self.stop.is_set():
            if self.inner.wait(0.05):
                self.delivered.set()
                return True
        return False

    def close(self) -> None:
        self.inner.close()


class Site:
    def __init__(self, settings: Settings, database: Database) -> None:
        self.database = database
        with database.write() as session:
            user = users.create_user(session, "poller", role="user", password="poller-password-1")
            self.token = users.create_token(session, user).secret
        self.client = TestClient(create_app(settings, database=database), base_url="https://testserver")
        self.client.__enter__()
        watcher = self.client.app.state.watcher  # type: ignore[attr-defined]
        self.wakeup = ChangesOnly(watcher._wakeup, watcher._stop)
        watcher._wakeup = self.wakeup
        assert self.wakeup.in_use.wait(30)  # the watcher's wait on the unwrapped source (up to its 0.5 s) is over
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def submit(self) -> str:
        answer = self.client.post("/api/v1/jobs", json={"qasm": GHZ, "backend": "sim", "shots": 10},
                                  headers=self.headers)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def cancel_now(self, job_id: str) -> None:
        """Finish the job as another process would: a committed CANCELLED with its wake-up (no HTTP)."""
        with self.database.write() as session:
            job = jobs.get_job(session, job_id)
            assert job is not None
            jobs.request_cancel(session, job)


@pytest.fixture
def site(settings: Settings, database: Database) -> Iterator[Site]:
    built = Site(settings, database)
    yield built
    built.client.__exit__(None, None, None)


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str,
             after: Callable[[int], None] = lambda _: None) -> list[Any]:
    """Wrap ``module.name`` (a repository read the route calls) to record each call's answer, then ``after(n)``."""
    real: Callable[..., Any] = getattr(module, name)
    seen: list[Any] = []

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        answer = real(*args, **kwargs)
        seen.append(answer)
        after(len(seen))
        return answer

    monkeypatch.setattr(module, name, wrapper)
    return seen


def test_a_job_that_finishes_right_after_the_status_read_wakes_the_poll(site: Site,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = site.submit()

    def finish_after_first_read(n: int) -> None:
        # The job finishes between the poll's status read and its wait, and the watcher takes that finish's
        # wake-up before the poll goes on: the case a wait registered after the read never hears of.
        if n == 1:
            site.wakeup.delivered.clear()
            site.cancel_now(job_id)
            assert site.wakeup.delivered.wait(30)

    reads = counting(monkeypatch, jobs, "user_job_status", finish_after_first_read)
    answer = site.client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30}, headers=site.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "CANCELLED"
    # One status read: the finish was seen from its own wake-up. Before, the poll registered only after its read,
    # missed that wake-up, and found the job finished only by reading its status again once its wait ran out.
    assert reads == ["QUEUED"]


def test_a_poll_rereads_its_token_only_when_a_recheck_is_due(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = site.submit()
    # No re-check falls due within this poll (the first is due RECHECK_TOKEN_SECONDS after authentication).
    monkeypatch.setattr(deps, "RECHECK_TOKEN_SECONDS", 3600.0)
    checks = counting(monkeypatch, users, "token_is_live")

    def finish_once_waiting(n: int) -> None:
        if n == 1:
            threading.Thread(target=site.cancel_now, args=(job_id,)).start()

    counting(monkeypatch, jobs, "user_job_status", finish_once_waiting)
    answer = site.client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30}, headers=site.headers)
    assert answer.json()["status"] == "CANCELLED"
    # The token was read once, by authentication, milliseconds before. Before, every turn of the poll read it again.
    assert checks == []


def test_a_due_recheck_still_stops_a_poll_whose_token_was_revoked(site: Site,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = site.submit()
    monkeypatch.setattr(deps, "RECHECK_TOKEN_SECONDS", 0.0)  # every turn is due: the first wait re-checks at once

    def revoke_after_first_read(n: int) -> None:
        if n == 1:
            with site.database.write() as session:
                user = users.get_user_by_name(session, "poller")
                assert user is not None
                users.revoke_all_tokens(session, user.id)

    counting(monkeypatch, jobs, "user_job_status", revoke_after_first_read)
    answer = site.client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30}, headers=site.headers)
    assert answer.status_code == 401, answer.text


def test_the_watcher_wakes_a_poll_without_an_orm_session(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # The watcher's query runs on every database change while a poll waits (about once a job under load): it is one
    # prebuilt statement on a Core connection. Before, each ran in an ORM session (290 against 80 us of CPU).
    job_id = site.submit()
    watcher_sessions: list[str] = []

    def on_begin(session: Session, transaction: Any, connection: Any) -> None:
        if threading.current_thread().name == "xihe-watch":
            watcher_sessions.append("begin")

    def finish_after_first_read(n: int) -> None:
        if n == 1:
            site.wakeup.delivered.clear()
            site.cancel_now(job_id)
            assert site.wakeup.delivered.wait(30)

    reads = counting(monkeypatch, jobs, "user_job_status", finish_after_first_read)
    event.listen(Session, "after_begin", on_begin)
    try:
        answer = site.client.get(f"/api/v1/jobs/{job_id}", params={"wait": 30}, headers=site.headers)
    finally:
        event.remove(Session, "after_begin", on_begin)
    assert answer.json()["status"] == "CANCELLED"
    assert reads == ["QUEUED"]  # the finish was seen by the watcher's query, not by a second status read
    assert watcher_sessions == []
