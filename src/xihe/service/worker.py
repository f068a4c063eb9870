"""The worker loop: claim the best job with a lease, heartbeat it, run it, store its result once.

The same loop runs in the local worker processes of ``xihe serve``, in ``xihe worker`` on other machines
(against a shared PostgreSQL), and under the cluster layer. A worker that dies leaves its lease to expire; any
worker's reaper then puts the job back (at most ``max_attempts`` attempts, see :mod:`xihe.service.retry`).
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from xihe.devices import Device
from xihe.errors import XiheError
from xihe.service import characterization, estimate, executor, sample
from xihe.service.catalog import DeviceCatalog, calibration_fields
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.limits import input_limits
from xihe.service.models import Job
from xihe.service.repositories import calibrations, idempotency, memory_pages, performance, queue
from xihe.service.repositories.performance import CHARACTERIZE_KIND
from xihe.service.retry import RetryDecision, RetryPolicy
from xihe.service.settings import Settings
from xihe.service.states import ErrorStage
from xihe.service.wakeup import JOBS_CHANNEL, wakeup_for

log = logging.getLogger("xihe.worker")


@dataclass
class RunningJob:
    """What the heartbeat thread and the loop share about the job in hand."""

    job_id: str
    wall_seconds: float
    started: float = field(default_factory=time.monotonic)
    cancel_requested: bool = False
    cancel_seen: float | None = None  # when a heartbeat first brought the cancel request back
    lease_lost: bool = False
    wall_exceeded: bool = False

    def should_stop(self) -> bool:
        return self.cancel_requested or self.lease_lost or self.wall_exceeded


def record_calibrations(database: Database, catalog: DeviceCatalog, names: Sequence[str]) -> None:
    """Store each device's current calibration snapshot (kept as history, once per snapshot id)."""
    with database.write() as session:
        for name in names:
            fields = calibration_fields(catalog.get(name))
            if fields is not None:
                calibrations.record_snapshot(session, name, fields["snapshot_id"], fields["version"],
                                             fields["time"], fields["data"])


