"""Submitted programs are read in the API's parse processes, not in the API process (issue 18), on a live
``xihe serve``: a large program held the GIL on a request thread for seconds, and whenever the kernel preempted
that thread the event loop (``/health``, every other answer) waited with it.

Structural checks, no timing threshold: during concurrent large submits on the native, legacy Quafu, sampler and
editor routes, the CPU they cost is spent by the API's parse processes (other PIDs) rather than by the API
process; submissions beyond the pool's queue get a 503 that names the limit, with ``Retry-After``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.helpers import BELL, Server, child_pids, live_server, server_env
from xihe.devices.registry import SIM_ALIAS_SYSTEM_ID

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
TICKS = os.sysconf("SC_CLK_TCK")


def broadcast_program(lines: int) -> str:
    """A 20-qubit program of ``lines`` broadcasts ``h q;`` (20 operations each) and CXs: 19 bytes a line, so
    a program of ~200 KB is ~0.4 s of reading and planning in one process."""
    return H + "qreg q[20];\ncreg c[20];\n" + "h q;\ncx q[0],q[1];\n" * lines + "measure q -> c;\n"


LINES = 10_000
LARGE = broadcast_program(LINES)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def idle_cpu_seconds(pids: list[int]) -> float:
    """The processes' CPU once they are idle (done warming up, or with an earlier test's task): the same figure
    twice, half a second apart."""
    last = -1.0
    for _ in range(120):
        now = sum(cpu_seconds(pid) for pid in pids)
        if now == last:
            return now
        last = now
        time.sleep(0.5)
    raise AssertionError("the parse processes never went idle")


def parse_processes(server: Server) -> list[int]:
    """The API's pool processes: its children started by multiprocessing's spawn (workers run as their own
    module, and there are none here)."""
    assert server.process is not None
    found = []
    for pid in child_pids(server.process.pid):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"xihe-parse-{request.param}")
    with live_server(data_dir, request.param, "--no-workers", PARSE_WORKERS="2", COOKIE_SECURE="false",
                     RATE_LIMIT_PER_SECOND="100000") as (srv, _url):
        yield srv


def csrf_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def web_client(server: Server) -> httpx.Client:
    """A logged-in browser session (the editor's routes), with its CSRF token in ``headers``."""
    assert server.password is not None
    web = httpx.Client(base_url=server.url, timeout=120)
    login = web.post("/login", data={"name": "demo", "password": server.password, "next": "/editor",
                                     "csrf_token": csrf_token(web.get("/login"))}, follow_redirects=False)
    assert login.status_code == 303, login.text
    web.headers["X-CSRF-Token"] = csrf_token(web.get("/editor"))
    return web


def large_submits(server: Server) -> list[Callable[[], httpx.Response]]:
    """One large submission on each route that reads a program."""
    api = {"Authorization": f"Bearer {server.token}"}
    web = web_client(server)
    return [
        lambda: httpx.post(f"{server.url}/api/v1/jobs", headers=api, timeout=120,
                           json={"qasm": LARGE, "backend": "sim", "shots": 10}),
        lambda: httpx.post(f"{server.url}/qbackend/scq_kit_asyc/", headers={"api_token": server.token or ""},
                           timeout=120, data={"qtasm": LARGE, "selected_server": str(SIM_ALIAS_SYSTEM_ID),
                                              "shots": "10"}),
        lambda: httpx.post(f"{server.url}/api/v1/sample", headers=api, timeout=120,
                           json={"backend": "sim", "shots": 10, "pubs": [{"circuit": LARGE}]}),
        lambda: web.post("/editor/validate", json={"qasm": LARGE, "backend": "sim"}),
    ]


def run_together(sends: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    answers: list[httpx.Response | None] = [None] * len(sends)
    start = threading.Barrier(len(sends))

    def one(index: int) -> None:
        start.wait()
        answers[index] = sends[index]()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(sends))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert all(answer is not None for answer in answers), "a submit did not answer"
    return [answer for answer in answers if answer is not None]


def test_large_submits_are_read_in_the_parse_processes(server: Server) -> None:
    assert server.process is not None
    sends = large_submits(server)
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {server.token}"}) as c:
        assert c.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).status_code == 201
    pool = parse_processes(server)
    assert pool, "the API started no parse process"
    pool_before = idle_cpu_seconds(pool)
    api_before = cpu_seconds(server.process.pid)
    health: list[float] = []
    stop = threading.Event()

    def probe() -> None:  # reported, not asserted: the figure depends on the machine's load
        while not stop.is_set():
            started = time.perf_counter()
            httpx.get(f"{server.url}/health", timeout=60)
            health.append(time.perf_counter() - started)
            time.sleep(0.02)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        answers = run_together(sends)
    finally:
        stop.set()
        prober.join(60)
    api_cpu = cpu_seconds(server.process.pid) - api_before
    pool_cpu = sum(cpu_seconds(pid) for pid in parse_processes(server) if pid in pool) - pool_before
    print(f"API process {api_cpu:.2f} s CPU, parse processes {pool_cpu:.2f} s; /health worst "
          f"{max(health) * 1000:.0f} ms over {len(health)} probes")
    native, legacy, sample, editor = answers
    assert native.status_code == 201, native.text
    assert legacy.status_code == 200 and legacy.json()["status"] == 0, legacy.text
    assert sample.status_code == 201, sample.text
    assert editor.status_code == 200 and editor.json()["ok"], editor.text
    assert editor.json()["stats"]["operations"] == LINES * 21 + 20  # as read in the parse process
    # Reading four programs of 210,000 operations is seconds of CPU: the parse processes spent it, the API
    # process (HTTP, JSON, the short write transactions) only a fraction of it.
    assert pool_cpu > api_cpu, (pool_cpu, api_cpu)


