"""Where the client finds its settings, and that importing it stays light."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from xihe.client import Client, config_path, resolve_config, write_config_file


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("XIHE_URL", raising=False)
    monkeypatch.delenv("XIHE_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XIHE_CONFIG", raising=False)
    return tmp_path


def test_import_pulls_in_no_simulator_and_no_service() -> None:
    code = (
        "import sys, json, xihe.client\n"
        "heavy = ('numba', 'stim', 'scipy', 'fastapi', 'sqlalchemy', 'uvicorn', 'qiskit', 'matplotlib')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy}"
        " | {m for m in sys.modules if m.startswith(('xihe.service', 'xihe.engines', 'xihe.devices',"
        " 'xihe.compiler', 'xihe.app'))})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []


def test_import_does_no_file_or_network_io(tmp_path: Path) -> None:
    # A HOME that cannot be read and a URL that cannot be reached: importing must still succeed silently.
    code = "import xihe.client; print('ok')"
    env = {"HOME": str(tmp_path / "missing"), "XIHE_URL": "http://127.0.0.1:1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok" and not (tmp_path / "missing").exists()


def test_arguments_beat_environment_beat_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config_file("http://from-file:1", "file-token")
    assert resolve_config().url == "http://from-file:1"
    assert resolve_config().token == "file-token"
    monkeypatch.setenv("XIHE_URL", "http://from-env:2/")
    monkeypatch.setenv("XIHE_TOKEN", "env-token")
    assert resolve_config() == type(resolve_config())(url="http://from-env:2", token="env-token")
    assert resolve_config("http://arg:3", "arg-token").token == "arg-token"
    client = Client("http://arg:3", "arg-token")
    assert client.url == "http://arg:3" and client.token == "arg-token"
    client.close()


def test_env_token_with_file_url(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config_file("http://from-file:1", "file-token")
    monkeypatch.setenv("XIHE_TOKEN", "env-token")
    config = resolve_config()
    assert (config.url, config.token) == ("http://from-file:1", "env-token")


def test_no_settings_anywhere_gives_local_default_and_no_token(clean_env: Path) -> None:
    config = resolve_config()
    assert config.url == "http://127.0.0.1:8000" and config.token is None


def test_api_prefix_and_slashes_are_dropped_from_the_url(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_config("http://h:1/api/v1").url == "http://h:1"
    assert resolve_config("http://h:1/api/v1/").url == "http://h:1"
    assert resolve_config("https://h/xihe/api/v1/").url == "https://h/xihe"  # served under a path prefix
    monkeypatch.setenv("XIHE_URL", "http://env:2/api/v1")
    assert resolve_config().url == "http://env:2"


def test_config_file_is_private_and_quotes_safely(clean_env: Path) -> None:
    path = write_config_file('http://h:1/"x"', "tok\\en")
    assert path == config_path() == clean_env / ".xihe" / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = resolve_config()
    assert (config.url, config.token) == ('http://h:1/"x"', "tok\\en")
