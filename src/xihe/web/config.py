"""The web layer's own settings (``XIHE_SECRET_KEY``, ``XIHE_COOKIE_SECURE``...) and its signing key.

The session cookie is a signed token, so every API replica must sign with the same key: set ``XIHE_SECRET_KEY`` when
several replicas share one database. On the embedded default the key is generated once and kept in
``<data_dir>/web-secret.key`` (mode 0600), read on the first request, never at import.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE = "web-secret.key"


class WebSettings(BaseSettings):
    """Knobs of the web pages; environment ``XIHE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="XIHE_", extra="ignore")

    secret_key: str | None = Field(default=None, description="Signs session cookies; default: a key file.")
    cookie_secure: bool | None = Field(
        default=None,
        description="Secure flag of the session cookie; default: on for HTTPS and for loopback hosts (browsers "
        "treat http://127.0.0.1 as a secure context), off only for plain HTTP to another host.",
    )
    session_hours: float = Field(default=12.0, gt=0, description="A login lasts this long.")
    login_max_failures: int = Field(
        default=10, ge=1, description="Failed logins per (name, client address) before backoff starts.")
    login_base_delay_seconds: float = Field(
        default=30.0, gt=0, description="The first backoff pause; each further failure doubles it.")
    login_window_seconds: float = Field(
        default=900.0, gt=0, description="The longest pause; failures older than this are forgotten.")


class SigningKey:
    """The key that signs sessions: the setting, else a random key kept in the data folder (made on first use)."""

    def __init__(self, configured: str | None, data_dir: Path) -> None:
        self._configured = configured
        self._path = data_dir / SECRET_FILE
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._configured.encode() if self._configured else self._load_or_create()
        return self._key

    def _load_or_create(self) -> bytes:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two processes starting together agree on one key (the loser reads the winner's).
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            for _ in range(100):  # the winner may still be writing it
                key = self._path.read_bytes().strip()
                if key:
                    return key
                time.sleep(0.01)
            raise RuntimeError(f"{self._path} is empty; delete it or set XIHE_SECRET_KEY") from None
        with os.fdopen(fd, "wb") as handle:
            key = secrets.token_urlsafe(48).encode()
            handle.write(key)
        return key
