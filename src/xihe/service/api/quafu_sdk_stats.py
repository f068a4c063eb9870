"""quafu-sdk's ``stats()`` (``GET /api/v1/stats/me``) from Xihe's own jobs and quota.

The SDK returns the body verbatim; its README documents ``tasks``, ``shots``, ``jobs``, ``daily``, ``durations`` and
``quota = {date, sim, noisy, real}`` with ``{used, limit, hard_limit, remaining, degraded, resets_at}`` per class.
Xihe's quota is what :func:`xihe.service.submit._check_quotas` enforces: ``jobs_per_day`` jobs (a batch or sweep
counts once) in any rolling 24 hours, one pool for every backend, refused beyond it, never degraded. So each class
reports its own ``used`` and the shared ``limit``/``hard_limit``/``remaining``; ``resets_at`` is when the oldest
job of the window leaves it (one more job becomes possible), and ``unit``/``window`` say what is counted. Every
client's jobs count (pyquafu, quafusqc, the native API), as they share the quota.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xihe.service.catalog import DeviceCatalog
from xihe.service.models import Job, User
from xihe.service.problems import Problem
from xihe.service.settings import Settings
from xihe.status import DeviceKind

QUOTA_WINDOW = timedelta(days=1)  # the window submit.py counts ``jobs_per_day`` over
MAX_DAYS = 366


def backend_class(catalog: DeviceCatalog, backend: str) -> str:
    """Quafu's quota class of a backend: ``sim`` (ideal, a twin's ideal variant too), ``noisy`` (a twin), ``real``."""
    try:
        device = catalog.get(backend)
    except Problem:  # a backend removed since the job ran: its jobs still count, as simulation
        return "sim"
    if device.kind == DeviceKind.HARDWARE:
        return "real"
    return "sim" if device.noiseless else "noisy"


def _seconds_summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "total": 0.0, "mean": None, "max": None}
    return {"count": len(values), "total": round(sum(values), 6), "mean": round(sum(values) / len(values), 6),
            "max": round(max(values), 6)}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def user_stats(session: Session, settings: Settings, catalog: DeviceCatalog, user: User, days: int,
               now: datetime) -> dict[str, Any]:
    """The caller's usage over the last ``days`` days (UTC calendar days, today included) and today's quota."""
    first_day = (now - timedelta(days=days - 1)).date()
    since = min(datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo), now - QUOTA_WINDOW)
    rows = session.execute(select(Job.created_at, Job.started_at, Job.backend, Job.num_circuits, Job.shots,
                                  Job.exec_seconds).where(Job.user_id == user.id, Job.created_at >= since)
                           ).all()
    daily: dict[str, Counter[str]] = {str(first_day + timedelta(days=k)): Counter() for k in range(days)}
    runs, waits = [], []
    in_window: list[tuple[datetime, str]] = []
    for created, started, backend, circuits, shots, exec_seconds in rows:
        if created >= now - QUOTA_WINDOW:
            in_window.append((created, backend_class(catalog, backend)))
        day = daily.get(str(created.date()))
        if day is None:
            continue
        day.update({"jobs": 1, "tasks": int(circuits), "shots": int(circuits) * int(shots)})
        if exec_seconds is not None:
            runs.append(float(exec_seconds))
        if started is not None:
            waits.append((started - created).total_seconds())
    totals: Counter[str] = Counter()
    for counter in daily.values():
        totals.update(counter)
    limit = user.jobs_per_day if user.jobs_per_day is not None else settings.default_jobs_per_day
    used = Counter(kind for _created, kind in in_window)
    oldest = min((created for created, _kind in in_window), default=None)
    resets_at = _iso(oldest + QUOTA_WINDOW) if oldest is not None else None
    remaining = max(0, int(limit) - len(in_window))
    quota: dict[str, Any] = {"date": str(now.date()), "unit": "jobs", "window": "rolling_24h", "shared": True,
                             "used": len(in_window), "limit": int(limit), "remaining": remaining}
    for kind in ("sim", "noisy", "real"):
        quota[kind] = {"used": used[kind], "limit": int(limit), "hard_limit": int(limit), "remaining": remaining,
                       "degraded": False, "resets_at": resets_at}
    return {"days": days, "jobs": totals["jobs"], "tasks": totals["tasks"], "shots": totals["shots"],
            "daily": [{"date": date, "jobs": c["jobs"], "tasks": c["tasks"], "shots": c["shots"]}
                      for date, c in daily.items()],
            "durations": {"run_s": _seconds_summary(runs), "queue_s": _seconds_summary(waits)},
            "quota": quota}
