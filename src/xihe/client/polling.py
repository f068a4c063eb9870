"""The waiting logic of ``Job.wait``, shared by the blocking and asyncio clients.

Only the sleep differs between the two (``time.sleep`` or ``asyncio.sleep``), so the schedule here decides how
long each long poll may block and how long to pause between polls, and the clients do the I/O and the sleeping.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from xihe.client.errors import JobTimeoutError
from xihe.client.models import JobInfo
from xihe.client.payloads import long_poll_seconds
from xihe.status import JobStatus

# A long poll blocks on the server; the read timeout must outlast it.
LONG_POLL_READ_MARGIN_S = 30.0
# When a server answers a long poll at once (no long-poll support), poll no faster than this.
MIN_POLL_INTERVAL_S = 0.1
MAX_POLL_INTERVAL_S = 1.0


class WaitSchedule:
    """The deadline and back-off of one ``wait`` call: ask :meth:`next_poll`, refresh, then ask :meth:`pause`."""

    def __init__(self, job_id: str, timeout: float | None, progress: bool) -> None:
        self._job_id = job_id
        self._timeout = timeout
        self._progress = progress
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._interval = MIN_POLL_INTERVAL_S
        self._remaining: float | None = None
        self._poll = 0.0
        self._before = ""
        self._started = 0.0

    def next_poll(self, info: JobInfo) -> float:
        """Seconds the next long poll may block; :class:`JobTimeoutError` once the caller's timeout has passed."""
        self._remaining = None if self._deadline is None else self._deadline - time.monotonic()
        if self._remaining is not None and self._remaining <= 0:
            raise JobTimeoutError(f"job {self._job_id} still {info.status} after {self._timeout} s")
        self._poll = long_poll_seconds(self._remaining, self._progress)
        self._before, self._started = info.status, time.monotonic()
        return self._poll

    def pause(self, info: JobInfo) -> float | None:
        """Seconds to sleep before the next poll, or None: a server that answered at once without a change does
        not support long polls, so back off (doubling up to a ceiling) instead of polling in a busy loop."""
        answered_at_once = time.monotonic() - self._started < self._poll / 2
        if not info.finished and answered_at_once and info.status == self._before:
            remaining = self._remaining
            pause = self._interval if remaining is None else max(0.0, min(self._interval, remaining))
            self._interval = min(self._interval * 2, MAX_POLL_INTERVAL_S)
            return pause
        self._interval = MIN_POLL_INTERVAL_S
        return None


def job_request(job_id: str, wait: float | None) -> dict[str, Any]:
    """The arguments of ``GET /jobs/{id}``: with ``wait``, the long-poll query and a read timeout that outlasts it."""
    if not wait:
        return {"method": "GET", "path": f"jobs/{job_id}"}
    seconds = round(float(wait), 3)
    return {
        "method": "GET",
        "path": f"jobs/{job_id}",
        "params": {"wait": seconds},
        "timeout": httpx.Timeout(seconds + LONG_POLL_READ_MARGIN_S, connect=10.0),
    }


def backend_params(at: datetime | str | None) -> dict[str, str] | None:
    """The query of ``GET /backends/{name}``: ``at`` picks the calibration in force at that time."""
    return {"at": at.isoformat() if isinstance(at, datetime) else at} if at is not None else None


def needs_full_record(info: JobInfo) -> bool:
    """A finished snapshot from a listing may omit the result body; then the full record is fetched once."""
    return info.status == JobStatus.DONE and info.raw.get("result") is None and not info.raw.get("results")
