"""The same API against the machine's PostgreSQL (a fresh database per test session), driven over HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from alembic.script import ScriptDirectory

from tests.service.helpers import (
    BELL,
    Server,
    basis_state_qasm,
    fresh_postgres_database,
    run_xihe,
    server_env,
    wait_all,
    xihe_command,
)
from xihe.service.migrate import alembic_config

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-pg")
    with fresh_postgres_database() as url:
        env = server_env(data_dir, url, WORKERS="2")
        refused = subprocess.run(xihe_command("serve", "--port", "1"), env=env, capture_output=True, text=True,
                                 timeout=120, check=False)
        assert refused.returncode == 1 and "xihe db upgrade" in refused.stderr  # replicas never migrate
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert f"database at revision {head}" in run_xihe("db", "upgrade", env=env)
        srv = Server(data_dir, env).start()
        yield srv
        srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def test_jobs_run_on_postgres(client: httpx.Client) -> None:
    assert client.get("/health").json()["database"] == "postgresql"
    single = client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 500, "seed": 3}).json()
    batch = client.post("/jobs", json={"circuits": [basis_state_qasm(v, 4) for v in (1, 9, 14)], "backend": "sim",
                                       "shots": 50}).json()
    twin = client.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 500, "seed": 3}).json()
    done = wait_all(client, [single["id"], batch["id"], twin["id"]])
    assert set(done[single["id"]]["result"]["counts"]) == {"00", "11"}
    assert [r["counts"] for r in done[batch["id"]]["results"]] == [{"0001": 50}, {"1001": 50}, {"1110": 50}]
    assert done[twin["id"]]["result"]["calibration_id"].startswith("line10")


def test_concurrent_submits_with_one_key_make_one_job(client: httpx.Client) -> None:
    body = {"qasm": BELL, "backend": "sim", "shots": 10, "tags": ["race"]}

    def send(_: int) -> tuple[int, str]:
        response = client.post("/jobs", json=body, headers={"Idempotency-Key": "race-1"})
        return response.status_code, response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(16)))
    assert {status for status, _ in answers} == {201} and len({job_id for _, job_id in answers}) == 1
    assert client.get("/jobs", params={"tag": "race"}).json()["total"] == 1


def test_isolation_and_calibration_history_on_postgres(server: Server, client: httpx.Client) -> None:
    job = client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).json()
    other = run_xihe("users", "add", "eve", env=server.env)
    with server.client(other) as eve:
        assert eve.get(f"/jobs/{job['id']}").status_code == 404
        assert eve.post(f"/jobs/{job['id']}/cancel").status_code == 404
    detail = client.get("/backends/dongling").json()
    at = client.get("/backends/dongling", params={"at": detail["calibration"]["time"]}).json()
    assert at["calibration"]["id"] == detail["calibration"]["id"]
