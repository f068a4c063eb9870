"""Slow down password guessing without letting anyone lock anyone else out.

Failures are counted per (account name, client address): after ``free_failures`` of them, that pair must wait
before its next try, ``base_delay`` seconds doubling with each further failure, up to ``max_delay`` (exponential
backoff; the login form answers 429 with ``Retry-After``). The right password from another address is never
refused, so a stranger guessing at someone's name pauses only the stranger. One address trying many names also
backs off, with a larger allowance (a lab behind NAT shares one address). A good password clears its pair. A pair
with no failure for ``max_delay`` seconds is forgotten.

The client address is the connection's peer as the ASGI server reports it: uvicorn replaces it with the
``X-Forwarded-For`` address only when the peer is a trusted proxy (``FORWARDED_ALLOW_IPS``, default 127.0.0.1,
the nginx of docs/deploy.md on the same host); from any other peer the header is ignored.

Counted per API process (each replica counts its own).

>>> throttle = LoginThrottle(free_failures=2, base_delay=30, max_delay=900)
>>> pair = throttle.keys("alice", "10.0.0.1")
>>> throttle.failed(pair, now=0.0); throttle.retry_after(pair, now=0.0)
0.0
>>> throttle.failed(pair, now=1.0); throttle.retry_after(pair, now=1.0)
30.0
>>> throttle.failed(pair, now=31.0); throttle.retry_after(pair, now=31.0)
60.0
>>> throttle.retry_after(throttle.keys("alice", "10.0.0.2"), now=31.0)
0.0
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

ADDRESS_FACTOR = 5
MAX_KEYS = 100_000


@dataclass
class _Failures:
    count: int
    last: float


class LoginThrottle:
    def __init__(self, free_failures: int = 10, base_delay: float = 30.0, max_delay: float = 900.0) -> None:
        self.free_failures = free_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(name: str, address: str | None) -> list[str]:
        """The counters a login attempt touches: its (name, address) pair, and its address across all names."""
        addr = address or "?"
        return [f"pair:{name.strip().lower()}\n{addr}", f"addr:{addr}"]

    def _free(self, key: str) -> int:
        return self.free_failures * (ADDRESS_FACTOR if key.startswith("addr:") else 1)

    def _delay(self, key: str, count: int) -> float:
        over = count - self._free(key)
        if over < 0:
            return 0.0
        return min(self.max_delay, self.base_delay * 2.0 ** min(over, 62))

    def _current(self, key: str, now: float) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and now - entry.last >= self.max_delay:
            del self._failures[key]
            return None
        return entry

    def retry_after(self, keys: list[str], now: float) -> float:
        """Seconds until a login with these keys may be tried again (0: now)."""
        wait = 0.0
        with self._lock:
            for key in keys:
                entry = self._current(key, now)
                if entry is not None:
                    wait = max(wait, entry.last + self._delay(key, entry.count) - now)
        return wait

    def failed(self, keys: list[str], now: float) -> None:
        with self._lock:
            if len(self._failures) > MAX_KEYS:  # many names tried once each: drop the forgotten ones
                for key in list(self._failures):
                    self._current(key, now)
            for key in keys:
                entry = self._current(key, now)
                if entry is None:
                    self._failures[key] = _Failures(1, now)
                else:
                    entry.count += 1
                    entry.last = now

    def succeeded(self, keys: list[str]) -> None:
        """A good password clears its (name, address) pair (not the address's count over all names)."""
        with self._lock:
            for key in keys:
                if key.startswith("pair:"):
                    self._failures.pop(key, None)
