"""The README's "Coming from Quafu" snippets, run as a new user would: each client unmodified in its own venv,
with only the address and the token of the snippets replaced by the live test server's and a fresh user's."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.client.live import REPO_ROOT, new_user_token, pyquafu_python, shared_server
from tests.integration.quafu_clients import client_python
from tests.service.helpers import Server

README = REPO_ROOT / "README.md"
ADDRESS, TOKEN = "http://127.0.0.1:8000", "qf_..."


def snippet(name: str) -> str:
    found = re.search(rf"<!-- readme-check: {re.escape(name)} -->\n```\w*\n(.*?)\n```", README.read_text(), re.S)
    assert found, f"README has no {name} snippet"
    return found.group(1)


def run(python: Path, code: str, home: Path, env: dict[str, str] | None = None) -> str:
    home.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("XIHE_", "PYTHON", "VIRTUAL_ENV", "QUAFU_", "QPU_API_TOKEN"))}
    done = subprocess.run([str(python), "-c", code], env=clean | {"HOME": str(home), "MPLBACKEND": "Agg"} | (env or {}),
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


def ours(text: str, server: Server, token: str) -> str:
    return text.replace(ADDRESS, server.url).replace(TOKEN, token)


def test_pyquafu_snippet(server: Server, tmp_path: Path) -> None:
    token = new_user_token(server, "readme-pyquafu")
    (tmp_path / ".quafu").mkdir()
    config = json.loads(ours(snippet("pyquafu-config"), server, token))
    assert set(config) == {"token", "url"}  # the two values a pyquafu user changes
    (tmp_path / ".quafu" / "api").write_text(json.dumps(config))
    printed = run(pyquafu_python(), snippet("pyquafu"), tmp_path)
    last = printed.strip().splitlines()[-1]  # pyquafu prints its counts as an OrderedDict
    counts = {key: int(value) for key, value in re.findall(r"\('([01]+)', (\d+)\)", last)}
    assert last.startswith("OrderedDict(") and sum(counts.values()) == 1000
    assert max(counts, key=counts.get) in ("00", "11")


def test_quafu_sdk_snippet(server: Server, tmp_path: Path) -> None:
    token = new_user_token(server, "readme-quafu-sdk")
    env = dict(re.findall(r"^export (\w+)=(\S+)$", ours(snippet("quafu-sdk-env"), server, token), re.M))
    assert set(env) == {"QUAFU_BASE_URL", "QUAFU_API_KEY"}
    printed = run(client_python("quafu-sdk", "0.2.7", 11), snippet("quafu-sdk"), tmp_path,
                  env | {"QUAFU_CONFIG_DIR": str(tmp_path / ".quafu-sdk")})
    first, quota = printed.strip().splitlines()[-2:]
    assert first.startswith("{'00': ") and "'01'" not in first and first.endswith(" 1.0")  # ideal Bell: <ZZ> = 1
    assert ast.literal_eval(quota)["used"] == 1


def test_quafusqc_snippet(server: Server, tmp_path: Path) -> None:
    token = new_user_token(server, "readme-quafusqc")
    code = ours(snippet("quafusqc"), server, token)
    assert code.count(server.url) == 1 and code.count(token) == 1  # the only two changes
    counts = ast.literal_eval(run(client_python("quafusqc", "3.3.9", 12), code, tmp_path).strip().splitlines()[-1])
    assert sum(counts.values()) == 1024 and max(counts, key=counts.get) in ("00", "11")
