"""Slow down password guessing: too many failed logins for one account name or from one address, and the login
form refuses for a while (429 with ``Retry-After``).

Counted per API process in a sliding window (several replicas each count their own: the limit is per replica).
An address gets a larger allowance than a name, so one busy lab behind NAT does not lock itself out.

>>> throttle = LoginThrottle(max_failures=2, window_seconds=60)
>>> keys = throttle.keys("alice", "10.0.0.1")
>>> throttle.failed(keys, now=0.0); throttle.failed(keys, now=1.0)
>>> throttle.retry_after(keys, now=2.0)
58.0
>>> throttle.retry_after(keys, now=61.0)
0.0
"""

from __future__ import annotations

import threading
from collections import deque

ADDRESS_FACTOR = 5
MAX_KEYS = 100_000


class LoginThrottle:
    def __init__(self, max_failures: int = 10, window_seconds: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(name: str, address: str | None) -> list[str]:
        return [f"name:{name.strip().lower()}", f"addr:{address or '?'}"]

    def _limit(self, key: str) -> int:
        return self.max_failures * (ADDRESS_FACTOR if key.startswith("addr:") else 1)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return times

    def retry_after(self, keys: list[str], now: float) -> float:
        """Seconds until a login may be tried again (0: now)."""
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                limit = self._limit(key)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + self.window_seconds - now)
                if not times:
                    self._failures.pop(key, None)
        return wait

    def failed(self, keys: list[str], now: float) -> None:
        with self._lock:
            if len(self._failures) > MAX_KEYS:  # many names tried once each: drop the expired ones
                for key in list(self._failures):
                    if not self._recent(key, now):
                        del self._failures[key]
            for key in keys:
                times = self._recent(key, now)
                times.append(now)
                while len(times) > self._limit(key):  # bounded memory per key
                    times.popleft()

    def succeeded(self, keys: list[str]) -> None:
        """A good password clears the account's count (not the address's)."""
        with self._lock:
            for key in keys:
                if key.startswith("name:"):
                    self._failures.pop(key, None)
