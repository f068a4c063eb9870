"""A Ray cluster of several nodes on this one machine, on 127.0.0.1 and free ports (tests, benchmarks, demos).

Each node is a ``ray start --block`` process in its own process group, so stopping the cluster ends exactly the
processes it started (never ``ray stop``, which would end every Ray process of the user on the machine). Every port
Ray would otherwise take by default (GCS 6379 -- this machine's Redis --, client server 10001, dashboard agent
52365...) is given explicitly from the free ones.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ray_executable() -> str:
    candidate = Path(sys.executable).with_name("ray")
    return str(candidate) if candidate.exists() else "ray"


def _agent_ports() -> list[str]:
    return [f"--dashboard-agent-listen-port={free_port()}", f"--dashboard-agent-grpc-port={free_port()}",
            f"--metrics-export-port={free_port()}", f"--runtime-env-agent-port={free_port()}"]


@dataclass
class LocalRayCluster:
    """``nodes`` Ray nodes with ``cpus_per_node`` CPUs each; ``address`` is what ``XIHE_RAY_ADDRESS`` takes."""

    nodes: int = 2
    cpus_per_node: int = 1
    object_store_bytes: int = 256 * 1024**2  # a good neighbour on a shared machine (Ray's default: 30% of RAM)
    port: int = field(default_factory=free_port)
    temp_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / f"xr{secrets.token_hex(3)}")
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _spawn(self, args: list[str], log_name: str) -> None:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        log = (self.temp_dir / log_name).open("wb")
        # A raylet on a busy 2-core machine can take longer than Ray's default wait to register with the GCS.
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_raylet_start_wait_time_s": "180"}
        self.processes.append(subprocess.Popen([_ray_executable(), "start", "--block", *args], stdout=log,
                                               stderr=subprocess.STDOUT, env=env, start_new_session=True))

    def start(self, timeout: float = 120.0) -> LocalRayCluster:
        common = ["--node-ip-address=127.0.0.1", f"--num-cpus={self.cpus_per_node}", "--disable-usage-stats",
                  f"--object-store-memory={self.object_store_bytes}"]
        self._spawn(["--head", f"--port={self.port}", "--include-dashboard=false", f"--temp-dir={self.temp_dir}",
                     f"--ray-client-server-port={free_port()}", *common, *_agent_ports()], "head.log")
        self._wait_for(1, timeout)
        worker_args = [f"--address={self.address}", *common]
        for index in range(1, self.nodes):
            self._spawn([*worker_args, *_agent_ports()], f"node{index}.log")
        try:
            self._wait_for(self.nodes, timeout)
        except RuntimeError:
            # A node whose raylet timed out registering exits; start each such node once more, then wait again.
            dead = [i for i, p in enumerate(self.processes) if i > 0 and p.poll() is not None]
            if not dead:
                raise
            for i in reversed(dead):
                self.processes.pop(i)
            for i in dead:
                self._spawn([*worker_args, *_agent_ports()], f"node{i}-retry.log")
            self._wait_for(self.nodes, timeout)
        return self

    def _wait_for(self, nodes: int, timeout: float) -> None:
        """Wait until the GCS knows ``nodes`` alive nodes, asking from a short-lived process (this one stays
        unconnected, so it can later connect as any driver would)."""
        code = ("import sys, time, ray\n"
                "deadline = time.monotonic() + float(sys.argv[3])\n"
                "while True:\n"
                "    try:\n"
                "        ray.init(address=sys.argv[1], logging_level='ERROR', log_to_driver=False)\n"
                "        break\n"
                "    except ConnectionError:\n"
                "        if time.monotonic() > deadline: sys.exit(2)\n"
                "        time.sleep(0.5)\n"
                "while sum(1 for n in ray.nodes() if n['Alive']) < int(sys.argv[2]):\n"
                "    if time.monotonic() > deadline: sys.exit(3)\n"
                "    time.sleep(0.2)\n")
        done = subprocess.run([sys.executable, "-c", code, self.address, str(nodes), str(timeout)],
                              capture_output=True, text=True, timeout=timeout + 30, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the Ray cluster did not reach {nodes} node(s) in {timeout:g} s: {done.stderr[-2000:]}"
                               f"\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.temp_dir.glob("*.log")))

    def stop(self, timeout: float = 40.0) -> None:
        """SIGTERM each node (``ray start --block`` then stops its own raylet, GCS and workers); SIGKILL stragglers."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        self.processes.clear()
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@contextlib.contextmanager
def local_ray_cluster(nodes: int = 2, cpus_per_node: int = 1) -> Iterator[LocalRayCluster]:
    cluster = LocalRayCluster(nodes=nodes, cpus_per_node=cpus_per_node)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
