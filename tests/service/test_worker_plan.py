"""The worker reads a job as submit priced it: each program text parsed once, planned within the settings' budget.

A real app (``create_app``) on a real SQLite database, driven by Starlette's test client, and the service's own
worker loop in this process. The parser is counted by wrapping the function every QASM read goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import xihe.qasm as qasm_module
from xihe.app import create_app
from xihe.service.db import Database
from xihe.service.migrate import upgrade
from xihe.service.repositories import users
from xihe.service.settings import Settings
from xihe.service.worker import Worker

SWEEP = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
ry(theta) q[0];
cx q[0],q[1];
measure q -> c;
"""


def ghz_with_t(n: int) -> str:
    """An entangled, non-Clifford, low-entanglement circuit: a GHZ state with a ``t`` on its first qubit."""
    body = ["h q[0];", "t q[0];", *(f"cx q[{i}],q[{i + 1}];" for i in range(n - 1)), "measure q -> c;"]
    return "\n".join(["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];", *body])


class Site:
    """One platform on a fresh SQLite folder with a chosen memory budget, one user, a worker run on demand."""

    def __init__(self, data_dir: Path, memory_budget: int) -> None:
        self.settings = Settings(data_dir=data_dir, workers=1, memory_budget_bytes=memory_budget)
        self.database = Database.from_settings(self.settings)
        upgrade(self.database)
        with self.database.write() as session:
            user = users.create_user(session, "planner", role="user", password="planner-password-1")
            self.token = users.create_token(session, user).secret
        self.client = TestClient(create_app(self.settings, database=self.database), base_url="https://testserver")
        self.client.__enter__()

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.post("/api/v1/jobs", json=body, headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def job(self, job_id: str) -> dict[str, Any]:
        answer = self.client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {self.token}"})
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def run_jobs(self) -> None:
        worker = Worker(self.settings, self.database)
        try:
            while worker.run_once():
                pass
        finally:
            worker.close()

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every program text the QASM reader parses while the test runs."""
    seen: list[str] = []
    real: Callable[..., Any] = qasm_module._parse

    def counted(text: str, *args: Any) -> Any:
        seen.append(text)
        return real(text, *args)

    monkeypatch.setattr(qasm_module, "_parse", counted)
    return seen


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path, 2**30)
    yield made
    made.close()


@pytest.fixture
def small_site(tmp_path: Path) -> Iterator[Site]:
    made = Site(tmp_path, 12 * 2**20)
    yield made
    made.close()


def test_a_sweep_is_parsed_once_at_submit_and_once_in_the_worker(site: Site, parses: list[str]) -> None:
    points = [{"theta": 0.05 * i} for i in range(40)]
    job = site.submit({"qasm": SWEEP, "backend": "sim", "shots": 20, "parameters": points, "seed": 1})
    assert parses.count(SWEEP) == 1  # submit: parse, then bind 40 times
    site.run_jobs()
    done = site.job(job["id"])
    assert done["status"] == "DONE"
    assert len(done["results"]) == 40
    assert parses.count(SWEEP) == 2  # the worker read the text once for all 40 points (it once read it 40 times)


def test_a_batch_parses_each_distinct_text_once_in_the_worker(site: Site, parses: list[str]) -> None:
    bell = SWEEP.replace("ry(theta) q[0];", "h q[0];")
    job = site.submit({"circuits": [bell, bell, ghz_with_t(3)], "backend": "sim", "shots": 20, "seed": 2})
    site.run_jobs()
    assert site.job(job["id"])["status"] == "DONE"
    assert parses.count(bell) == 3  # two at submit (each item is checked), one in the worker for both items


def test_the_worker_plans_within_the_settings_budget_as_submit_priced_it(small_site: Site) -> None:
    """A 20-qubit state vector (16 MiB) exceeds a 12 MiB budget: submit prices the job on the MPS engine, and the
    worker must run it there too (it once planned with half the machine's RAM and ran the state vector)."""
    job = small_site.submit({"qasm": ghz_with_t(20), "backend": "sim", "shots": 200, "seed": 3})
    small_site.run_jobs()
    done = small_site.job(job["id"])
    assert done["status"] == "DONE", done
    result = done["result"]
    assert result["metadata"]["engine"] == "mps"
    assert set(result["counts"]) == {"0" * 20, "1" * 20}
