"""The memory budget prices the results a worker holds at once (issue 18), on SQLite and PostgreSQL.

The worker stores per-shot results in groups of at most a page row's worth of shots (a larger item alone) as they
finish, for plain jobs and sampling jobs alike, so a job's figure is its largest group's whole results plus every
item's stored summary, not every item's results together. With a 64 MiB budget, 12 items of 16 qubits and 50,000
shots with per-shot memory (about 12 MB of results each, 142 MB together; 47 MiB priced now) are accepted and run
to DONE, as a job and as a sampling job; 12 items of 10^6 shots, whose one item alone takes about 110 MB, are
still refused at submit with a 422 that names the budget and the job's figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.service.helpers import Server, served, wait_all

BUDGET = 64 * 2**20
QUBITS = 16
SHOTS = 50_000
UNIFORM = (f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{QUBITS}];\ncreg c[{QUBITS}];\nh q;\n'
           "measure q -> c;\n")
ITEMS = 12


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served(request.param, tmp_path_factory.mktemp(f"xihe-budget-{request.param}"), WORKERS="1",
                HEARTBEAT_SECONDS="0.2", LEASE_SECONDS="5", MEMORY_BUDGET_BYTES=str(BUDGET)) as live:
        yield live


def test_a_per_shot_batch_is_priced_by_what_the_worker_holds_at_once(server: Server) -> None:
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "circuits": [UNIFORM] * ITEMS, "shots": SHOTS,
                                         "memory": True, "seed": 5, "compile": False})
        assert job.status_code == 201, job.text
        done = wait_all(client, [job.json()["id"]], timeout=300)[job.json()["id"]]
    assert done["status"] == "DONE", done
    assert [r["memory_shots"] for r in done["results"]] == [SHOTS] * ITEMS


def test_a_large_sampling_job_is_priced_and_stored_group_by_group(server: Server) -> None:
    with server.client() as client:
        job = client.post("/sample", json={"backend": "sim", "shots": SHOTS, "seed": 5, "compile": False,
                                           "pubs": [{"circuit": UNIFORM}] * ITEMS})
        assert job.status_code == 201, job.text
        done = wait_all(client, [job.json()["id"]], timeout=300)[job.json()["id"]]
        assert done["status"] == "DONE", done
        # Stored by the worker group by group: every item's keys are in pages, none in its record.
        assert all(r["memory"] is None and r["memory_shots"] == SHOTS for r in done["results"])
        page = client.get(f"/jobs/{done['id']}/items/{ITEMS - 1}/memory", params={"limit": 3}).json()
    assert page["total"] == SHOTS and len(page["memory"]) == 3


def test_a_job_past_the_budget_is_refused_naming_the_budget_and_its_figure(server: Server) -> None:
    with server.client() as client:
        refused = client.post("/jobs", json={"backend": "sim", "circuits": [UNIFORM] * ITEMS, "shots": 1_000_000,
                                             "memory": True, "compile": False})
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "too_large"
    figure = re.search(r"needs about ([0-9.]+) GiB at once", problem["detail"])
    assert figure is not None, problem["detail"]
    assert BUDGET / 2**30 < float(figure.group(1)) < 0.25  # one item's ~110 MB and the summaries, not 1.2 GiB
    assert "budget of 0.06 GiB" in problem["detail"]
