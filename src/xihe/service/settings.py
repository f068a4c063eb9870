"""The service's settings: one object, read once from ``XIHE_*`` environment variables, then injected.

Nothing here touches the disk or the network; :meth:`Settings.resolved_database_url` only formats a path.
Every command (``serve``, ``worker``, ``users``, ``db``) builds one ``Settings()`` and passes it down, so all of
them agree on the database.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _machine_memory_bytes() -> int:
    """Total physical memory; sysconf is a syscall, not file I/O, and runs only when a budget is resolved."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 * 1024**3


class Settings(BaseSettings):
    """Every knob of the service. Environment: ``XIHE_<FIELD>`` (e.g. ``XIHE_DATA_DIR``, ``XIHE_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="XIHE_", extra="ignore")

    data_dir: Path = Field(default=Path(".xihe-data"), description="Folder of the embedded database and logs.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite (WAL) file xihe.db in data_dir."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = Field(default=None, description="Local worker processes; default: one per core.")
    worker_backends: list[str] | None = Field(default=None, description="Backends local workers serve; None: all.")

    # Leases and retries.
    lease_seconds: float = 15.0
    heartbeat_seconds: float = 3.0
    max_attempts: int = 3
    idle_transaction_seconds: float = Field(
        default=30.0, description="PostgreSQL: end a session left idle inside a transaction this long (a process "
        "frozen mid-transaction releases its row locks, so its leases can be reaped); 0: never.")
    write_wait_seconds: float = Field(
        default=10.0, description="How long a write waits for the database's write lock (SQLite: the machine's "
        "writer lock, held by a frozen or stuck process; PostgreSQL: a row or table lock, as lock_timeout) before "
        "it gives up and the request answers 503 with Retry-After; nothing is changed. 0: wait without limit.")
    poll_interval_seconds: float = 0.005
    idle_poll_max_seconds: float = 0.5

    # One machine's budget shared by all its workers.
    memory_budget_bytes: int | None = Field(default=None, description="Default: half the machine's RAM.")
    thread_budget: int | None = Field(default=None, description="Default: the machine's cores.")

    # Accounts and limits (per-user values override these defaults).
    default_jobs_per_day: int = 100_000
    default_max_shots: int = 1_000_000
    default_max_qubits: int | None = None
    default_max_priority: int = 5
    default_wall_seconds: float = 600.0
    rate_limit_per_second: float = 500.0
    rate_limit_burst: int = 1000
    max_body_bytes: int = 2 * 1024 * 1024
    max_circuits_per_job: int = 1000
    max_operations_per_circuit: int = Field(
        default=1_000_000, description="Operations one submitted circuit may expand to (broadcasts and gate "
        "definitions unrolled); larger programs are refused while they are read.")
    max_operations_per_job: int = Field(
        default=1_000_000, description="Operations all the circuits of one job may hold together (as read).")
    # Submitted programs are read in a pool of processes owned by the API, never on its event loop or in its
    # request threads' share of the GIL; the smallest stay in-process, where the hop would cost more than the read.
    parse_workers: int | None = Field(
        default=None, description="Processes that parse and check submitted programs; default: the machine's "
        "cores, at most 4; 0: parse in the API process itself.")
    parse_queue: int | None = Field(
        default=None, description="Submissions being parsed or waiting for a parse process at once; one more "
        "answers 503 with Retry-After. Default: 4 per parse process.")
    parse_inline_bytes: int = Field(
        default=4096, description="A submission whose programs hold at most this many bytes together is read in "
        "the API process (if it also expands to at most parse_inline_operations operations).")
    parse_inline_operations: int = Field(
        default=2000, description="Expanded operations (broadcasts, gate definitions, loops unrolled) a submission "
        "read in the API process may reach; past them it goes to the parse pool.")
    max_wait_seconds: float = 60.0
    # Failed authentications (a bad, expired or revoked token) per client address: a bucket of ``burst`` that
    # refills at ``per_minute``; an empty bucket answers 429 with Retry-After before the token is looked at.
    auth_failures_per_minute: float = 60.0
    auth_failure_burst: int = 60
    trusted_proxies: str = Field(
        default="127.0.0.1", description="Comma-separated addresses or networks (CIDR) of the reverse proxies "
        "whose X-Forwarded-For / X-Forwarded-Proto are believed ('*': any). The one proxy setting: it decides the "
        "client address (failed-authentication limits, login throttle) and the scheme (Secure cookies, HSTS).")
    metrics_networks: str = Field(
        default="127.0.0.1,::1", description="Comma-separated addresses or networks (CIDR; '*': any) whose clients "
        "read /metrics without a token (a Prometheus beside the server); anyone else needs an admin's token.")
    idempotency_hours: float = 24.0

    # Characterization (issue 9): run the suite on every emulated chip this often; 0 = off.
    characterize_every_hours: float = Field(default=0.0, description="Periodic characterization; 0: off.")
    characterize_suite: str = "standard"
    characterize_shots: int = 1000

    demo_user: str = "demo"
    create_demo_user: bool = True

    def resolved_database_url(self) -> str:
        """The database URL in force: the setting, else the embedded SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xihe.db').absolute()}"

    @property
    def is_embedded(self) -> bool:
        """True for the embedded default (SQLite), where ``serve`` runs migrations and local workers itself."""
        return self.resolved_database_url().startswith("sqlite")

    def resolved_workers(self) -> int:
        return self.workers if self.workers is not None else max(1, os.cpu_count() or 1)

    def user_limit_defaults(self) -> dict[str, float | None]:
        """A user's limit (a ``User`` column) -> what applies while the user has none of their own (None: no
        limit); the admin page and ``xihe users limits`` show them."""
        return {"jobs_per_day": self.default_jobs_per_day, "max_shots": self.default_max_shots,
                "max_qubits": self.default_max_qubits, "max_priority": self.default_max_priority,
                "wall_seconds": self.default_wall_seconds, "rate_limit_per_second": self.rate_limit_per_second}

    def resolved_memory_budget(self) -> int:
        return self.memory_budget_bytes if self.memory_budget_bytes is not None else _machine_memory_bytes() // 2

    def resolved_parse_workers(self) -> int:
        return self.parse_workers if self.parse_workers is not None else max(1, min(4, os.cpu_count() or 1))

    def resolved_parse_queue(self) -> int:
        return self.parse_queue if self.parse_queue is not None else 4 * max(1, self.resolved_parse_workers())

    def resolved_thread_budget(self) -> int:
        return self.thread_budget if self.thread_budget is not None else max(1, os.cpu_count() or 1)
