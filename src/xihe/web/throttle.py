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

The counts live in the database (:mod:`xihe.service.repositories.login_failures`), so every API replica sharing
it applies the same pauses: behind a load balancer a guesser gets no more tries than from one process.

>>> policy = BackoffPolicy(free_failures=2, base_delay=30, max_delay=900)
>>> [policy.delay("pair:alice", n) for n in (1, 2, 3, 4)]
[0.0, 30.0, 60.0, 120.0]
>>> policy.delay("addr:10.0.0.1", 4)  # an address over all names has five times the allowance
0.0
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from xihe.service.db import Database
from xihe.service.repositories import login_failures

ADDRESS_FACTOR = 5


@dataclass
class BackoffPolicy:
    """How long a key must wait after ``count`` failures: nothing within its allowance, then ``base_delay``
    doubling with each further failure, at most ``max_delay`` (which is also how long a failure is remembered)."""

    free_failures: int = 10
    base_delay: float = 30.0
    max_delay: float = 900.0

    def allowance(self, key: str) -> int:
        return self.free_failures * (ADDRESS_FACTOR if key.startswith("addr:") else 1)

    def delay(self, key: str, count: int) -> float:
        over = count - self.allowance(key)
        if over < 0:
            return 0.0
        return min(self.max_delay, self.base_delay * 2.0 ** min(over, 62))


class LoginThrottle(BackoffPolicy):
    """The login form's throttle: this policy over the counts in ``database`` (the one every replica shares)."""

    @staticmethod
    def keys(name: str, address: str | None) -> list[str]:
        """The counters a login attempt touches: its (name, address) pair, and its address across all names."""
        addr = address or "?"
        return [f"pair:{name.strip().lower()}\n{addr}", f"addr:{addr}"]

    def retry_after(self, database: Database, keys: list[str], now: datetime) -> float:
        """Seconds until a login with these keys may be tried again (0: now)."""
        with database.read() as session:
            found = login_failures.counts(session, keys)
        wait = 0.0
        for key, (count, last) in found.items():
            if (now - last).total_seconds() < self.max_delay:
                wait = max(wait, (last - now).total_seconds() + self.delay(key, count))
        return wait

    def failed(self, database: Database, keys: list[str], now: datetime) -> None:
        forget_before = now - timedelta(seconds=self.max_delay)
        with database.write() as session:
            login_failures.forget_older_than(session, forget_before)
            for key in keys:
                login_failures.add_failure(session, key, now, forget_before=forget_before)

    def succeeded(self, database: Database, keys: list[str]) -> None:
        """A good password clears its (name, address) pair (not the address's count over all names)."""
        with database.write() as session:
            login_failures.clear(session, [key for key in keys if key.startswith("pair:")])
