"""Hostile programs get a bounded answer from a live ``xihe serve`` (issue 18): no file read by an include, width
and expanded size refused while the program is read (the API's peak memory barely moves), and no parse inside the
database's write lock on the native, legacy Quafu and editor routes; a cancel accepted while a job runs is never
followed by its result."""

from __future__ import annotations

import fcntl
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.helpers import BELL, Server, run_xihe, server_env, slow_basis_state_qasm, wait_all
from xihe.devices.registry import SIM_ALIAS_SYSTEM_ID
from xihe.service.clock import utcnow
from xihe.service.db import Database
from xihe.service.repositories import jobs, queue, users
from xihe.service.states import JobStatus

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
MIB = 1 << 20
SIM_SYSTEM_ID = str(SIM_ALIAS_SYSTEM_ID)
# Six broadcasts over a 2^20-qubit register: ~900 MiB in the API before the fix.
WIDE_BOMB = H + "qreg q[1048576];\ncreg c[1];\n" + "h q;\n" * 6 + "measure q[0] -> c[0];\n"


def nested_bomb(levels: int = 39) -> str:
    """About a kilobyte of nested ``gate`` definitions whose last call expands to 2^(levels+1) gates."""
    lines = [H, "qreg q[1];\ncreg c[1];\ngate g0 a { x a; x a; }\n"]
    lines += [f"gate g{i} a {{ g{i - 1} a; g{i - 1} a; }}\n" for i in range(1, levels + 1)]
    lines.append(f"g{levels} q[0];\nmeasure q -> c;\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-hostile")
    # Plain-HTTP cookies so the test's httpx client can hold a web session on 127.0.0.1 (the editor route).
    env = server_env(data_dir, WORKERS="1", MAX_OPERATIONS_PER_CIRCUIT="100000", MAX_OPERATIONS_PER_JOB="200000",
                     COOKIE_SECURE="false", HEARTBEAT_SECONDS="0.2", LEASE_SECONDS="5")
    srv = Server(data_dir, env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def api_peak_rss(server: Server) -> int:
    """The API process's peak resident memory so far (VmHWM), in bytes."""
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match, status
    return int(match.group(1)) * 1024


def legacy_submit(server: Server, token: str, program: str) -> httpx.Response:
    return httpx.post(f"{server.url}/qbackend/scq_kit_asyc/", headers={"api_token": token}, timeout=120,
                      data={"qtasm": program, "selected_server": SIM_SYSTEM_ID, "shots": "10"})


def legacy_code(response: httpx.Response) -> int:
    return int(response.json()["status"])


class WriterLockHeld:
    """Holds the SQLite writer lock that every process of the server takes for ``database.write()``, so a request
    that parses inside a write transaction cannot answer until it is released."""

    def __init__(self, server: Server) -> None:
        self.path = server.data_dir / "xihe.db-writer.lock"
        assert self.path.exists(), "the server takes its write lock through this file"

    def __enter__(self) -> WriterLockHeld:
        self.fd = os.open(self.path, os.O_RDWR)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def answered_while_writer_lock_held(server: Server, send: Callable[[], httpx.Response]) -> httpx.Response | None:
    """The answer to ``send()`` if it comes while the write lock is held (a liveness check: without the lock the
    request answers at once), else ``None`` once it is clear the request waits for the lock."""
    answer: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answer.append(send()), daemon=True)
    # The token's last-use stamp is written at most once a minute: write it now, not while the lock is held.
    with server.client() as client:
        client.get("/backends/sim").raise_for_status()
    with WriterLockHeld(server):
        thread.start()
        thread.join(60)  # liveness only: the request either answers without the lock or waits for it
        held_answer = answer[0] if answer else None
    thread.join(120)
    return held_answer


# --- 1. includes -------------------------------------------------------------------------------------------------

def test_include_of_a_server_file_reads_nothing_and_leaks_nothing(client: httpx.Client, tmp_path: Path) -> None:
    secret = tmp_path / "secret.inc"
    secret.write_text("hunter2 x q;\n")
    details = []
    for path in ("/etc/passwd", "/proc/self/environ", str(secret), str(tmp_path / "absent.inc")):
        response = client.post("/jobs", json={"backend": "sim", "qasm": H + f'include "{path}";\nqreg q[1];\n'})
        assert response.status_code == 400, response.text
        # The name the user wrote is echoed (shortened); nothing of the file, nor of where the server looked.
        detail = re.sub(r"cannot include '[^']*'", "cannot include <name>", response.json()["detail"])
        assert "root" not in detail and "hunter2" not in detail
        assert "SHELL" not in detail and "PATH" not in detail
        details.append(detail)
    assert len(set(details)) == 1, details  # an existing file and a missing one look the same
    assert "/" not in details[0] and "qelib1.inc" in details[0]


