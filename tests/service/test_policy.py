"""Scheduling arithmetic, the retry policy, secrets and settings: pure functions, no database."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest

from xihe.errors import CompileError
from xihe.service.retry import RetryPolicy
from xihe.service.scheduling import EPOCH, NO_USAGE, add_usage, decayed_usage, effective_priority
from xihe.service.security import hash_password, hash_token, new_token, verify_password
from xihe.service.settings import Settings


def test_usage_halves_every_hour() -> None:
    usage = add_usage(NO_USAGE, 100.0, EPOCH)
    assert decayed_usage(usage, EPOCH) == pytest.approx(100.0)
    assert decayed_usage(usage, EPOCH + timedelta(hours=2)) == pytest.approx(25.0)


def test_usage_adds_decayed_amounts() -> None:
    usage = add_usage(add_usage(NO_USAGE, 8.0, EPOCH), 4.0, EPOCH + timedelta(hours=1))
    assert decayed_usage(usage, EPOCH + timedelta(hours=1)) == pytest.approx(8.0)


def test_stored_key_orders_users_as_decayed_usage_does() -> None:
    # A used 100 s two hours ago (25 s now); B used 30 s just now: A is the lighter user now.
    now = EPOCH + timedelta(days=400)
    a = add_usage(NO_USAGE, 100.0, now - timedelta(hours=2))
    b = add_usage(NO_USAGE, 30.0, now)
    assert a < b
    assert decayed_usage(a, now) < decayed_usage(b, now)
    assert math.isfinite(add_usage(a, 1.0, now + timedelta(days=3650)))


def test_priority_is_capped_by_allowance() -> None:
    assert effective_priority(9, 5) == 5
    assert effective_priority(2, 5) == 2


def test_retry_policy_retries_infrastructure_errors_up_to_the_limit() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.after_error(1, RuntimeError("db blip")).retry
    assert not policy.after_error(3, RuntimeError("db blip")).retry
    assert "3 attempts" in policy.after_error(3, RuntimeError("db blip")).reason


def test_retry_policy_never_retries_user_errors() -> None:
    decision = RetryPolicy().after_error(1, CompileError("no route"))
    assert not decision.retry and decision.reason == "no route"


def test_lost_lease_retries_then_fails() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.after_lease_lost(n).retry for n in (1, 2, 3)] == [True, True, False]


def test_tokens_are_random_and_hashed() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) > 40
    assert hash_token(first) == hash_token(first) and len(hash_token(first)) == 64
    assert first not in hash_token(first)


def test_password_hash_verifies_and_rejects() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2") and "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong")
    assert not verify_password("not-a-hash", "x")
    assert not verify_password(None, "x")


def test_settings_come_from_xihe_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XIHE_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("XIHE_PORT", "9123")
    monkeypatch.setenv("XIHE_WORKER_BACKENDS", '["sim"]')
    settings = Settings()
    assert settings.port == 9123 and settings.worker_backends == ["sim"]
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'd' / 'xihe.db'}"
    assert settings.is_embedded
    assert not (tmp_path / "d").exists()  # building settings touches no disk


def test_postgres_url_is_not_embedded() -> None:
    assert not Settings(database_url="postgresql+psycopg://u@h/db").is_embedded
