"""Local worker processes: start them, restart any that dies, stop them all on shutdown.

Each worker is a separate process (``python -m xihe.service.worker``) with its share of the machine's threads; a
worker that exits (a wall-time kill, a crash) is replaced. Workers also die with their parent (PR_SET_PDEATHSIG),
so a kill -9 of ``xihe serve`` leaves no orphan holding leases.

Beside the workers, the supervisor starts one kernel warmer (``python -m xihe.service.warmer``) at the lowest CPU
priority: it fills numba's on-disk cache with the chip compiler's and the noisy engines' kernels while the workers,
warmed for ``sim`` only, already claim jobs; it runs once and is not restarted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

from xihe.service.settings import Settings
from xihe.service.wakeup import forget_processes

log = logging.getLogger("xihe.supervisor")
# Local workers run this much nicer than ``xihe serve``'s API process: on a machine they share, a simulation never
# delays an answer (``/health`` within 100 ms while a worker computes or starts, issue 18); with nothing else to
# run, a nice process still gets every idle CPU.
WORKER_NICENESS = 10
# The kernel warmer runs at the lowest priority, below the workers: no job ever waits for it.
WARMER_NICENESS = 19


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process build the same :class:`Settings`."""
    env = dict(os.environ)
    data = settings.model_dump(mode="json")
    data["data_dir"] = str(settings.data_dir.absolute())
    data["database_url"] = settings.resolved_database_url()
    for name, value in data.items():
        key = f"XIHE_{name.upper()}"
        if value is None:
            env.pop(key, None)
        elif isinstance(value, list | dict):
            env[key] = json.dumps(value)
        else:
            env[key] = str(value)
    return env


class WorkerSupervisor:
    def __init__(self, settings: Settings, processes: int, *, backends: Sequence[str] | None = None) -> None:
        self.settings = settings
        self.processes = max(0, processes)
        self.backends = list(backends) if backends else None
        self.threads_each = max(1, settings.resolved_thread_budget() // max(1, self.processes))
        self._children: list[subprocess.Popen[bytes]] = []
        self.warmer: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _command(self) -> list[str]:
        command = [sys.executable, "-m", "xihe.service.worker", "--threads", str(self.threads_each),
                   "--parent-pid", str(os.getpid())]
        if self.backends:
            command += ["--backends", *self.backends]
        return command

    def _spawn(self, command: list[str] | None = None, niceness: int = WORKER_NICENESS) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(command or self._command(), env=settings_environment(self.settings))
        with contextlib.suppress(OSError):  # a worker's CPU goes to the API first (the answers users wait on)
            os.setpriority(os.PRIO_PROCESS, child.pid, os.getpriority(os.PRIO_PROCESS, 0) + niceness)
        return child

    def start(self) -> None:
        self._children = [self._spawn() for _ in range(self.processes)]
        if self.processes:  # after the workers, so they start claiming first
            self.warmer = self._spawn([sys.executable, "-m", "xihe.service.warmer"], WARMER_NICENESS)
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._thread.start()

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self._children]

    def _watch(self) -> None:
        count = len(self._children)
        started = [time.monotonic()] * count
        delay = [0.0] * count
        dead_since: list[float | None] = [None] * count
        while not self._stop.wait(0.5):
            for index, child in enumerate(self._children):
                if self._stop.is_set() or child.poll() is None:
                    continue
                now = time.monotonic()
                if dead_since[index] is None:
                    dead_since[index] = now
                    # A worker that dies young (database down, broken install) comes back after a growing delay.
                    young = now - started[index] < 10.0
                    delay[index] = min(30.0, max(1.0, 2 * delay[index])) if young else 0.0
                    log.warning("worker %d exited with %s; restarting in %.0f s", child.pid, child.returncode,
                                delay[index])
                if now - (dead_since[index] or now) < delay[index]:
                    continue
                self._children[index] = self._spawn()
                started[index] = now
                dead_since[index] = None

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        everyone = [*self._children, *([self.warmer] if self.warmer else [])]
        for child in everyone:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + timeout
        for child in everyone:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        # A worker killed (or one that died on its own) left its wake-up socket behind.
        forget_processes(self.settings.resolved_database_url(), [child.pid for child in everyone])
        if self._thread is not None:
            self._thread.join(timeout=2)

    def wait(self) -> None:
        """Block until stopped (``xihe worker`` in the foreground)."""
        while not self._stop.wait(1.0):
            pass