# --- 2. width before work ----------------------------------------------------------------------------------------

def test_a_wide_register_bomb_is_refused_before_any_gate_is_built(server: Server, client: httpx.Client) -> None:
    wait_all(client, [client.post("/jobs", json={"backend": "sim", "qasm": BELL, "shots": 10}).json()["id"]])
    before = api_peak_rss(server)
    for _ in range(3):
        response = client.post("/jobs", json={"backend": "sim", "qasm": WIDE_BOMB, "shots": 10})
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "invalid_for_backend" and body["limit"] == "max_qubits"
        assert "1048576 qubits" in body["detail"] and "backend sim" in body["detail"]
    grown = api_peak_rss(server) - before
    assert grown < 40 * MIB, f"the API's peak RSS grew by {grown / MIB:.0f} MiB"


def test_the_users_max_qubits_is_applied_while_reading(server: Server) -> None:
    run_xihe("users", "add", "narrow", "--data-dir", str(server.data_dir), env=server.env)
    token = run_xihe("users", "token", "narrow", "--data-dir", str(server.data_dir), env=server.env).splitlines()[-1]
    run_xihe("users", "limits", "narrow", "--max-qubits", "3", "--data-dir", str(server.data_dir), env=server.env)
    with server.client(token) as c:
        response = c.post("/jobs", json={"backend": "sim", "qasm": H + "qreg q[4];\ncreg c[4];\nh q;\n"
                                         "measure q -> c;\n"})
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == "quota_qubits" and "your limit of 3" in body["detail"]
    # Refused at the declaration, while reading (line 3 is the qreg), not after the whole program was built.
    assert (body["limit"], body["allowed"], body["found"], body["line"]) == ("max_qubits", 3, 4, 3)


def test_legacy_route_refuses_the_wide_bomb_outside_the_write_lock(server: Server) -> None:
    assert server.token is not None
    token = server.token
    response = answered_while_writer_lock_held(server, lambda: legacy_submit(server, token, WIDE_BOMB))
    assert response is not None, "the legacy submit parsed inside database.write()"
    assert response.json()["status"] != 0 and "1048576 qubits" in response.json()["message"]


def test_legacy_route_reports_a_syntax_error_outside_the_write_lock(server: Server) -> None:
    assert server.token is not None
    token = server.token
    response = answered_while_writer_lock_held(server, lambda: legacy_submit(server, token, H + "qreg q[1];\nhh q;\n"))
    assert response is not None, "the legacy submit parsed inside database.write()"
    assert "undefined gate 'hh'" in response.json()["message"]


def _editor_client(server: Server) -> httpx.Client:
    assert server.password is not None
    web = httpx.Client(base_url=server.url, timeout=120)
    page = web.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    login = web.post("/login", data={"name": "demo", "password": server.password, "csrf_token": csrf.group(1),
                                     "next": "/editor"}, follow_redirects=False)
    assert login.status_code == 303, login.text
    return web


def test_editor_submit_refuses_a_bomb_outside_the_write_lock(server: Server) -> None:
    web = _editor_client(server)
    try:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/editor").text)
        assert csrf
        form = {"qasm": WIDE_BOMB, "backend": "sim", "shots": "10", "csrf_token": csrf.group(1)}
        response = answered_while_writer_lock_held(server, lambda: web.post("/editor/submit", data=form))
    finally:
        web.close()
    assert response is not None, "the editor submit parsed inside database.write()"
    assert response.status_code == 422 and "1048576 qubits" in response.text


# --- 3. expansion bound ------------------------------------------------------------------------------------------

def test_nested_definitions_expanding_to_2_to_the_40_are_a_4xx_naming_the_limit(client: httpx.Client) -> None:
    program = nested_bomb()
    assert len(program.encode()) < 1500
    response = client.post("/jobs", json={"backend": "sim", "qasm": program, "shots": 10})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "too_many_operations" and body["limit"] == "max_operations"
    assert body["allowed"] == 100_000 and body["found"] == 2**40
    assert "limit of 100000 operations per circuit (max_operations)" in body["detail"]


