"""A remote agent for ``line10`` (a real ``xihe agent`` process over HTTP) serves the device's jobs end to end;
killed with kill -9 mid-job, its job goes back to the queue and a restarted agent finishes it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.helpers import Server, server_env, wait_all, xihe_command
from xihe import devices
from xihe.service import executor

REPO = Path(__file__).resolve().parents[2]
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def chain_qasm(num_qubits: int) -> str:
    body = "".join(f"cx q[{i}],q[{i + 1}];\n" for i in range(num_qubits - 1))
    return (f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{num_qubits}];\ncreg c[{num_qubits}];\nrx(theta) q[0];\n'
            f"{body}measure q -> c;\n")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("agent")
    env = server_env(data, lease_seconds="3", heartbeat_seconds="0.5")
    server = Server(data, env).start("--no-workers")
    try:
        yield server
    finally:
        server.stop()


def start_agent(server: Server, token: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**server.env, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        xihe_command("agent", "--device", "line10", "--url", server.url, "--token", token, "--poll", "0.1",
                     "--driver", "tests.integration.cluster_drivers:recalibrating", *extra),
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


def kill9(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def expected_counts(qasm: str, shots: int, seed: int, parameters: list[dict[str, float]] | None = None) -> list:
    """What the worker path computes for the same job on the twin (compile + run with the job's seeds)."""
    payload = {"circuits": [qasm], "parameters": parameters, "seed": seed, "compile": True,
               "optimization_level": 2}
    items = executor.work_items(payload, shots)
    return [r["counts"] for r in executor.run_items(devices.get("line10"), items, lambda: False)]


def device_token(server: Server) -> str:
    with server.client() as admin:
        response = admin.post("/agents/tokens", json={"device": "line10"})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def test_device_tokens_are_scoped_to_their_device(platform: Server) -> None:
    token = device_token(platform)
    with platform.client(token) as as_device:
        assert as_device.get("/jobs").status_code == 401  # not a user token
        assert as_device.post("/agents/dongling/claim", json={"agent": "x"}).status_code == 403
    with platform.client() as user:
        assert user.post("/agents/line10/claim", json={"agent": "x"}).status_code == 401
        assert user.post("/agents/tokens", json={"device": "nope"}).status_code == 422


def test_agent_serves_line10_and_survives_kill9_mid_job(platform: Server, tmp_path: Path) -> None:
    token = device_token(platform)
    log = tmp_path / "agent.log"
    first = start_agent(platform, token, log)
    try:
        with platform.client() as client:
            # End to end: a Bell job on line10 runs on the agent; counts equal the twin's, a fresh calibration
            # snapshot was recorded and the job names it.
            bell = client.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 1000, "seed": 11})
            assert bell.status_code == 201, bell.text
            [done] = wait_all(client, [bell.json()["id"]], timeout=120).values()
            assert done["status"] == "DONE", (done, log.read_text())
            result = done["result"]
            assert result["counts"] == expected_counts(BELL, 1000, 11)[0]
            assert result["versions"]["engine"] == "agent:recalibrating"
            assert result["calibration_id"].startswith("line10-v") and result["compiled_qasm"]
            assert result["calibration_id"] != devices.get("line10").calibration.id  # the agent's, not the file's

            # A longer sweep: kill -9 the agent while it runs the job.
            # Long enough (120 items) that the job is still running when the agent is killed, even on an idle machine.
            bindings = [{"theta": 0.02 * i} for i in range(120)]
            sweep = client.post("/jobs", json={"qasm": chain_qasm(8), "backend": "line10", "shots": 2000,
                                               "seed": 5, "parameters": bindings})
            assert sweep.status_code == 201, sweep.text
            job_id = sweep.json()["id"]
            deadline = time.monotonic() + 60
            while client.get(f"/jobs/{job_id}").json()["status"] != "RUNNING":
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            time.sleep(0.1)
            kill9(first)
            state = client.get(f"/jobs/{job_id}").json()
            assert state["status"] == "RUNNING" and state["attempts"] == 1 and state["results"] is None

            second = start_agent(platform, token, log)
            try:
                [finished] = wait_all(client, [job_id], timeout=180).values()
                # Cancel while the agent runs a job: it stops between circuits and reports it.
                long = client.post("/jobs", json={"qasm": chain_qasm(8), "backend": "line10", "shots": 2000,
                                                  "seed": 6, "parameters": bindings}).json()["id"]
                while client.get(f"/jobs/{long}").json()["status"] != "RUNNING":
                    assert time.monotonic() < deadline + 120, log.read_text()
                    time.sleep(0.05)
                assert client.post(f"/jobs/{long}/cancel").status_code == 200
                [stopped] = wait_all(client, [long], timeout=120).values()
                assert stopped["status"] == "CANCELLED" and stopped["results"] is None, stopped
            finally:
                kill9(second)
            assert finished["status"] == "DONE", (finished, log.read_text())
            assert finished["attempts"] == 2
            assert [r["counts"] for r in finished["results"]] == expected_counts(chain_qasm(8), 2000, 5, bindings)
            # Every result names the calibration the job was compiled under: one the agent posted.
            assert {r["calibration_id"] for r in finished["results"]} != {result["calibration_id"]}
    finally:
        kill9(first)


def test_agent_api_refuses_a_result_without_the_lease(platform: Server) -> None:
    token = device_token(platform)
    with platform.client() as client:
        job = client.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 100, "seed": 1}).json()
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{platform.url}/api/v1/agents/line10"
    with httpx.Client(headers=headers, timeout=60) as agent:
        claimed = agent.post(f"{base}/claim", json={"agent": "tester"})
        assert claimed.status_code == 200, claimed.text
        work = claimed.json()
        assert work["job_id"] == job["id"] and work["items"][0]["qasm"].startswith("OPENQASM 2.0;")
        stolen = agent.post(f"{base}/jobs/{job['id']}/result",
                            json={"lease": "agent-someone-else", "results": [{"index": 0, "counts": {"00": 100}}]})
        assert stolen.status_code == 409
        wrong = agent.post(f"{base}/jobs/{job['id']}/result",
                           json={"lease": work["lease"], "results": [{"index": 0, "counts": {"00": 99}}]})
        assert wrong.status_code == 422 and "100 shots" in wrong.json()["detail"]
        good = agent.post(f"{base}/jobs/{job['id']}/result",
                          json={"lease": work["lease"], "results": [{"index": 0, "counts": {"00": 60, "11": 40}}]})
        assert good.status_code == 200, good.text
        again = agent.post(f"{base}/jobs/{job['id']}/result",
                           json={"lease": work["lease"], "results": [{"index": 0, "counts": {"00": 100}}]})
        assert again.status_code == 409  # stored once
        # A calibration from a clock without a zone is taken as UTC; posting the same snapshot again adds no row.
        data = devices.get("line10").calibration.data
        body = {"id": "line10-v99-manual", "version": 99, "time": "2020-01-01T08:00:00", "data": data}
        first = agent.post(f"{base}/calibration", json=body)
        assert first.status_code == 201 and first.json()["new"] is True, first.text
        assert agent.post(f"{base}/calibration", json=body).json()["new"] is False
        # Data that does not describe the chip is refused (the next claims could not compile with it).
        bad = agent.post(f"{base}/calibration", json={**body, "id": "line10-v100-bad", "data": {"note": "x"}})
        assert bad.status_code == 422 and bad.json()["code"] == "bad_calibration", bad.text
    with platform.client() as client:
        assert client.get(f"/jobs/{job['id']}").json()["result"]["counts"] == {"00": 60, "11": 40}
