"""A job's status timeline: when it was submitted, each attempt a worker made, and how it ended, with the time
spent in each state (queued, running, between retries).

Built from the job row and its attempt records (one per claim, kept by the workers for the audit trail), so a
retried job shows every try and the wait before each.

>>> from datetime import UTC, datetime, timedelta
>>> t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
>>> steps = status_timeline(t0, [(t0 + timedelta(seconds=282), t0 + timedelta(seconds=290), "done", "w1")],
...                         "DONE", t0 + timedelta(seconds=290), now=t0 + timedelta(hours=1))
>>> [(s.label, s.duration) for s in steps]
[('Submitted', 'queued 4 min 42 s'), ('Attempt 1 on w1', 'ran 8 s'), ('DONE', '')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

Attempt = tuple[datetime, datetime | None, str | None, str]  # started, ended, outcome, worker


def duration_text(seconds: float) -> str:
    """A short human duration.

    >>> duration_text(0.25), duration_text(42), duration_text(282), duration_text(7322)
    ('0.25 s', '42 s', '4 min 42 s', '2 h 2 min')
    """
    if seconds < 1:
        return f"{seconds:.2f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


@dataclass(frozen=True)
class Step:
    """One moment of the timeline and what followed it until the next (``duration``, empty for the last)."""

    label: str
    at: datetime
    state: str  # the CSS state of the segment after this moment: queued, running, done, failed, cancelled
    duration: str
    seconds: float
    detail: str = ""


def status_timeline(created: datetime, attempts: Sequence[Attempt], status: str, finished: datetime | None, *,
                    now: datetime) -> list[Step]:
    """The steps in order; an open job's last segment runs until ``now`` (marked "so far")."""
    moments: list[tuple[str, datetime, str, str]] = [("Submitted", created, "queued", "")]
    for number, (started, ended, outcome, worker) in enumerate(attempts, start=1):
        moments.append((f"Attempt {number} on {worker}", started, "running", outcome or ""))
        if ended is not None and (finished is None or ended < finished) and number < len(attempts):
            moments.append((f"Attempt {number} ended ({outcome or '?'}); back in the queue", ended, "queued", ""))
    if finished is not None:
        moments.append((status, finished, status.lower(), ""))
    steps = []
    for i, (label, at, state, detail) in enumerate(moments):
        if i + 1 < len(moments):
            seconds = max(0.0, (moments[i + 1][1] - at).total_seconds())
            verb = "queued" if state == "queued" else "ran"
            text = f"{verb} {duration_text(seconds)}"
        elif finished is None:
            seconds = max(0.0, (now - at).total_seconds())
            text = f"{'queued' if state == 'queued' else 'running'} {duration_text(seconds)} so far"
        else:
            seconds, text = 0.0, ""
        steps.append(Step(label, at, state, text, seconds, detail))
    return steps
