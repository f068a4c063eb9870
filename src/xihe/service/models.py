"""Storage tables (SQLAlchemy 2 declarative models). Only :mod:`xihe.service.repositories` queries them.

Secrets are never stored in clear: API tokens as SHA-256 hex digests, passwords as argon2 hashes. Wire schemas
(:mod:`xihe.service.schemas`) are separate, so no column leaks into a response by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values; we put the zone back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        from datetime import UTC

        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="user")
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Quotas and limits; NULL means the settings' default.
    jobs_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_shots: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_qubits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    wall_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_limit_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Fair share: log2 of the decayed usage (execution seconds) scaled to a fixed epoch, so that comparing users
    # needs no decay arithmetic in SQL (every user's usage decays by the same factor). See scheduling.py.
    usage_log2: Mapped[float] = mapped_column(Float, default=-1e9)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128), default="")
    kind: Mapped[str] = mapped_column(String(16), default="user")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_queue", "status", "backend", "effective_priority", "created_at"),
        Index("ix_jobs_user_created", "user_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    backend: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="single")
    name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    shots: Mapped[int]
    priority: Mapped[int] = mapped_column(Integer, default=0)
    effective_priority: Mapped[int] = mapped_column(Integer, default=0)
    num_circuits: Mapped[int] = mapped_column(Integer, default=1)
    num_qubits: Mapped[int] = mapped_column(Integer, default=0)
    memory_estimate: Mapped[int] = mapped_column(BigInteger, default=0)
    # The request as data: {"circuits": [qasm...], "parameters": [...]|None, "compile": bool,
    # "optimization_level": int, "seed": int|None, "memory": bool}. Never a pickle.
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    wall_seconds: Mapped[float] = mapped_column(Float, default=600.0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_host: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error_stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    error_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    exec_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="native")


class JobAttempt(Base):
    __tablename__ = "job_attempts"
    __table_args__ = (UniqueConstraint("job_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    worker: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class JobResult(Base):
    """One result per circuit (or sweep binding) of a job; the unique key makes a second write impossible."""

    __tablename__ = "job_results"
    __table_args__ = (UniqueConstraint("job_id", "index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    index: Mapped[int]
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class JobMemoryPage(Base):
    """One page of an item's per-shot memory (at most ``PAGE_SHOTS`` shots, newline-separated keys).

    Kept apart from :class:`JobResult` (the counts summary) so that reading a job never reads its per-shot
    memory, and written item by item while the job runs, so neither the worker nor the API ever holds a whole
    large result (see :mod:`xihe.service.repositories.memory_pages`).
    """

    __tablename__ = "job_memory_pages"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    page: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shots: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)


class JobCountPage(Base):
    """One page of an item's counts when it has more distinct outcomes than a record carries (issue 18).

    ``data`` is a JSON object of at most ``PAGE_OUTCOMES`` outcomes; pages in order are the counts most frequent
    first (ties by outcome), so page 0 is also what the job's record shows (see
    :mod:`xihe.service.repositories.count_pages`).
    """

    __tablename__ = "job_count_pages"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    item: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    page: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    outcomes: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)


class CalibrationSnapshotRow(Base):
    __tablename__ = "calibration_snapshots"
    __table_args__ = (
        UniqueConstraint("backend", "snapshot_id"),
        Index("ix_calibration_backend_time", "backend", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backend: Mapped[str] = mapped_column(String(64))
    snapshot_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64), default="")
    time: Mapped[datetime]
    data: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime]


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(index=True)


class BackendState(Base):
    """Operator-set state of a backend (maintenance switch); absent row: the device's own status."""

    __tablename__ = "backend_states"

    backend: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class PerformanceRun(Base):
    """One stored characterization suite result (``SuiteResult.to_dict()``) of a backend, with its time.

    Written in the same transaction that marks the characterization job DONE; the backend list reads the newest
    row per backend through the (backend, time) index.
    """

    __tablename__ = "performance_runs"
    __table_args__ = (Index("ix_performance_backend_time", "backend", "time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backend: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True,
                                               unique=True)
    suite: Mapped[str] = mapped_column(String(32))
    time: Mapped[datetime]
    summary: Mapped[dict[str, Any]]
    document: Mapped[dict[str, Any]]


class WebSession(Base):
    """A browser login (server side, so that logout revokes it on every replica sharing the database).

    The cookie carries a random session id; only its SHA-256 digest is stored, so a leaked table opens no session.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_expires_at", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class JobGroup(Base):
    """An open (iterative) job of quafu-sdk: Xihe jobs appended over time, numbered as one list of tasks.

    ``members`` lists the appended jobs in order, ``[{"job_id", "n", "iterations", "evaluation_index"}]``; task
    ``k`` of the group is the ``k``-th result across them. The jobs themselves are ordinary jobs of the one queue.
    """

    __tablename__ = "job_groups"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    target: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(64))
    shots: Mapped[int]
    compile: Mapped[bool] = mapped_column(Boolean, default=True)
    name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    template: Mapped[str | None] = mapped_column(Text, nullable=True)
    parameters: Mapped[list[Any]] = mapped_column(default=list)
    members: Mapped[list[Any]] = mapped_column(default=list)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class OAuthCode(Base):
    """An OAuth authorization code (PKCE, single use, 5 minutes) waiting for its exchange (:mod:`xihe.service.oauth`).

    Only the code's SHA-256 is stored. ``used_at`` marks the exchange; ``token_id`` is the token it gave, revoked if
    the code is presented again (RFC 6749 section 4.1.2: a replayed code means it leaked).
    """

    __tablename__ = "oauth_codes"
    __table_args__ = (Index("ix_oauth_codes_expires_at", "expires_at"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(512))
    code_challenge: Mapped[str] = mapped_column(String(64))
    device_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    token_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class LoginFailure(Base):
    """Failed web logins of one throttle key (a (name, address) pair or an address): the count and the last one.

    In the database, not in process memory, so every API replica behind a load balancer sees the same counts (a
    guesser cannot multiply their tries by the number of replicas). Only the key's SHA-256 is stored.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_last_at", "last_at"),)

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime]


class BackendStatusEvent(Base):
    """One change of a backend's status (the operator's switch), kept for the system page's status history."""

    __tablename__ = "backend_status_events"
    __table_args__ = (Index("ix_backend_status_events_backend_at", "backend", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backend: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
