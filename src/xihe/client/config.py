"""Where the client finds its server and token: arguments, then ``XIHE_URL``/``XIHE_TOKEN``, then the config file.

The config file is ``~/.xihe/config.toml`` (``XIHE_CONFIG`` overrides the path), written by ``xihe login``::

    url = "https://xihe.example.org"
    token = "xh_..."

Nothing here runs at import time; the file is read only when a client is built without explicit settings.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from xihe.client.errors import NotLoggedInError
from xihe.client.transport import API_PREFIX

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class ClientConfig:
    """A resolved server address and token."""

    url: str
    token: str | None


def config_path() -> Path:
    """The config file: ``$XIHE_CONFIG`` if set, else ``~/.xihe/config.toml``."""
    override = os.environ.get("XIHE_CONFIG")
    return Path(override) if override else Path.home() / ".xihe" / "config.toml"


def read_config_file(path: Path | None = None) -> dict[str, str]:
    """The ``url``/``token`` pairs stored in the config file (empty when there is none)."""
    path = path or config_path()
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {key: str(value) for key, value in data.items() if key in ("url", "token") and value}


def write_config_file(url: str, token: str, path: Path | None = None) -> Path:
    """Store ``url`` and ``token`` for later sessions, readable by the owner only."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"url = {_toml_string(url)}\ntoken = {_toml_string(token)}\n"
    # Create with 0600 from the start so the token is never world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path


def resolve_config(url: str | None = None, token: str | None = None) -> ClientConfig:
    """Each setting from the first place that has it: argument, environment, config file, default."""
    url = url or os.environ.get("XIHE_URL") or None
    token = token or os.environ.get("XIHE_TOKEN") or None
    if url is None or token is None:
        stored = read_config_file()
        url = url or stored.get("url")
        token = token or stored.get("token")
    return ClientConfig(url=server_url(url or DEFAULT_URL), token=token)


def server_url(url: str) -> str:
    """The server's root URL: trailing slashes dropped, and the API's own ``/api/v1`` too if the user gave it.

    >>> server_url("https://xihe.example.org/api/v1/")
    'https://xihe.example.org'
    """
    url = url.strip().rstrip("/")
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)].rstrip("/")
    return url


def require_token(config: ClientConfig) -> str:
    """The configured token, or :class:`NotLoggedInError` (nothing is sent without one)."""
    if not config.token:
        raise NotLoggedInError()
    return config.token


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