def test_a_small_program_is_read_in_the_api_process(server: Server) -> None:
    """A Bell pair never pays the hop: its submit's answer names the same stored job either way, and the parse
    processes spend nothing on twenty of them."""
    pool = parse_processes(server)
    assert pool, "the API started no parse process"
    before = idle_cpu_seconds(pool)
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {server.token}"}) as c:
        for _ in range(20):
            assert c.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).status_code == 201
    assert sum(cpu_seconds(pid) for pid in pool) - before < 0.05  # a stray tick at most: nothing was read there


def test_submits_beyond_the_queue_get_a_503_naming_the_limit(tmp_path: Path) -> None:
    env = server_env(tmp_path, PARSE_WORKERS="1", PARSE_QUEUE="1", RATE_LIMIT_PER_SECOND="100000")
    server = Server(tmp_path, env).start("--no-workers")
    try:
        api = {"Authorization": f"Bearer {server.token}"}

        def send() -> httpx.Response:
            return httpx.post(f"{server.url}/api/v1/jobs", headers=api, timeout=120,
                              json={"qasm": LARGE, "backend": "sim", "shots": 10})

        answers = run_together([send] * 4)
    finally:
        server.stop()
    statuses = sorted(answer.status_code for answer in answers)
    assert 201 in statuses and 503 in statuses, statuses
    refused = next(answer for answer in answers if answer.status_code == 503)
    body = refused.json()
    assert body["code"] == "parse_queue_full" and body["limit"] == "parse_queue" and body["allowed"] == 1
    assert "parse_queue" in body["detail"]
    assert int(refused.headers["Retry-After"]) > 0


def test_a_legacy_task_recall_reads_its_stored_program_in_the_parse_processes(server: Server) -> None:
    """pyquafu's recall answers with the program rewritten in its dialect, read again from storage on every call:
    a large one is read in the parse processes too."""
    assert server.process is not None
    legacy = {"api_token": server.token or ""}
    sent = httpx.post(f"{server.url}/qbackend/scq_kit_asyc/", headers=legacy, timeout=120,
                      data={"qtasm": LARGE, "selected_server": str(SIM_ALIAS_SYSTEM_ID), "shots": "10"}).json()
    assert sent["status"] == 0 and sent["openqasm"].count("cx q[0],q[1];") == LINES, sent.get("message")
    pool = parse_processes(server)
    assert pool, "the API started no parse process"
    pool_before = idle_cpu_seconds(pool)
    api_before = cpu_seconds(server.process.pid)

    def recall() -> httpx.Response:
        return httpx.post(f"{server.url}/qbackend/scq_task_recall/", headers=legacy, timeout=120,
                          data={"task_id": sent["task_id"]})

    answers = run_together([recall] * 4)
    api_cpu = cpu_seconds(server.process.pid) - api_before
    pool_cpu = sum(cpu_seconds(pid) for pid in pool) - pool_before
    assert all(answer.json()["openqasm"] == sent["openqasm"] for answer in answers)
    assert pool_cpu > api_cpu, (pool_cpu, api_cpu)
