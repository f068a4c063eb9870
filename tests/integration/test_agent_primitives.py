"""Estimator and Sampler jobs on a device served by a real ``xihe agent`` process (the line10 twin's emulator
driver): the agent runs the measured circuits the claim hands out, and the answers match what the service's own
workers compute for the same job (same compiled circuits, same seeds)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.service.helpers import Server, server_env, wait_all, xihe_command
from xihe import devices, qasm
from xihe.circuit import Circuit
from xihe.service.catalog import DeviceCatalog
from xihe.service.estimate import prepare_estimate, pub_estimates, run_job
from xihe.service.estimate_schemas import EstimateCreate
from xihe.service.settings import Settings

REPO = Path(__file__).resolve().parents[2]
OBSERVABLES = [{"ZZ": 1.0, "IZ": 0.5}, {"XX": 1.0}]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("agent-primitives")
    server = Server(data, server_env(data, lease_seconds="5", heartbeat_seconds="0.5")).start("--no-workers")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def agent(platform: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with platform.client() as admin:
        token = admin.post("/agents/tokens", json={"device": "line10"}).json()["token"]
    log = tmp_path_factory.mktemp("agent-log") / "agent.log"
    process = subprocess.Popen(
        xihe_command("agent", "--device", "line10", "--url", platform.url, "--token", token, "--poll", "0.1"),
        env={**platform.env, "PYTHONPATH": str(REPO)}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        yield log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def bell() -> str:
    return qasm.dumps(Circuit(2).h(0).cx(0, 1))


def test_estimate_with_readout_and_zne_runs_on_the_agent_as_on_a_worker(platform: Server, agent: Path) -> None:
    body = {"backend": "line10", "precision": 0.05, "seed": 13, "pubs": [{"circuit": bell(),
                                                                         "observables": OBSERVABLES}],
            "mitigation": {"readout": True, "zne": {"noise_factors": [1, 3]}, "readout_calibration": "measured"}}
    with platform.client() as client:
        created = client.post("/estimate", json=body)
        assert created.status_code == 201, created.text
        [done] = wait_all(client, [created.json()["id"]], timeout=120).values()
        assert done["status"] == "DONE", (done, agent.read_text())
        answer = client.get(f"/estimate/{done['id']}")
    assert answer.status_code == 200, answer.text
    [pub] = answer.json()["pubs"]
    # 2 groups x 2 noise factors, then the readout calibration's all-|0> and all-|1> circuits.
    assert done["num_circuits"] == 2 * 2 + 2 and len(done["results"]) == 6
    assert all(r["versions"]["engine"] == "agent:emulator" for r in done["results"])
    assert [r["metadata"]["readout_calibration"]["prepared"] for r in done["results"][-2:]] == [0, 1]
    # The worker's path on the same job (same seed: same compiled circuits, folds and samples) gives the same
    # values; the agent's records carry the readout errors mitigation used.
    request = EstimateCreate.model_validate(body)
    payload = {**prepare_estimate(Settings(), DeviceCatalog(), request).payload, "seed": 13}
    [expected] = pub_estimates(payload, run_job(devices.get("line10"), payload, lambda: False))
    np.testing.assert_allclose(pub["values"], expected.values, atol=1e-12)
    assert all(len(r["metadata"]["readout_qubits"]) == 2 for r in done["results"][:4])
    assert 0.8 < pub["values"][0][0] < 1.7 and pub["readout_mitigated"]  # <ZZ> + 0.5 <IZ> of a Bell pair: 1


def test_sample_runs_on_the_agent_with_shots_from_its_counts(platform: Server, agent: Path) -> None:
    circuit = qasm.dumps(Circuit(2, 2).x(0).measure([0, 1], [0, 1]))
    with platform.client() as client:
        created = client.post("/sample", json={"backend": "line10", "shots": 500, "seed": 2,
                                               "pubs": [{"circuit": circuit}]})
        assert created.status_code == 201, created.text
        [done] = wait_all(client, [created.json()["id"]], timeout=120).values()
        assert done["status"] == "DONE", (done, agent.read_text())
        answer = client.get(f"/sample/{done['id']}").json()
    [pub] = answer["pubs"]
    [register] = pub["registers"]
    shots = [int(v, 16) for v in register["samples"][0]]
    assert pub["shots_from_counts"] and len(shots) == 500
    counts = done["results"][0]["counts"]  # c0_leftmost keys; register value bit i = c[i]
    assert {format(v, "02b")[::-1]: shots.count(v) for v in set(shots)} == counts

