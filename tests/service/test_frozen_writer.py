"""A writer frozen while it holds a lock (SIGSTOP, a paused VM) gets a bounded answer from a live ``xihe serve``
(issue 18, the chaos suite's SQLite gap): a write that needs the lock waits ``write_wait_seconds`` and answers 503
with ``Retry-After``, having changed nothing; reads go on meanwhile; once the writer resumes, the frozen
transaction's data and every job are intact and the retried write succeeds.

SQLite: the frozen process holds the machine's write lock, which every write takes. PostgreSQL: it holds a job's
row lock (the case the server's ``lock_timeout`` bounds); writes to other rows never wait there.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.helpers import BELL, Server, job_rows, live_server, wait_all

WAIT = "1"  # write_wait_seconds in these servers: healthy writes take milliseconds
LIVENESS_S = 60  # how long a request may take before the test says it waits for the frozen writer (not a bound)

SQLITE_HOLDER = """
import os, signal, sys
from sqlalchemy import text
from xihe.service.db import Database
database = Database(sys.argv[1])
with database.write() as session:
    session.execute(text("UPDATE jobs SET name = 'written while frozen' WHERE id = :id"), {"id": sys.argv[2]})
    print("holding", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
print("committed", flush=True)
"""

POSTGRES_HOLDER = """
import os, signal, sys
import psycopg
with psycopg.connect(sys.argv[1].replace("+psycopg", "")) as conn:
    conn.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE", (sys.argv[2],))
    conn.execute("UPDATE jobs SET name = 'written while frozen' WHERE id = %s", (sys.argv[2],))
    print("holding", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
print("committed", flush=True)
"""


class FrozenWriter:
    """A process that opens a write transaction on ``job_id``'s row, then stops itself (SIGSTOP) inside it."""

    def __init__(self, script: str, url: str, job_id: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", script, url, job_id], stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "holding"

    def resume(self) -> str:
        self.process.send_signal(signal.SIGCONT)
        out, _ = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, out
        return out.strip()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


def answer_within_liveness(send: Callable[[], httpx.Response]) -> httpx.Response | None:
    """``send()``'s answer, or None if it is still waiting after the liveness window (it waits for the frozen
    writer, which never resumes by itself)."""
    answer: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answer.append(send()), daemon=True)
    thread.start()
    thread.join(LIVENESS_S)
    return answer[0] if answer else None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, str, str]]:
    """A server with one worker, its database URL and the frozen writer's script for that database."""
    script = SQLITE_HOLDER if request.param == "sqlite" else POSTGRES_HOLDER
    with live_server(tmp_path, request.param, WORKERS="1", WORKER_BACKENDS='["sim"]',
                     WRITE_WAIT_SECONDS=WAIT) as (server, url):
        yield server, url, script


def test_a_frozen_writer_gets_writes_a_503_and_loses_nothing(live: tuple[Server, str, str]) -> None:
    server, url, script = live
    with server.client() as client:
        done = [client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 50, "name": f"before {i}"})
                .json()["id"] for i in range(3)]
        # No worker serves line10 here: this job stays QUEUED, and the frozen writer holds its row.
        queued = client.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 50, "name": "queued"})
        assert queued.status_code == 201, queued.text
        queued_id = queued.json()["id"]
        wait_all(client, done)
        frozen = FrozenWriter(script, url, queued_id)
        try:
            # A write the frozen process blocks on either database: the cancel updates the job's row.
            blocked = answer_within_liveness(lambda: client.post(f"/jobs/{queued_id}/cancel"))
            assert blocked is not None, "the write waited for the frozen writer without bound"
            assert blocked.status_code == 503, blocked.text
            problem = blocked.json()
            assert problem["code"] == "database_busy" and problem["limit"] == "write_wait_seconds"
            assert problem["allowed"] == float(WAIT) and "write_wait_seconds" in problem["detail"]
            assert int(blocked.headers["Retry-After"]) > 0
            submit = answer_within_liveness(lambda: client.post(
                "/jobs", json={"qasm": BELL, "backend": "sim", "shots": 50, "name": "during"},
                headers={"Idempotency-Key": "during-the-freeze"}))
            assert submit is not None, "the submit waited for the frozen writer without bound"
            if url.startswith("sqlite"):  # one write lock for the whole database
                assert submit.status_code == 503 and submit.json()["code"] == "database_busy", submit.text
            else:  # a row lock holds up only the writes to that row
                assert submit.status_code == 201, submit.text
            reads = [client.get(f"/jobs/{job_id}") for job_id in [*done, queued_id]]  # reads go on meanwhile
            assert [read.json()["status"] for read in reads] == ["DONE"] * 3 + ["QUEUED"], [r.text for r in reads]
        finally:
            resumed = frozen.resume() if frozen.process.poll() is None else ""
            frozen.kill()
        assert resumed == "committed"
        # The frozen transaction committed whole; the refused writes changed nothing and succeed when retried.
        cancelled = client.post(f"/jobs/{queued_id}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED", cancelled.text
        assert cancelled.json()["name"] == "written while frozen"
        retried = client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 50, "name": "during"},
                              headers={"Idempotency-Key": "during-the-freeze"})
        assert retried.status_code in (200, 201), retried.text
        during = retried.json()["id"]
        wait_all(client, [during])
        names = [job["name"] for job in client.get("/jobs", params={"limit": 50}).json()["items"]]
        assert sorted(names) == ["before 0", "before 1", "before 2", "during", "written while frozen"], names
    rows = job_rows(url, [*done, during])
    assert all(row["status"] == "DONE" and row["results"] == 1 for row in rows.values()), rows