class Worker:
    """One claim/lease/run loop. ``hard_wall_limit``: exit the process when a job overruns its wall time."""

    def __init__(self, settings: Settings, database: Database, *, backends: Sequence[str] | None = None,
                 catalog: DeviceCatalog | None = None, worker_id: str | None = None,
                 hard_wall_limit: bool = False,
                 run_items: Callable[[Any, list[executor.WorkItem], Callable[[], bool]], list[dict[str, Any]]]
                 | None = None) -> None:
        self.settings = settings
        self.database = database
        self.catalog = catalog or DeviceCatalog()
        self.host = socket.gethostname()
        self.worker_id = worker_id or f"{self.host}-{os.getpid()}-{secrets.token_hex(3)}"
        self.backends = list(backends) if backends else list(settings.worker_backends or self.catalog.names())
        self.exclusive = sorted(self.catalog.exclusive_names() & set(self.backends))
        self.policy = RetryPolicy(settings.max_attempts)
        self.hard_wall_limit = hard_wall_limit
        self.run_items = run_items or executor.run_items
        self._last_reap = 0.0
        self._last_purge = 0.0
        self.jobs_done = 0
        self._heartbeat = Heartbeat(self)

    # -- the loop -------------------------------------------------------------------------------------------
    def run_forever(self, stop: threading.Event | None = None, parent_pid: int | None = None) -> None:
        stop = stop or threading.Event()
        wakeup = wakeup_for(self.database.url, JOBS_CHANNEL)
        idle = self.settings.poll_interval_seconds
        try:
            while not stop.is_set():
                if parent_pid is not None and os.getppid() != parent_pid:
                    log.warning("parent process gone; worker %s exits", self.worker_id)
                    return
                self.reap_if_due()
                if self.run_once():
                    idle = self.settings.poll_interval_seconds
                    continue
                # Idle: sleep until the database changes (a submit) or the backoff runs out (a lease to reap).
                wakeup.wait(idle)
                idle = min(idle * 2, self.settings.idle_poll_max_seconds)
        finally:
            wakeup.close()

    def close(self) -> None:
        """Stop the heartbeat thread (a worker object used in-process, e.g. by tests or the benchmark)."""
        self._heartbeat.stop()

    def reap_if_due(self) -> None:
        now = time.monotonic()
        if now - self._last_reap < max(0.5, self.settings.lease_seconds / 4):
            return
        self._last_reap = now
        requeued: list[str] = []
        with self.database.read() as session:
            expired = queue.any_expired(session, utcnow())
        if expired:  # the write lock only when there is something to put back
            with self.database.write() as session:
                requeued = queue.requeue_expired(session, now=utcnow(), policy=self.policy)
        if now - self._last_purge > 600:  # Idempotency-Keys are kept idempotency_hours, then forgotten
            self._last_purge = now
            with self.database.write() as session:
                idempotency.purge_keys(session, older_than=utcnow() - timedelta(hours=self.settings.idempotency_hours))
        if requeued:
            log.warning("requeued %d job(s) with expired leases: %s", len(requeued), requeued)

    def claim(self) -> Job | None:
        with self.database.read() as session:
            if not queue.any_queued(session, self.backends):
                return None
        with self.database.write() as session:
            return queue.claim_next_job(
                session, worker_id=self.worker_id, host=self.host, backends=self.backends, exclusive=self.exclusive,
                memory_budget=self.settings.resolved_memory_budget(), lease_seconds=self.settings.lease_seconds,
                now=utcnow())

    def run_once(self) -> bool:
        """Claim and run one job; False if there was none to claim."""
        job = self.claim()
        if job is None:
            return False
        self.execute(job)
        return True

    # -- one job --------------------------------------------------------------------------------------------
    def execute(self, job: Job) -> None:
        running = RunningJob(job_id=job.id, wall_seconds=job.wall_seconds)
        self._heartbeat.watch(running)
        started = time.monotonic()
        try:
            results = self._run(job, running)
        except executor.Stopped:
            self._finish_stopped(job, running, time.monotonic() - started)
            return
        except XiheError as exc:
            self._finish_error(job, exc, time.monotonic() - started)
            return
        except Exception as exc:  # an infrastructure or engine bug: retried by policy, never silent
            log.exception("job %s failed unexpectedly", job.id)
            self._finish_error(job, exc, time.monotonic() - started)
            return
        finally:
            self._heartbeat.unwatch()
        elapsed = time.monotonic() - started
        if running.should_stop():
            self._finish_stopped(job, running, elapsed)
            return
        with self.database.write() as session:
            stored = queue.finish_attempt(session, job.id, queue.Ending.done(results, elapsed), now=utcnow(),
                                          holder=self.worker_id)
            if stored and job.kind == CHARACTERIZE_KIND:  # the suite document, kept with its time
                performance.record_run(session, job.backend, job.id, results[0],
                                       characterization.document_time(results[0]))
        if not stored:
            log.warning("job %s finished but its lease was lost; result discarded", job.id)
        self.jobs_done += 1

    def _run(self, job: Job, running: RunningJob) -> list[dict[str, Any]]:
        device = self.catalog.get(job.backend)
        if job.kind == CHARACTERIZE_KIND:
            return characterization.run_job(device, job.payload, running.should_stop)
        if job.kind == estimate.ESTIMATE_KIND:
            return estimate.run_job(device, job.payload, running.should_stop, self.run_items)
        if job.kind == sample.SAMPLE_KIND:
            return self._run_stored(job, device, sample.sample_items(job.payload), running)
        items = executor.work_items(job.payload, job.shots, limits=input_limits(self.settings, device),
                                    memory_limit=self.settings.resolved_memory_budget())
        if not job.payload.get("memory"):
            return self.run_items(device, items, running.should_stop)
        return self._run_stored(job, device, items, running)

    def _run_stored(self, job: Job, device: Device, items: list[executor.WorkItem], running: RunningJob
                    ) -> list[dict[str, Any]]:
        """Per-shot memory (a plain job's or a sampling job's): items run in groups of at most a page row's worth
        of shots (a larger item alone), each group's pages stored before the next runs, so the worker holds one
        group's keys, not the job's (a group's items still fan out together, an item's shots too); the plan
        prices the job so (``memory_pages.STORED_IN_GROUPS``)."""
        records = []
        for group in memory_pages.shot_groups(items):
            done = self.run_items(device, group, running.should_stop)
            try:
                with self.database.write() as session:
                    records += [memory_pages.store_item(session, job.id, self.worker_id, item.index, record)
                                for item, record in zip(group, done, strict=True)]
            except memory_pages.LeaseLost:
                running.lease_lost = True
                raise executor.Stopped() from None
        return records

    def finish(self, job_id: str, ending: queue.Ending) -> bool:
        """End this worker's attempt at ``job_id`` (the one path: :func:`queue.finish_attempt`)."""
        with self.database.write() as session:
            return queue.finish_attempt(session, job_id, ending, now=utcnow(), holder=self.worker_id)

    def _finish_error(self, job: Job, error: BaseException, elapsed: float) -> None:
        self.finish(job.id, queue.Ending.error(self.policy.after_error(job.attempts, error),
                                               error_stage(error), elapsed))

    def _finish_stopped(self, job: Job, running: RunningJob, elapsed: float) -> None:
        if running.wall_exceeded:
            self.finish(job.id, wall_limit_ending(running, elapsed))
        elif running.cancel_requested:
            self.finish(job.id, queue.Ending.cancelled(elapsed))


