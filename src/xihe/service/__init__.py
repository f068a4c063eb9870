"""The cloud service (layer 5): storage, accounts, the fair queue with leases, workers, and the native HTTP API.

Module map (where to find things; other layers build on these):

- ``settings.py``  -- :class:`Settings` (pydantic-settings, ``XIHE_*``), read once per process and injected.
- ``db.py``        -- :class:`Database`: engines and sessions (``.write()`` / ``.read()``) for SQLite WAL or PostgreSQL.
- ``models.py``    -- SQLAlchemy tables: users, api_tokens, jobs, job_attempts, job_results, calibration_snapshots,
  idempotency_keys, backend_states, performance_runs.
- ``migrations/``, ``migrate.py`` -- Alembic migrations and ``upgrade(database)`` (``xihe db upgrade``).
- ``repositories/`` -- the only code that writes SQL: ``users`` (users, tokens, passwords, usage), ``jobs`` (insert,
  read, list, cancel, queue position, results), ``queue`` (claim with lease, heartbeat, complete/fail, lease
  expiry), ``calibrations`` (snapshot history, maintenance switch), ``idempotency``, ``performance``
  (stored characterization suite results).
- ``states.py``    -- :class:`JobStatus` and the one transition table (``check_transition``); Quafu codes.
- ``retry.py``     -- :class:`RetryPolicy` (max attempts; which errors retry).
- ``scheduling.py`` -- priority cap, fair share (decayed usage, 1 h half-life), estimated start.
- ``budget.py``    -- a job's memory estimate (one machine's budget shared by its workers).
- ``security.py``  -- token generation and SHA-256 hashing, argon2 passwords (``hash_password``, ``verify_password``).
- ``submit.py``    -- ``submit_job(session, settings, catalog, user, JobCreate, idempotency_key=..., source=...)``:
  validation + quotas + insert; the entry point for every protocol (native API, legacy Quafu routes).
- ``catalog.py``   -- :class:`DeviceCatalog`: the devices of :mod:`xihe.devices`, cached per process.
- ``executor.py``  -- run a job's payload on a device (parse, bind, compile, run) -> result dicts; ``run_items``
  is the seam for Ray fan-out.
- ``worker.py``    -- :class:`Worker`: claim -> heartbeat -> execute -> store once; ``python -m xihe.service.worker``.
- ``characterization.py`` -- characterization suites as jobs (kind ``characterize``): enqueue, run in the worker,
  and the ``XIHE_CHARACTERIZE_EVERY_HOURS`` schedule of ``xihe serve``.
- ``estimate.py``, ``sample.py`` -- the Estimator and Sampler primitives as job kinds (``estimate``, ``sample``):
  PUBs -> work items -> values/stds or per-register shots; ``primitive_jobs.py`` what they share; mitigation
  options through :mod:`xihe.mitigation`.
- ``supervisor.py`` -- local worker processes of ``xihe serve`` / ``xihe worker`` (restart on death).
- ``bootstrap.py`` -- demo user on first start, schema check.
- ``schemas.py``   -- wire schemas (JobCreate, JobPublic, ResultPublic, BackendDetail, Token*...).
- ``views.py``     -- storage rows -> wire objects (``job_public``), shared by API and web pages.
- ``problems.py``  -- :class:`Problem`: RFC 9457 errors with ``code`` and ``stage``.
- ``wakeup.py``    -- wake-ups between processes after a commit (Unix datagram sockets on SQLite, LISTEN/NOTIFY on
  PostgreSQL); ``watch.py`` wakes long polls when their job finishes; ``metrics.py`` Prometheus metrics.
- ``api/``         -- ``deps.py`` (settings, database, catalog, ``current_user``, rate limit), ``errors.py``
  (problem handlers), ``middleware.py`` (body limit, metrics), ``routes/`` one module per resource (``jobs``,
  ``backends``, ``tokens``, ``health``; ``quafu`` for the legacy protocol, included when present).

:func:`xihe.app.create_app` assembles the routers (and ``xihe.web.mount(app)`` when the web layer exists).
"""
