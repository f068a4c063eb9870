"""Instructions a request in the API process, checkouts side by side: the service-load figure a loaded machine
does not move (issue 13).

The API's CPU per job under ``benchmarks/service_load.py`` moved between 0.83x and 1.15x the first build's from one
run to the next with the same code (load, the machine's state, which thread wins the GIL); the instructions a
request executes do not. For each checkout's ``src`` (first on ``PYTHONPATH``) this runs a child under
``valgrind --tool=callgrind`` with collection off, builds the whole app (``xihe.app.create_app``, SQLite, its
lifespan started) and drives it in-process through ASGI, no client and no server: a few requests of each kind to
warm up, then ``--requests`` of each kind with collection switched on around them (a client request from a small C
library built here with ``gcc`` against ``valgrind/callgrind.h``; every thread counts, the pool threads' too):

- ``POST /api/v1/jobs``: the 5-qubit, 1,000-shot job of ``service_load.py``;
- ``GET /api/v1/jobs/{id}?wait=30`` of those jobs once done (a real ``Worker``, run natively in a child process
  between the two sections, finishes them);
- ``GET /api/v1/health``.

    .venv/bin/python benchmarks/api_instructions.py --src /tmp/wt-first/src --src src [--requests 50]

Needs ``valgrind`` and ``gcc``. About a minute a checkout on a quiet machine (the app runs ~50x slower under
valgrind). With ``--profile DIR`` each section is also run once more without valgrind under ``cProfile``, and the
Python calls a request are printed (the profiles are left in DIR for ``pstats``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_load import CIRCUIT, SHOTS

SECTIONS = ("post", "get", "health")
TOGGLE_C = r"""
#include <valgrind/callgrind.h>
void start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void stop(const char *name) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT(name); }
"""
DRAIN = r"""
import sys
from pathlib import Path
from xihe.service.db import Database
from xihe.service.settings import Settings
from xihe.service.worker import Worker

settings = Settings(data_dir=Path(sys.argv[1]))
worker = Worker(settings, Database(settings.resolved_database_url()))
while worker.run_once():
    pass
