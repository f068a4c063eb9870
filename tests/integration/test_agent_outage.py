"""A real ``xihe agent`` survives the platform freezing (its requests time out) and going away altogether (refused
connections), logs each outage, and serves the device again once the platform is back -- the same process, no
restart (issue 18, item 7). Before, ``AgentClient._post`` re-raised after a fixed 60 s window and nothing caught it,
so the agent exited and the chip stayed unserved."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_cluster_agent import device_token, kill9, start_agent
from tests.service.helpers import BELL, Server, server_env, wait_all


@pytest.fixture()
def platform(tmp_path: Path) -> Iterator[Server]:
    env = server_env(tmp_path, lease_seconds="3", heartbeat_seconds="0.5")
    server = Server(tmp_path, env).start("--no-workers")
    try:
        yield server
    finally:
        server.stop()


def _wait_for(predicate: object, what: str, bound: float = 60.0) -> None:
    """Liveness only (the bound is far above the expected wait): poll ``predicate`` until true."""
    deadline = time.monotonic() + bound
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _serves(server: Server) -> None:
    with server.client() as client:
        job = client.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 50, "seed": 1}).json()
        assert wait_all(client, [job["id"]])[job["id"]]["status"] == "DONE"


def test_the_agent_outlives_a_frozen_and_a_stopped_platform(platform: Server, tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    agent = start_agent(platform, device_token(platform), log, "--timeout", "2", "--max-backoff", "0.5")
    outages = lambda: log.read_text().count("platform unavailable")
    try:
        assert platform.process is not None
        # Frozen: the agent's requests time out again and again (kill -STOP keeps the listening socket).
        before = outages()
        os.killpg(platform.process.pid, signal.SIGSTOP)
        _wait_for(lambda: outages() > before, "the agent logged no outage of the frozen platform")
        os.killpg(platform.process.pid, signal.SIGCONT)
        _wait_for(lambda: "platform reachable again" in log.read_text(), "the agent did not resume")
        # Gone: the server stops; connections are refused for as long as it is away.
        before = outages()
        platform.stop()
        _wait_for(lambda: outages() > before, "the agent logged no outage of the stopped platform: " + log.read_text())
        assert agent.poll() is None, log.read_text()
        platform.start("--no-workers")
        _serves(platform)  # the same agent process claims and runs a job on the restarted platform
        assert agent.poll() is None and log.read_text().count("platform reachable again") >= 2
    finally:
        kill9(agent)
