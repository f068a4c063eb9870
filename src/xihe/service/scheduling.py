"""The scheduling policy as pure functions: priority cap, fair share by decayed usage, queue estimates.

Claim order (applied by :func:`xihe.service.repositories.queue.claim_next_job`): job priority capped by the user's
allowance, then fair share (the user with the least usage -- execution seconds decaying with a 1 h half-life),
then age.

Fair share without decay arithmetic in SQL: every user's usage decays by the same factor over the same interval,
so the order of users never changes by waiting. We store ``log2(usage(t) * 2**((t - EPOCH) / HALF_LIFE))``, an
amount that stays constant while time passes and orders users exactly as their decayed usage does; adding
``s`` seconds at time ``t`` is a log-add. Log space keeps the scale factor from overflowing.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

HALF_LIFE_SECONDS = 3600.0
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
NO_USAGE = -1e9


def _scale_log2(at: datetime) -> float:
    return (at - EPOCH).total_seconds() / HALF_LIFE_SECONDS


def add_usage(usage_log2: float, seconds: float, at: datetime) -> float:
    """The stored fair-share key after ``seconds`` of execution finished at ``at``.

    >>> t = EPOCH
    >>> round(decayed_usage(add_usage(NO_USAGE, 10.0, t), t + timedelta(hours=1)), 6)
    5.0
    """
    if seconds <= 0:
        return usage_log2
    term = math.log2(seconds) + _scale_log2(at)
    high, low = max(usage_log2, term), min(usage_log2, term)
    return high + math.log2(1.0 + 2.0 ** (low - high))


def decayed_usage(usage_log2: float, at: datetime) -> float:
    """Usage in execution seconds as seen at ``at`` (for display)."""
    exponent = usage_log2 - _scale_log2(at)
    return 0.0 if exponent < -1000 else 2.0**exponent


def effective_priority(requested: int, allowance: int) -> int:
    """A job's priority as scheduled: what the user asked for, never above what the user is allowed."""
    return min(requested, allowance)


def estimated_start(position: int, mean_job_seconds: float, parallelism: int, now: datetime, *,
                    running: int = 0) -> datetime:
    """When a job ``position`` places from the head should start, if jobs keep their recent mean duration.

    The backend's ``running`` jobs hold slots too: the job starts once ``position + running - parallelism + 1``
    jobs ahead of it have finished, ``parallelism`` at a time. A running job is counted as a whole mean job
    (its remaining time is unknown), which errs on the late side.

    >>> from datetime import UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> (estimated_start(6, 40.0, 1, t0, running=1) - t0).total_seconds()  # 7 jobs ahead of an exclusive chip
    280.0
    >>> estimated_start(0, 40.0, 4, t0, running=2) == t0  # free slots: now
    True
    """
    slots = max(1, parallelism)
    must_finish = max(0, position + max(0, running) - slots + 1)
    return now + timedelta(seconds=must_finish / slots * mean_job_seconds)
