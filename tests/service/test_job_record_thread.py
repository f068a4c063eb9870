"""Where ``GET /jobs/{id}`` reads a finished job's record: a small record (at most ``SMALL_RECORD_SHOTS`` shots in
all) on the event loop when the database is local (SQLite), where the hand-off to a pool thread cost more CPU than
the read (issue 13, service load); a record that may be large on the thread pool always, so its decoding and
encoding never hold up the event loop (issue 18); every read on the pool on PostgreSQL (a network round trip).

A real app on a real database, a real worker finishing the jobs in-process; the thread each results query runs on is
taken from SQLAlchemy's own cursor events (AnyIO names its pool threads "AnyIO worker thread").
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from xihe.app import create_app
from xihe.service.api.routes.jobs import SMALL_RECORD_SHOTS
from xihe.service.db import Database
from xihe.service.repositories import users
from xihe.service.settings import Settings
from xihe.service.worker import Worker

GHZ = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def test_small_record_is_read_on_the_loop_on_sqlite_and_a_large_one_on_the_pool(settings: Settings,
                                                                                 database: Database) -> None:
    with database.write() as session:
        user = users.create_user(session, "reader", role="user", password="reader-password-1")
        token = users.create_token(session, user).secret
    headers = {"Authorization": f"Bearer {token}"}
    threads: list[str] = []

    def record_thread(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM job_results" in statement:
            threads.append(threading.current_thread().name)

    event.listen(database.read_engine, "before_cursor_execute", record_thread)
    worker = Worker(settings, database)
    try:
        with TestClient(create_app(settings, database=database), base_url="https://testserver") as client:
            where = {}
            for shots in (1000, SMALL_RECORD_SHOTS + 1):
                answer = client.post("/api/v1/jobs", json={"qasm": GHZ, "backend": "sim", "shots": shots},
                                     headers=headers)
                assert answer.status_code == 201, answer.text
                assert worker.run_once()
                threads.clear()
                record = client.get(f"/api/v1/jobs/{answer.json()['id']}", params={"wait": 5}, headers=headers)
                assert record.status_code == 200 and record.json()["status"] == "DONE", record.text
                assert sum(record.json()["result"]["counts"].values()) == shots
                assert len(threads) == 1
                where[shots] = threads[0].startswith("AnyIO worker thread")
    finally:
        worker.close()
        event.remove(database.read_engine, "before_cursor_execute", record_thread)
    assert where == {1000: not database.is_sqlite, SMALL_RECORD_SHOTS + 1: True}
