"""``/metrics`` shows operators what happens (issue 18): running jobs per backend, queue-wait and run-time
histograms, lost leases, retries and connected agents, on a live ``xihe serve`` whose local worker serves ``sim``
while ``line10`` is claimed over HTTP the way a device agent claims it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.service.helpers import BELL, Server, server_env, wait_all


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-ops-metrics")
    env = server_env(data_dir, WORKERS="1", WORKER_BACKENDS='["sim"]', LEASE_SECONDS="1")
    srv = Server(data_dir, env).start()
    yield srv
    srv.stop()


def sample(text: str, name: str, labels: str = "") -> float | None:
    match = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def scrape(server: Server) -> str:
    return httpx.get(f"{server.url}/metrics").text  # from 127.0.0.1: XIHE_METRICS_NETWORKS' default


def test_histograms_lost_leases_and_agents(server: Server) -> None:
    with server.client() as client:
        done = client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).json()
        assert wait_all(client, [done["id"]])[done["id"]]["status"] == "DONE"
        agent_job = client.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 10}).json()
        token = client.post("/agents/tokens", json={"device": "line10"}).json()["token"]
    with httpx.Client(base_url=f"{server.url}/api/v1/agents/line10", timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as agent:
        claimed = agent.post("/claim", json={"agent": "probe-agent"})
        assert claimed.status_code == 200 and claimed.json()["job_id"] == agent_job["id"], claimed.text
        text = scrape(server)
        assert sample(text, "xihe_agents_connected", '{device="line10"}') == 1
        assert sample(text, "xihe_jobs_running", '{backend="line10"}') == 1
        # The "agent" never beats: its 1 s lease runs out and the worker's reaper puts the job back (LOST).
        deadline = time.monotonic() + 60  # liveness only
        while not (sample(scrape(server), "xihe_leases_lost_total") or 0) >= 1:
            assert time.monotonic() < deadline, scrape(server)
            time.sleep(0.5)
    text = scrape(server)
    assert (sample(text, "xihe_job_queue_wait_seconds_count") or 0) >= 2  # the sim job and the claimed one
    assert (sample(text, "xihe_job_queue_wait_seconds_bucket", '{le="+Inf"}') or 0) >= 2
    assert (sample(text, "xihe_job_run_seconds_count") or 0) >= 2  # the DONE attempt and the LOST one
    assert sample(text, "xihe_job_retries_total") is not None


def test_a_job_shows_its_effective_priority_after_the_users_cap(server: Server) -> None:
    # The demo user's allowance is the default XIHE_DEFAULT_MAX_PRIORITY, 5: a request for 9 is queued at 5.
    with server.client() as client:
        job = client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10, "priority": 9}).json()
        assert (job["priority"], job["effective_priority"]) == (9, 5)
        low = client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10, "priority": 2}).json()
        assert client.get(f"/jobs/{low['id']}").json()["effective_priority"] == 2