def error_stage(error: BaseException) -> ErrorStage:
    """The stage a Xihe error names (validate, compile, execute); anything else failed while executing."""
    stage = error.stage if isinstance(error, XiheError) else None
    return next((s for s in ErrorStage if s.value == stage), ErrorStage.EXECUTE)


def wall_limit_ending(running: RunningJob, elapsed: float) -> queue.Ending:
    """A job that ran past its wall-time limit fails at once (a retry would run just as long)."""
    decision = RetryDecision(False, f"wall-time limit of {running.wall_seconds:g} s exceeded")
    return queue.Ending.error(decision, ErrorStage.EXECUTE, elapsed)



# How often a running job's cancel flag is read between beats, and how long a run may take to reach a cooperative
# check after a cancel before its worker records CANCELLED and ends itself: a cancel takes effect within about
# their sum (issue 18: "RUNNING, cancel requested" once ended DONE seconds later).
CANCEL_POLL_SECONDS = 0.5
CANCEL_GRACE_SECONDS = 1.0


class Heartbeat:
    """One long-lived thread per worker that renews the lease of the job in hand.

    It ticks every ``interval`` seconds and beats only a job that has run for at least one interval, so a short
    job costs neither a write nor a thread wake-up (``watch`` is a plain attribute store); a long one is renewed
    every tick, and the beat also brings back a cancel request and enforces the wall-time limit.
    """

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        settings = worker.settings
        self.interval = min(settings.heartbeat_seconds, settings.lease_seconds / 3)
        self._current: RunningJob | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{worker.worker_id}", daemon=True)
        self._thread.start()

    def watch(self, running: RunningJob) -> None:
        self._current = running

    def stop(self) -> None:
        self._stop.set()

    def unwatch(self) -> None:
        self._current = None

    def _loop(self) -> None:
        tick = min(self.interval / 2, CANCEL_POLL_SECONDS)
        last_beat = 0.0
        while not self._stop.wait(tick):
            running = self._current
            if running is None:
                continue
            now = time.monotonic()
            if now - running.started >= self.interval and now - last_beat >= self.interval / 2:
                last_beat = now
                self.beat(running)
            elif now - running.started >= CANCEL_POLL_SECONDS:
                self.poll_cancel(running)

    def poll_cancel(self, running: RunningJob) -> None:
        """Between beats: read the cancel flag (no write), so a cancel is seen within ``CANCEL_POLL_SECONDS``."""
        try:
            with self.worker.database.read() as session:
                requested = queue.cancel_requested(session, running.job_id)
        except Exception:  # the next beat tries again
            log.exception("cancel check for %s failed", running.job_id)
            return
        if requested:
            self._on_cancel(running)

    def _on_cancel(self, running: RunningJob) -> None:
        """A cancel was requested: the run's cooperative checks stop it; if it reaches none within
        ``CANCEL_GRACE_SECONDS`` (one long kernel), record CANCELLED and end this process (the supervisor starts a
        fresh worker). If the job ended meanwhile, keep going."""
        worker = self.worker
        running.cancel_requested = True
        if not worker.hard_wall_limit:
            return
        if running.cancel_seen is None:
            running.cancel_seen = time.monotonic()
        elif time.monotonic() - running.cancel_seen >= CANCEL_GRACE_SECONDS:
            elapsed = time.monotonic() - running.started
            if worker.finish(running.job_id, queue.Ending.cancelled(elapsed)):
                log.warning("job %s cancelled while running; ending this worker to stop it", running.job_id)
                os._exit(75)

    def beat(self, running: RunningJob) -> None:
        worker = self.worker
        try:
            with worker.database.write() as session:
                state = queue.renew_lease(session, running.job_id, worker.worker_id,
                                          lease_seconds=worker.settings.lease_seconds, now=utcnow())
        except Exception:  # the database is briefly unreachable: the lease still has time
            log.exception("heartbeat for %s failed", running.job_id)
            return
        running.lease_lost = not state.held
        if state.cancel_requested:
            self._on_cancel(running)
        if time.monotonic() - running.started > running.wall_seconds:
            running.wall_exceeded = True
            if worker.hard_wall_limit:
                # The engine cannot be interrupted mid-kernel: record the failure, then end this process;
                # the supervisor starts a fresh worker.
                worker.finish(running.job_id, wall_limit_ending(running, time.monotonic() - running.started))
                os._exit(75)


