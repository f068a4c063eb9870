"""Ctrl-C stops ``xihe serve`` quietly: the terminal's SIGINT reaches the whole process group, the API's parse
processes included, and each of them printed a ``KeyboardInterrupt`` traceback (found stopping an API replica of
docs/deploy.md's example from its terminal)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.service.helpers import child_pids, free_port, server_env, xihe_command


def parse_processes(pid: int) -> list[int]:
    """The API's parse processes: its spawned multiprocessing children (not the resource tracker)."""
    found = []
    for child in child_pids(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def ignores_sigint(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(mask & (1 << (signal.SIGINT - 1)))


def test_ctrl_c_stops_serve_without_tracebacks(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(tmp_path, parse_workers="2")
    # SIGINT as a terminal leaves it (a shell without job control starts background commands ignoring it).
    server = subprocess.Popen(xihe_command("serve", "--no-workers", "--port", str(port)), env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "xihe serve did not come up"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        while len(parse_processes(server.pid)) < 2:  # started with the app
            assert time.monotonic() < deadline, "no parse processes"
            time.sleep(0.2)
        settled = time.monotonic() + 30  # until each has set itself up (on the old code: never, so 30 s)
        while not all(ignores_sigint(pid) for pid in parse_processes(server.pid)) and time.monotonic() < settled:
            time.sleep(0.2)
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
    assert server.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
