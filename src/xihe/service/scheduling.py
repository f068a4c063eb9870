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
from dataclasses import dataclass
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


BAND_SIGMAS = 2.0
UNKNOWN_SPREAD = 0.5  # relative spread of job durations assumed until enough jobs were measured


def _minutes(seconds: float) -> str:
    """Rounded for people: seconds under a minute, else minutes, else hours.

    >>> _minutes(20), _minutes(280), _minutes(7300)
    ('under a minute', 'about 5 min', 'about 2.0 h')
    """
    if seconds < 60:
        return "under a minute"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


@dataclass(frozen=True)
class QueueEstimate:
    """When a queued job should start and finish, a band around both, and why (what is ahead of it)."""

    ahead: int
    running: int
    slots: int
    start: datetime
    start_earliest: datetime
    start_latest: datetime
    finish: datetime
    finish_latest: datetime
    usage_seconds: float | None

    def text(self, now: datetime) -> str:
        """One sentence: "starts in about 5 min (3-8 min), done by about 12:09 UTC; 7 jobs ahead, ...".

        >>> t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        >>> text = queue_estimate(6, 1, 1, t0, seconds_per_circuit=40.0, spread_seconds=10.0,
        ...                       usage_seconds=12.0).text(t0)
        >>> text.split("; ")
        ['starts in about 5 min (4-6 min), done by about 12:06 UTC', '6 jobs ahead, 1 running on 1 slot', \
'your share this hour: 12 s of execution (lighter users go first)']
        """
        wait = (self.start - now).total_seconds()
        low = max(0.0, (self.start_earliest - now).total_seconds())
        high = (self.start_latest - now).total_seconds()
        when = "now" if wait <= 0 else f"in {_minutes(wait)}"
        band = "" if high < 60 else f" ({round(low / 60)}-{max(1, round(high / 60))} min)"
        done = self.finish_latest.strftime("%H:%M UTC") if (self.finish_latest - now).total_seconds() < 86400 \
            else self.finish_latest.strftime("%Y-%m-%d %H:%M UTC")
        ahead = "next in the queue" if self.ahead == 0 else f"{self.ahead} job{'s' if self.ahead != 1 else ''} ahead"
        slots = f"{self.slots} slot{'s' if self.slots != 1 else ''}"
        reason = f"{ahead}, {self.running} running on {slots}"
        if self.usage_seconds is not None:
            reason += (f"; your share this hour: {self.usage_seconds:.0f} s of execution (lighter users go first)")
        return f"starts {when}{band}, done by about {done}; {reason}"


def queue_estimate(position: int, running: int, parallelism: int, now: datetime, *, seconds_per_circuit: float,
                   spread_seconds: float | None = None, circuits_ahead: int | None = None,
                   running_circuits: int | None = None, own_circuits: int = 1,
                   usage_seconds: float | None = None) -> QueueEstimate:
    """The one queue estimate (API, pages) of a job ``position`` places from the head of its backend's queue.

    The backend's measured service rate is ``seconds_per_circuit`` (its recent jobs' execution time per circuit,
    spread ``spread_seconds``; half the mean when unknown). The job starts at once if a slot is free
    (``position + running < parallelism``), else once the work ahead -- the ``circuits_ahead`` of the queued jobs
    before it and the ``running_circuits`` of the running ones (a running job counts whole: its progress is not
    known, which errs late) -- has passed through the ``parallelism`` slots. The band is two standard deviations of
    that sum of durations; the finish is the job's own ``own_circuits`` later. ``usage_seconds``: the owner's
    decayed execution time, the fair-share key that orders users.

    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> e = queue_estimate(6, 1, 1, t0, seconds_per_circuit=40.0, spread_seconds=10.0)
    >>> [round((t - t0).total_seconds(), 1) for t in (e.start_earliest, e.start, e.start_latest, e.finish)]
    [227.1, 280.0, 332.9, 320.0]
    >>> batch = queue_estimate(1, 1, 1, t0, seconds_per_circuit=2.0, circuits_ahead=20, running_circuits=10)
    >>> (batch.start - t0).total_seconds()  # 30 circuits of 2 s ahead, one slot
    60.0
    >>> queue_estimate(0, 2, 4, t0, seconds_per_circuit=40.0).start == t0  # a free slot: now
    True
    """
    slots = max(1, parallelism)
    ahead = position if circuits_ahead is None else circuits_ahead
    busy = max(0, running) if running_circuits is None else running_circuits
    work = 0 if position + max(0, running) < slots else ahead + busy
    spread = spread_seconds if spread_seconds is not None else UNKNOWN_SPREAD * seconds_per_circuit
    start = now + timedelta(seconds=work / slots * seconds_per_circuit)
    band = timedelta(seconds=BAND_SIGMAS * spread * math.sqrt(work / slots))
    own = max(1, own_circuits)
    finish = start + timedelta(seconds=own * seconds_per_circuit)
    return QueueEstimate(ahead=position, running=max(0, running), slots=slots, start=start,
                         start_earliest=max(now, start - band), start_latest=start + band, finish=finish,
                         finish_latest=finish + band + timedelta(seconds=BAND_SIGMAS * spread * math.sqrt(own)),
                         usage_seconds=usage_seconds)
