"""The data-access layer: the only code that queries or writes the database.

Every function takes an open :class:`sqlalchemy.orm.Session` (the caller owns the transaction, through
:meth:`xihe.service.db.Database.write` or ``.read``) and returns model rows or plain values.

- :mod:`.users`: users, roles, passwords, API tokens, usage (fair share).
- :mod:`.jobs`: insert, read, list, cancel, queue position, results, quota counters.
- :mod:`.memory_pages`: per-shot memory in bounded pages, apart from the results' counts.
- :mod:`.count_pages`: counts of many distinct outcomes in bounded pages, apart from the job's record.
- :mod:`.queue`: claim with a lease, heartbeat, complete/fail/requeue, lease expiry, attempt records.
- :mod:`.calibrations`: calibration snapshots (history) and backend status overrides.
- :mod:`.idempotency`: Idempotency-Key records.
- :mod:`.web_sessions`: the dashboard's server-side login sessions (revoked on logout).
"""
