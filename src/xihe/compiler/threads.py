"""How many threads one compile runs its independent parts on (the ``XIHE_COMPILE_THREADS`` setting): the layout
trials, the kept routings' replay, the routing candidates' finishing and Clifford resynthesis's two paths.

The trials' routing kernel releases the GIL (:mod:`.passes.sabre_kernel`), so trials run side by side in threads of
one process; the chosen routings do not depend on the thread count (see :class:`~.passes.layout.SabreLayout`).
A service's workers each compile one job at a time; an operator who runs as many workers as cores sets
``XIHE_COMPILE_THREADS=1`` so that compiles do not compete for the cores the other workers use.

>>> compile_threads({"XIHE_COMPILE_THREADS": "1"})
1
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Mapping
from typing import TypeVar

import numba

COMPILE_THREADS_ENV = "XIHE_COMPILE_THREADS"
T = TypeVar("T")


def compile_threads(environ: Mapping[str, str] | None = None) -> int:
    """``XIHE_COMPILE_THREADS`` if set (at least 1), else the cores this process may run on, no more than numba's
    thread count (which a service worker caps to its share of the machine, see ``worker.limit_threads``)."""
    environ = os.environ if environ is None else environ
    value = environ.get(COMPILE_THREADS_ENV, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(f"{COMPILE_THREADS_ENV} must be a whole number of threads, not {value!r}") from None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, numba.config.NUMBA_NUM_THREADS))


def run_striped(task: Callable[[int], T], count: int, threads: int) -> list[T]:
    """``[task(0), ..., task(count - 1)]``, run on up to ``threads`` threads: share ``j`` (the tasks ``j``,
    ``j + threads``, ...) runs in turn on one thread, share 0 on the calling thread, each other share on a thread
    of its own (a fixed share, so which thread runs which task never depends on timing).

    The results come back in task order; the calling thread runs everything when ``threads`` is 1. An exception in
    a task is raised here (the first share's first) once every thread is done.

    >>> run_striped(lambda i: i * i, 5, threads=2)
    [0, 1, 4, 9, 16]
    """
    threads = max(1, min(threads, count))
    shares: list[list[T]] = [[] for _ in range(threads)]
    errors: list[BaseException | None] = [None] * threads

    def run_share(j: int) -> None:
        try:
            shares[j] = [task(i) for i in range(j, count, threads)]
        except BaseException as exc:  # handed to the calling thread, raised there
            errors[j] = exc

    done = [_hand_over(run_share, j) for j in range(1, threads)]
    run_share(0)
    for event in done:
        event.wait()
    for error in errors:
        if error is not None:
            raise error
    return [shares[i % threads][i // threads] for i in range(count)]


class _Helper:
    """A kept helper thread: runs the shares handed to it, one at a time, then waits for the next.

    A compile hands out shares four or five times (layout trials, replay, candidates, Clifford paths); starting a
    thread for each costs ~0.1 ms of CPU and, worse on a loaded machine, makes the calling thread wait in
    ``Thread.start`` until the new thread has been scheduled (issue 19). A kept thread is only woken.
    """

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="xihe-compile-helper", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self.jobs.get()()


# Helpers with nothing to do; a share takes one (or starts one: every share runs at once, so nested or concurrent
# compiles never wait on one another's helpers).
_idle: queue.SimpleQueue[_Helper] = queue.SimpleQueue()


def _hand_over(run_share: Callable[[int], None], j: int) -> threading.Event:
    """Run ``run_share(j)`` on an idle helper; the returned event is set once it is done."""
    try:
        helper = _idle.get_nowait()
    except queue.Empty:
        helper = _Helper()
    done = threading.Event()

    def job() -> None:
        try:
            run_share(j)
        finally:
            # Idle again before the caller hears it is done: a compile's next hand-out finds it (the other order
            # let the caller start a new helper while this one was still on its way back).
            _idle.put(helper)
            done.set()

    helper.jobs.put(job)
    return done


def _forget_helpers() -> None:
    """A forked child has none of its parent's threads: drop the helpers it would otherwise wait on forever."""
    global _idle
    _idle = queue.SimpleQueue()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)
