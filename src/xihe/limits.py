"""Numbers the native API enforces and its clients respect, each in one place (server and CLI read the same)."""

from __future__ import annotations

import math

MAX_PAGE_SIZE = 500
"""The most jobs one ``GET /api/v1/jobs`` page holds (``limit``); the CLI's ``xihe jobs --limit`` stops there too."""

MIN_SHOTS = 1
"""The fewest shots a job may ask for: a job samples measured bits, so it needs at least one shot."""

MAX_STORED_INT = 2**31 - 1
"""The largest whole number a user's limit (an ``Integer`` column: 32 bits on PostgreSQL) holds on every database."""


def user_limit_problem(name: str, value: float) -> str | None:
    """Why ``value`` cannot be a user's limit ``name`` (``wall_seconds``...), or None: the admin page and ``xihe users
    limits`` refuse the same values. NaN passes a ``< 0`` check and then every ``elapsed > limit`` is false, so a
    NaN wall limit was no limit at all; a whole number past :data:`MAX_STORED_INT` overflowed the column (a 500)."""
    label = name.replace("_", " ")
    if not math.isfinite(value):
        return f"{label} must be a finite number, not {value!r}"
    if value < 0:
        return f"{label} cannot be negative"
    if isinstance(value, int) and value > MAX_STORED_INT:
        return f"{label} is at most {MAX_STORED_INT}"
    return None
