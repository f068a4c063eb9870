"""Numbers the native API enforces and its clients respect, each in one place (server and CLI read the same)."""

from __future__ import annotations

MAX_PAGE_SIZE = 500
"""The most jobs one ``GET /api/v1/jobs`` page holds (``limit``); the CLI's ``xihe jobs --limit`` stops there too."""

MIN_SHOTS = 1
"""The fewest shots a job may ask for: a job samples measured bits, so it needs at least one shot."""

MAX_STORED_INT = 2**31 - 1
"""The largest whole number a user's limit (an ``Integer`` column: 32 bits on PostgreSQL) holds on every database."""