def test_the_same_bomb_is_refused_for_an_agent_served_chip_and_on_the_legacy_route(server: Server,
                                                                                    client: httpx.Client) -> None:
    # Every backend, the agent-served and exclusive ones included, reads through the same bounded parse, so
    # nothing of the bomb reaches a worker or the agent-side compile.
    for backend in ("line10", "grid36"):
        response = client.post("/jobs", json={"backend": backend, "qasm": nested_bomb(), "shots": 10})
        assert response.status_code == 422 and response.json()["limit"] == "max_operations", response.text
    assert server.token is not None
    answer = legacy_submit(server, server.token, nested_bomb()).json()
    assert answer["status"] != 0 and "max_operations" in answer["message"]


def test_a_batch_shares_one_operation_budget(client: httpx.Client) -> None:
    # Each circuit fits the per-circuit limit (100,000 here); three together do not fit the job's (200,000).
    body = H + "qreg q[10];\ncreg c[10];\n" + "h q;\n" * 9_000 + "measure q -> c;\n"
    response = client.post("/jobs", json={"backend": "sim", "circuits": [body] * 3, "shots": 10})
    assert response.status_code == 422, response.text
    assert response.json()["limit"] == "max_operations" and response.json()["detail"].startswith("circuit 2: ")


# --- 4. cancel that cancels --------------------------------------------------------------------------------------

def test_a_result_is_never_stored_after_a_cancel_was_accepted(database: Database) -> None:
    with database.write() as session:
        user_id = users.create_user(session, "canceller").id
        job_id = jobs.insert_job(session, user_id=user_id, backend="sim", kind="single", name=None, tags=[],
                                 shots=10, priority=0, effective_priority=0, num_circuits=1, num_qubits=2,
                                 memory_estimate=0, payload={"circuits": [BELL]}, max_attempts=3,
                                 wall_seconds=60.0, created_at=utcnow()).id
    with database.write() as session:
        claimed = queue.claim_next_job(session, worker_id="w1", host="h", backends=None, exclusive=(),
                                       memory_budget=2**40, lease_seconds=30.0, now=utcnow())
        assert claimed is not None and claimed.id == job_id
    with database.write() as session:
        job = jobs.get_job(session, job_id)
        assert job is not None
        jobs.request_cancel(session, job)  # answered "RUNNING, cancel requested"
    # The worker never saw the cancel (between two heartbeats) and finishes with its counts.
    with database.write() as session:
        stored = queue.finish_attempt(session, job_id, queue.Ending.done([{"counts": {"00": 10}}], 0.5),
                                      now=utcnow(), holder="w1")
    assert not stored
    with database.read() as session:
        job = jobs.get_job(session, job_id)
        assert job is not None and job.status == JobStatus.CANCELLED.value
        assert jobs.results_for(session, job_id) == []


def test_cancel_stops_a_job_stuck_in_one_long_run(client: httpx.Client) -> None:
    # One verbatim 22-qubit circuit of ~90,000 gates: a single work item the executor cannot interrupt, which
    # runs far past any wait below (its wall limit is 600 s). Without the worker ending itself on a cancel it
    # stays RUNNING until it completes.
    program = slow_basis_state_qasm(0, 22, 1000)
    job = client.post("/jobs", json={"backend": "sim", "qasm": program, "shots": 10, "compile": False}).json()
    assert job["status"] == "QUEUED", job
    while client.get(f"/jobs/{job['id']}").json()["status"] == "QUEUED":
        pass
    cancel = client.post(f"/jobs/{job['id']}/cancel")
    assert cancel.status_code == 200 and cancel.json()["status"] in ("RUNNING", "CANCELLED"), cancel.text
    body = client.get(f"/jobs/{job['id']}", params={"wait": 60}).json()  # a long poll, not a time limit
    assert body["status"] == "CANCELLED" and body["result"] is None, body
    # The service still runs jobs (the supervisor started a fresh worker).
    done = wait_all(client, [client.post("/jobs", json={"backend": "sim", "qasm": BELL, "shots": 10}).json()["id"]])
    assert next(iter(done.values()))["status"] == "DONE"