def warm_up(catalog: DeviceCatalog) -> None:
    """Compile the ``sim`` path's kernels (numba caches them on disk) so the quickstart's first job is not slow.

    Only that path, in seconds: the worker claims jobs right after. The chip compiler's and the noisy engines'
    kernels are compiled in the background by the supervisor's warmer (:mod:`xihe.service.warmer`)."""
    from xihe import qasm

    try:
        device = catalog.get("sim")
        circuit = qasm.loads('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n'
                             "measure q -> c;\n")
        device.run(device.compile(circuit, seed=1).circuit, 10, seed=1)
    except Exception:  # warming is an optimisation; a real job reports real errors
        log.debug("warm-up failed", exc_info=True)


def set_parent_death_signal() -> None:
    """On Linux, die with the parent (kill -9 of ``xihe serve`` must not leave orphan workers running)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _exit_on_terminate(signum: int, frame: object) -> None:
    """The supervisor stops a worker with SIGTERM: leave through ``finally`` blocks (the wake-up socket is removed,
    the lease of a job in hand expires and the job is put back)."""
    raise SystemExit(0)


def limit_threads(threads: int) -> None:
    """Cap the numeric libraries' threads to this worker's share of the machine (before they load)."""
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(max(1, threads))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of a local worker process started by ``xihe serve`` (settings from the environment)."""
    import argparse

    parser = argparse.ArgumentParser(prog="xihe-worker")
    parser.add_argument("--backends", nargs="*", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    if args.parent_pid is not None:
        set_parent_death_signal()
        if os.getppid() != args.parent_pid:
            return
    logging.basicConfig(level=os.environ.get("XIHE_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s worker %(process)d %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    settings = Settings()
    database = Database.from_settings(settings)
    catalog = DeviceCatalog()
    from xihe.service.cluster import configured_run_items  # Ray fan-out when XIHE_RAY_ADDRESS is set

    worker = Worker(settings, database, backends=args.backends, catalog=catalog, hard_wall_limit=True,
                    run_items=configured_run_items())
    record_calibrations(database, catalog, worker.backends)
    warm_up(catalog)
    worker.run_forever(parent_pid=args.parent_pid)


if __name__ == "__main__":
    main()
