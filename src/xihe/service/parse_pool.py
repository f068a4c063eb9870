"""The API's pool of parse processes: submitted programs are read and checked there, not in the API process.

Reading a large program is pure Python: on a request thread it holds the GIL for seconds in slices, and on a loaded
machine the kernel preempts that thread while it holds it, so the event loop (``/health``, every other answer)
waits behind it (issue 18: 130-264 ms). A bounded pool of processes owned by the API reads it instead and sends
back only what the submit stores (widths and the memory figure for a job; the payload for an estimate or a
sample). A submission small by both of its measures -- its programs' bytes (``parse_inline_bytes``) and the
operations they expand to (``parse_inline_operations``, seen by the reader's cost model before anything is built)
-- is read on the request's own thread, where the hop would cost more than the read. No task runs on the event
loop (routes call :meth:`ParsePool.run` from the thread pool) or inside a database transaction (the routes check
before they write). Submissions beyond ``parse_queue`` (being read or waiting for a process) get a 503 naming the
limit, with ``Retry-After``.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from xihe.service.catalog import DeviceCatalog
from xihe.service.limits import OverInlineBudget
from xihe.service.problems import Problem
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import check_job

log = logging.getLogger("xihe.parse_pool")

T = TypeVar("T")
# A task: ``task(settings, catalog, *args, inline_operations=cap)``, a module-level function (sent by reference).
Task = Callable[..., T]
RETRY_AFTER_S = 1


class _Child:
    """The settings and device catalog of one parse process, set once by its initializer."""

    settings: Settings | None = None
    catalog: DeviceCatalog | None = None


WARM_PROGRAM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def _start_child(settings: Settings) -> None:
    """Set up a parse process and warm it: a Bell pair checked for every backend imports the reader and the
    planner and loads each device, which the first large submit would otherwise pay for (about a second on the
    loaded machine, seen as a 1-3 s answer to the first bomb of the hostile benchmark).

    Ctrl-C reaches the whole process group: the API stops its pool itself (``close``), so a parse process ignores
    SIGINT (each printed a ``KeyboardInterrupt`` traceback when ``xihe serve`` was stopped so)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _Child.settings = settings
    _Child.catalog = DeviceCatalog()
    for name in _Child.catalog.names():
        try:
            check_job(settings, _Child.catalog, JobCreate(qasm=WARM_PROGRAM, backend=name, shots=1))
        except Exception:  # a backend that refuses a Bell pair still warmed the reader; the submit will say why
            log.debug("warming the parse process on %s", name, exc_info=True)


def _in_child(task: Task[T], args: tuple[Any, ...]) -> T:
    """Run ``task`` in a parse process. A refusal comes back as itself; an error that could not be sent back whole
    (its class cannot be rebuilt from its pickle) as a ``RuntimeError`` naming it, never a broken pool."""
    assert _Child.settings is not None and _Child.catalog is not None
    try:
        return task(_Child.settings, _Child.catalog, *args)
    except Problem:
        raise
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
        raise


def _ready() -> int:
    """A no-op task: submitting one per process makes the executor start them all now."""
    return multiprocessing.current_process().pid or 0


class ParsePool:
    """The pool of one API process: ``parse_workers`` processes (spawned, never forked from the threaded API),
    at most ``parse_queue`` submissions at once. Processes start with the app (:meth:`start`) or on first use."""

    def __init__(self, settings: Settings, catalog: DeviceCatalog) -> None:
        self.settings = settings
        self.catalog = catalog
        self.workers = settings.resolved_parse_workers()
        self.capacity = settings.resolved_parse_queue()
        self._slots = threading.BoundedSemaphore(max(1, self.capacity))
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return self.workers > 0

    def start(self) -> None:
        """Start the processes now (each warms itself), so the first large submit does not pay for it."""
        if self.enabled:
            executor = self._pool()
            for _ in range(self.workers):
                executor.submit(_ready)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child, initargs=(self.settings,))
            return self._executor

    def inline(self, texts: Sequence[str], items: int = 1) -> int | None:
        """The operations the API may read of this submission itself (``items``: the circuits each program is
        planned as, a sweep's bindings), or None when it goes to the pool whatever it expands to."""
        if sum(len(text) for text in texts) > self.settings.parse_inline_bytes:
            return None
        return self.settings.parse_inline_operations // max(1, items)

    def run(self, texts: Sequence[str], task: Task[T], *args: Any, items: int = 1) -> T:
        """``task(settings, catalog, *args)`` for a submission of programs ``texts``: on this thread if it is
        small (see :meth:`inline`), else in a parse process, this thread waiting for the answer. Call it from a
        request's thread, never from the event loop."""
        if not self.enabled:
            return task(self.settings, self.catalog, *args)
        cap = self.inline(texts, items)
        if cap is not None:
            try:
                return task(self.settings, self.catalog, *args, inline_operations=cap)
            except OverInlineBudget:
                pass  # larger than its bytes said: read it where it cannot hold up the event loop
        return self._in_pool(task, args)

    def _in_pool(self, task: Task[T], args: tuple[Any, ...]) -> T:
        if not self._slots.acquire(blocking=False):
            raise Problem(503, "parse_queue_full", f"the server is already reading {self.capacity} submitted "
                          f"programs, its limit (parse_queue = {self.capacity}); nothing was stored, try again "
                          "shortly", stage="validate", headers={"Retry-After": str(RETRY_AFTER_S)},
                          extra={"limit": "parse_queue", "allowed": self.capacity})
        try:
            future: Future[T] = self._pool().submit(_in_child, task, args)
            try:
                return future.result()
            except BrokenProcessPool:
                self._replace_broken()
                raise Problem(503, "parse_unavailable", "the process reading the program ended (out of memory?); "
                              "nothing was stored, try again shortly", stage="validate",
                              headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        finally:
            self._slots.release()

    def _replace_broken(self) -> None:
        """A parse process died (killed, out of memory): the executor refuses every task after that, so start
        a new one for the next submission."""
        with self._lock:
            executor = self._executor
            if executor is not None and getattr(executor, "_broken", False):
                self._executor = None
        if executor is not None and self._executor is None:
            log.warning("a parse process ended unexpectedly; starting a new pool")
            executor.shutdown(wait=False, cancel_futures=True)
