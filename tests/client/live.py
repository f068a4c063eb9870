"""One live ``xihe serve`` per test process for the client, CLI, pyquafu and Qiskit tests, and pyquafu's own venv.

The server is a real subprocess (API + one local worker) on a free port with a throw-away SQLite data folder;
the tests talk to it over HTTP exactly as users do. pyquafu 0.4.5 pins numpy < 2, so it lives in its own venv
(``.venv-pyquafu/`` at the repository root, gitignored), created once and reused by later runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.helpers import Server, run_xihe, server_env

REPO_ROOT = Path(__file__).resolve().parents[2]
PYQUAFU_VERSION = "0.4.5"
PYQUAFU_VENV = REPO_ROOT / ".venv-pyquafu"
QUOTA_SHOTS = 100_000
# A guard against hangs, not a speed requirement: the machine running the suite may be heavily loaded.
WAIT_S = 300.0

_servers: dict[str, Server] = {}


def shared_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    """The process's live server (started on first use, stopped when the test session ends)."""
    server = _servers.get("main")
    if server is None:
        data_dir = tmp_path_factory.mktemp("xihe-live")
        # Workers serve every backend but grid36 (and its ideal variant), so tests can hold a job QUEUED (see
        # test_live_client.py); a per-user shot quota below the backends' own limit lets tests meet a quota error.
        served = '["sim", "sim-clifford", "line10", "dongling", "line10-ideal", "dongling-ideal"]'
        env = server_env(data_dir, WORKERS="1", WORKER_BACKENDS=served, DEFAULT_MAX_SHOTS=str(QUOTA_SHOTS),
                         MAX_WAIT_SECONDS=str(WAIT_S))
        server = Server(data_dir, env).start(timeout=WAIT_S)
        assert server.token, "xihe serve printed no demo token"
        request.session.config.add_cleanup(server.stop)
        _servers["main"] = server
    return server


def new_user_token(server: Server, name: str) -> str:
    """A fresh user of ``server`` (through the operator CLI, on the server's database) and its API token."""
    return run_xihe("users", "add", name, "--data-dir", str(server.data_dir), env=server.env).splitlines()[-1]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # pytest-xdist workers create the venv once, not in parallel
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def pyquafu_python() -> Path:
    """The interpreter of the pyquafu venv, creating it (``python -m venv`` + pip) on first use."""
    python = PYQUAFU_VENV / "bin" / "python"
    marker = PYQUAFU_VENV / f".pyquafu-{PYQUAFU_VERSION}-installed"
    if marker.exists():
        return python
    with _locked(REPO_ROOT / ".venv-pyquafu.lock"):
        if not marker.exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(PYQUAFU_VENV)], check=True, timeout=300)
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                 f"pyquafu=={PYQUAFU_VERSION}"],
                check=True,
                timeout=900,
            )
            marker.write_text(PYQUAFU_VERSION)
    return python


def run_pyquafu(script: Path, home: Path, server_url: str, token: str, *args: str, timeout: float = 900) -> dict:
    """Run ``script`` with pyquafu, its ``~/.quafu/api`` pointing at ``server_url``; returns the JSON it prints last."""
    (home / ".quafu").mkdir(parents=True, exist_ok=True)
    (home / ".quafu" / "api").write_text(json.dumps({"token": token, "url": server_url.rstrip("/") + "/"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XIHE_", "PYTHON", "VIRTUAL_ENV"))}
    env |= {"HOME": str(home), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [str(pyquafu_python()), str(script), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(
            f"pyquafu script failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])
