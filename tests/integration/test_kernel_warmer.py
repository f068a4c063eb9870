"""``xihe serve`` warms numba's on-disk cache in one low-priority background process, so that a worker's first job
on a chip twin loads the chip compiler's and the noisy engines' kernels instead of compiling them.

Before, a worker warmed only the ``sim`` path: on a fresh install the first ``line10`` job spent about a minute in
the worker compiling SABRE, the optimisation and KAK kernels and the trajectories kernels (14 s of CPU at a load
average of 11), and the next ``line10`` job waited for it. The test gives the server an empty ``NUMBA_CACHE_DIR``,
waits for its warmer to end, then runs a chip job's path (compile for ``line10`` and ``grid36``, run on the twin) in
a fresh process and counts, from numba's own dispatcher statistics, the kernels it compiled: none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.service.helpers import Server, server_env

# A fresh process doing what a worker does with a chip job, then reporting each numba kernel's cache hits and
# misses (a miss is a compilation).
FIRST_CHIP_JOB = """
import json, sys
import xihe  # first, as in a worker: it sets numba's default CPU features (NUMBA_CPU_FEATURES) before numba loads
from numba.core.registry import CPUDispatcher
from xihe.devices.plan import PlanOptions
from xihe.service.catalog import DeviceCatalog
catalog = DeviceCatalog()
bell = xihe.Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
ghz = xihe.Circuit(3, 3).h(0).cx(0, 1).cx(0, 2).t(2).measure([0, 1, 2], [0, 1, 2])
for name in ("line10", "grid36"):
    device = catalog.get(name)
    for circuit in (bell, ghz):
        device.execute(device.plan(circuit, 100, PlanOptions(seeds=(7,))))
stats = {}
for module_name, module in list(sys.modules.items()):
    if module_name.startswith("xihe"):
        for attr, value in vars(module).items():
            if isinstance(value, CPUDispatcher) and value.__module__ == module_name:
                stats[f"{module_name}.{attr}"] = [sum(value.stats.cache_hits.values()),
                                                  sum(value.stats.cache_misses.values())]
print(json.dumps(stats))
"""


def _children(parent: int) -> dict[int, str]:
    """The command lines of ``parent``'s child processes (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
        if ppid == parent:
            found[int(entry.name)] = cmdline
    return found


def _niceness(pid: int) -> int:
    return int((Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split())[16])


def _running(pid: int) -> bool:
    """Alive and not yet a zombie (the supervisor reaps its warmer only when it stops)."""
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _first_chip_job(cache: Path) -> dict[str, list[int]]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", FIRST_CHIP_JOB], env=env, capture_output=True, text=True,
                          timeout=600, check=True)
    stats: dict[str, list[int]] = json.loads(done.stdout.strip().splitlines()[-1])
    return stats


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
def test_serve_warms_the_chip_kernels_in_a_low_priority_process(tmp_path: Path) -> None:
    cache = tmp_path / "numba-cache"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = server_env(data_dir, WORKERS="1")
    env["NUMBA_CACHE_DIR"] = str(cache)
    server = Server(data_dir, env).start(timeout=180)
    try:
        assert server.process is not None
        warmers = {pid: cmd for pid, cmd in _children(server.process.pid).items() if "xihe.service.warmer" in cmd}
        assert len(warmers) == 1, _children(server.process.pid)
        (pid,) = warmers
        assert _niceness(pid) >= _niceness(server.process.pid) + 10  # below the workers' priority
        deadline = time.monotonic() + 900  # a bound, not a threshold: it only keeps a hung warmer from hanging CI
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(1)
        assert not _running(pid)
    finally:
        server.stop()
    stats = _first_chip_job(cache)
    compiled = {name: misses for name, (_, misses) in stats.items() if misses}
    loaded = {name for name, (hits, _) in stats.items() if hits}
    assert compiled == {}
    # The chip compiler's kernels and the noisy engine's ran, from the cache.
    assert "xihe.compiler.passes.sabre_kernel.sabre_route_kernel" in loaded
    assert "xihe.compiler.passes.optimize_kernel.optimize_loop_kernel" in loaded
    assert any(name.startswith("xihe.engines.kernels.") for name in loaded)