worker.close()
"""


class App:
    """The whole ASGI app of one checkout, its lifespan started, called without a client."""

    def __init__(self, folder: Path) -> None:
        from xihe.app import create_app
        from xihe.service.db import Database
        from xihe.service.migrate import upgrade
        from xihe.service.repositories import users
        from xihe.service.settings import Settings

        self.folder = folder
        settings = Settings(data_dir=folder, rate_limit_per_second=1e6, rate_limit_burst=10**6)
        database = Database(settings.resolved_database_url())
        upgrade(database)
        with database.write() as session:
            token = users.create_token(session, users.create_user(session, "bench")).secret
        self.app = create_app(settings, database=database)
        self.auth = f"Bearer {token}".encode()
        self.state: dict[str, Any] = {}
        self._lifespan: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._task: asyncio.Future[None] | None = None

    async def start(self) -> None:
        started = asyncio.Event()

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()
            elif message["type"].endswith("failed"):
                raise SystemExit(message.get("message"))

        await self._lifespan.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._task = asyncio.ensure_future(self.app(scope, self._lifespan.get, send))
        await started.wait()

    async def stop(self) -> None:
        await self._lifespan.put({"type": "lifespan.shutdown"})
        assert self._task is not None
        await self._task

    async def call(self, method: str, path: str, query: bytes = b"", body: bytes = b"") -> tuple[int, bytes]:
        """One request as uvicorn hands it over (httpx's headers), the answer's status and body."""
        headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", self.auth), (b"accept", b"*/*"),
                   (b"accept-encoding", b"gzip, deflate"), (b"connection", b"keep-alive"),
                   (b"user-agent", b"python-httpx/0.28.1")]
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000), "state": dict(self.state)}
        given = False
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)  # never disconnects
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    def drain(self) -> None:
        """Finish every queued job with a real worker, in a child process outside valgrind."""
        subprocess.run([sys.executable, "-c", DRAIN, str(self.folder)], check=True)


async def child(requests: int, measure: Callable[[str, Callable[[], Awaitable[None]]], Awaitable[None]]) -> None:
    app = App(Path(tempfile.mkdtemp()))
    await app.start()
    body = json.dumps({"qasm": CIRCUIT, "backend": "sim", "shots": SHOTS, "seed": 1}).encode()

    async def submit(count: int) -> list[str]:
        answers = [await app.call("POST", "/api/v1/jobs", body=body) for _ in range(count)]
        assert all(status == 201 for status, _ in answers), answers[:1]
        return [json.loads(answer)["id"] for _, answer in answers]

    async def read(ids: list[str]) -> None:
        for job_id in ids:
            status, answer = await app.call("GET", f"/api/v1/jobs/{job_id}", b"wait=30")
            assert status == 200 and b'"DONE"' in answer, answer[:200]

    async def health(count: int) -> None:
        for _ in range(count):
            assert (await app.call("GET", "/api/v1/health"))[0] == 200

    warm = await submit(5)
    app.drain()
    await read(warm)
    await health(5)
    ids: list[str] = []

    async def posts() -> None:
        ids.extend(await submit(requests))

    await measure("post", posts)
    app.drain()
    await measure("get", lambda: read(ids))
    await measure("health", lambda: health(requests))
    await app.stop()


def run_child(requests: int, toggle: str | None, profile: str | None) -> None:
    """In the valgrind child (``toggle``: the C library) or the profiling child (``profile``: a file prefix)."""
    library = ctypes.CDLL(toggle) if toggle else None

    async def measure(name: str, section: Callable[[], Awaitable[None]]) -> None:
        profiler = cProfile.Profile() if profile else None
        if library is not None:
            library.start()
        if profiler is not None:
            profiler.enable()
        await section()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{profile}.{name}")
        if library is not None:
            library.stop(name.encode())

    asyncio.run(child(requests, measure))


def instructions(src: str, requests: int, library: Path, scratch: Path) -> dict[str, float]:
    """Instructions a request of each section for one checkout's ``src``."""
    out = scratch / f"cg.{abs(hash(src))}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env["PYTHONPATH"] = src
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                    sys.executable, __file__, "--child", "--requests", str(requests), "--toggle", str(library)],
                   env=env, check=True, capture_output=True, cwd=scratch)
    figures: dict[str, float] = {}
    for dump in scratch.glob(f"{out.name}.*"):
        text = dump.read_text()
        name = re.search(r"^desc: Trigger: Client Request: (\w+)", text, re.M)
        total = re.search(r"^totals: (\d+)", text, re.M)
        if name and total:
            figures[name.group(1)] = int(total.group(1)) / requests
    return figures


def python_calls(src: str, requests: int, folder: Path) -> dict[str, float]:
    """Python calls a request of each section (cProfile, the event loop's thread), profiles left in ``folder``."""
    import pstats

    prefix = folder / f"profile.{Path(src).resolve().parent.name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env["PYTHONPATH"] = src
    subprocess.run([sys.executable, __file__, "--child", "--requests", str(requests), "--profile-prefix",
                    str(prefix)], env=env, check=True, capture_output=True)
    return {name: pstats.Stats(f"{prefix}.{name}").total_calls / requests for name in SECTIONS}  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", help="a checkout's src folder (repeat; default: this one)")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--profile", help="also count Python calls a request; profiles are written here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--toggle", help=argparse.SUPPRESS)
    parser.add_argument("--profile-prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.requests, args.toggle, args.profile_prefix)
        return
    sources = args.src or [str(Path(__file__).resolve().parents[1] / "src")]
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        (scratch / "toggle.c").write_text(TOGGLE_C)
        library = scratch / "libtoggle.so"
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(library), str(scratch / "toggle.c")], check=True)
        print(f"instructions a request (callgrind, {args.requests} requests each, in-process ASGI, SQLite)")
        print("| checkout | " + " | ".join(SECTIONS) + " |\n|---|" + "---|" * len(SECTIONS))
        for src in sources:
            figures = instructions(src, args.requests, library, scratch)
            print(f"| {src} | " + " | ".join(f"{figures[name] / 1e6:.3f} M" for name in SECTIONS) + " |", flush=True)
    if args.profile:
        folder = Path(args.profile)
        folder.mkdir(parents=True, exist_ok=True)
        print("\nPython calls a request (cProfile, the event loop's thread)")
        for src in sources:
            calls = python_calls(src, args.requests, folder)
            print(f"| {src} | " + " | ".join(f"{calls[name]:.0f}" for name in SECTIONS) + " |")


if __name__ == "__main__":
    main()
