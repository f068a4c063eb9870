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

    helpers = [threading.Thread(target=run_share, args=(j,), name=f"xihe-compile-{j}", daemon=True)
               for j in range(1, threads)]
    for helper in helpers:
        helper.start()
    run_share(0)
    for helper in helpers:
        helper.join()
    for error in errors:
        if error is not None:
            raise error
    return [shares[i % threads][i // threads] for i in range(count)]
