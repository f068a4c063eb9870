"""Test helpers for the service: throw-away PostgreSQL databases and a real ``xihe serve`` on a free port."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests import postgres

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def basis_state_qasm(value: int, num_qubits: int) -> str:
    """A circuit whose only outcome is ``value`` written in c[0]-leftmost order (a check of correct routing)."""
    bits = format(value, f"0{num_qubits}b")
    gates = "".join(f"x q[{i}];\n" for i, bit in enumerate(bits) if bit == "1")
    return (f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{num_qubits}];\ncreg c[{num_qubits}];\n{gates}'
            "measure q -> c;\n")


def entangled_qasm(num_qubits: int) -> str:
    """A non-Clifford circuit no engine can take wide: T gates around CXs that pair each qubit with its mirror, so
    every cut near the middle carries up to ``num_qubits / 2`` entangling gates (no stabilizer, no small MPS)."""
    pairs = "".join(f"cx q[{i}],q[{num_qubits - 1 - i}];\n" for i in range(num_qubits // 2))
    return basis_state_qasm(0, num_qubits).replace("measure", f"h q;\nt q;\n{pairs}t q;\nmeasure")


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create ``xihe_test_<random>`` on the tests' PostgreSQL (``tests/postgres.py``: ``XIHE_TEST_DATABASE_URL``,
    else a private server started on first use); yield its SQLAlchemy URL; drop it after."""
    import psycopg

    admin_url = postgres.admin_url()
    name = f"xihe_test_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres.database_url(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def xihe_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from xihe.cli import main; main()", *args]


def run_xihe(*args: str, env: dict[str, str], input_text: str | None = None) -> str:
    done = subprocess.run(xihe_command(*args), env=env, capture_output=True, text=True, input=input_text,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"xihe {' '.join(args)} failed: {done.stderr}\n{done.stdout}")
    return done.stdout.strip()


@dataclass
class Server:
    """A live ``xihe serve`` subprocess in its own process group (so kill -9 reaches its workers too)."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    token: str | None = None
    password: str | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str, timeout: float = 90.0) -> Server:
        self.log_path = self.data_dir / f"serve-{self.port}-{int(time.time() * 1000)}.log"
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            xihe_command("serve", "--port", str(self.port), "--data-dir", str(self.data_dir), *extra),
            env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"xihe serve exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError(f"xihe serve did not come up: {self.log_path.read_text()}")
        text = self.log_path.read_text()
        token = re.search(r"token:\s+(\S+)", text)
        password = re.search(r"password:\s+(\S+)", text)
        if token:
            self.token = token.group(1)
        if password:
            self.password = password.group(1)
        return self

    def kill(self) -> None:
        """kill -9 the server and every process of its group (its workers)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)


def server_env(data_dir: Path, database_url: str | None = None, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env["XIHE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["XIHE_DATABASE_URL"] = database_url
    for key, value in settings.items():
        env[f"XIHE_{key.upper()}"] = value
    return env


@contextlib.contextmanager
def served(database: str, data_dir: Path, *, src: str | None = None, **settings: str) -> Iterator[Server]:
    """A live ``xihe serve`` on ``database`` ("sqlite": in ``data_dir``; "postgres": a fresh database, upgraded
    first) with the given ``XIHE_`` settings, stopped at the end; ``src``: another checkout's ``src`` folder put
    first on its ``PYTHONPATH`` (a benchmark's "before")."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_postgres_database()) if database == "postgres" else None
        env = server_env(data_dir, url, **settings)
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
        if url is not None:
            run_xihe("db", "upgrade", env=env)
        server = Server(data_dir, env).start()
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def live_server(data_dir: Path, database: str, *args: str, **settings: str) -> Iterator[tuple[Server, str]]:
    """A started ``xihe serve`` (``args``: its extra options) on a fresh ``database`` ("sqlite": the data folder's
    file; "postgresql": a throw-away database, migrated first), with its database URL; stopped after."""
    if database == "sqlite":
        server = Server(data_dir, server_env(data_dir, **settings)).start(*args)
        try:
            yield server, f"sqlite:///{data_dir / 'xihe.db'}"
        finally:
            server.stop()
        return
    with fresh_postgres_database() as url:
        env = server_env(data_dir, url, **settings)
        run_xihe("db", "upgrade", env=env)
        server = Server(data_dir, env).start(*args)
        try:
            yield server, url
        finally:
            server.stop()


def wait_all(client: httpx.Client, job_ids: list[str], timeout: float = 120.0) -> dict[str, dict]:
    """Long-poll every job until it is terminal; return id -> JobPublic."""
    deadline = time.monotonic() + timeout
    out: dict[str, dict] = {}
    for job_id in job_ids:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"job {job_id} not finished in time: {client.get(f'/jobs/{job_id}').json()}")
            body = client.get(f"/jobs/{job_id}", params={"wait": min(10.0, left)}).json()
            if body["status"] in ("DONE", "FAILED", "CANCELLED"):
                out[job_id] = body
                break
    return out


def slow_basis_state_qasm(value: int, num_qubits: int, layers: int) -> str:
    """Like :func:`basis_state_qasm`, with ``layers`` blocks that multiply to the identity (H, CX chain, its
    inverse, H), so the job takes measurable time and still has exactly one correct outcome."""
    chain = [f"cx q[{i}],q[{i + 1}];\n" for i in range(num_qubits - 1)]
    block = "h q;\n" + "".join(chain) + "".join(reversed(chain)) + "h q;\n"
    return basis_state_qasm(value, num_qubits).replace("measure", block * layers + "measure")


def job_rows(database_url: str, job_ids: list[str]) -> dict[str, dict]:
    """Storage facts about jobs, read straight from the database: status, attempts, stored result rows."""
    from sqlalchemy import func, select

    from xihe.service.db import Database
    from xihe.service.models import Job, JobAttempt, JobResult

    database = Database(database_url)
    try:
        with database.read() as session:
            jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
            results = dict(session.execute(select(JobResult.job_id, func.count()).where(JobResult.job_id.in_(job_ids))
                                           .group_by(JobResult.job_id)).all())
            attempts: dict[str, list[str | None]] = {}
            for row in session.scalars(select(JobAttempt).where(JobAttempt.job_id.in_(job_ids))
                                       .order_by(JobAttempt.number)):
                attempts.setdefault(row.job_id, []).append(row.outcome)
        return {job_id: {"status": job.status, "attempts": job.attempts, "results": results.get(job_id, 0),
                         "outcomes": attempts.get(job_id, [])} for job_id, job in jobs.items()}
    finally:
        database.dispose()


def child_pids(pid: int) -> list[int]:
    """Live (non-zombie) child processes of ``pid`` (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def worker_pids(server: Server) -> list[int]:
    """The server's worker processes: its children that run ``python -m xihe.service.worker`` (not the one-off
    kernel warmer beside them, which ends on its own)."""
    assert server.process is not None
    pids = []
    for pid in child_pids(server.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"xihe.service.worker" in command:
            pids.append(pid)
    return pids
