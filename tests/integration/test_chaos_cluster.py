"""Chaos on a cluster, seeded (issue 18, "faults as tests"): a private PostgreSQL, two API replicas (``xihe serve
--no-workers``), two ``xihe worker`` processes and one ``xihe agent`` serving ``line10``. A mixed load (native
single circuits, batches and sweeps through the SDK on both replicas, legacy Quafu-protocol submits, cancels) runs
while, at seeded moments, workers, replicas and the agent are killed with kill -9 (and started again), a worker
and the agent are each frozen with SIGSTOP while they hold a lease, for longer than the lease, and then let go
(what they report late must be refused by the guarded update), and PostgreSQL itself is restarted. The SDK retries
through the outages (connection errors, 503).

Afterwards, read straight from the database: every accepted submit (a 2xx with an id) ended DONE with its one
stored result per circuit and one DONE attempt, FAILED with its reason, or CANCELLED with nothing stored (every
cancel the API accepted ended CANCELLED); no logical submit made two jobs; nothing is left queued or running.

The machine's shared PostgreSQL is never touched: the test starts and restarts its own (``tests/postgres.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import select

from tests import postgres
from tests.integration.test_cluster_agent import device_token, kill9, start_agent
from tests.integration.test_cluster_postgres import kill_group, running_owners
from tests.service.helpers import (
    Server,
    basis_state_qasm,
    job_rows,
    run_xihe,
    server_env,
    slow_basis_state_qasm,
    wait_all,
    xihe_command,
)
from xihe.client import APIError, Client, RetryPolicy, TransportError
from xihe.service.db import Database
from xihe.service.models import Job

pytestmark = pytest.mark.postgres

SEED = 18
LEASE_SECONDS = 3.0
# How long a result sent just before a SIGSTOP may take to land (a commit, or the agent's POST through a replica).
IN_FLIGHT_SECONDS = 1.5
# Patient clients: about a minute of retries, longer than any outage the test makes (a replica's restart, the
# database's).
RETRY = RetryPolicy(max_attempts=40, backoff=0.2, max_backoff=2.0)
FAULTS = {"kill_worker": 2, "kill_replica": 2, "kill_agent": 1, "stop_worker": 1, "stop_agent": 1,
          "restart_postgres": 1}
NUM_CANCELS = 5
GHZ = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[1];\ncx q[1],q[2];\n'
       "measure q -> c;\n")
BELL = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n'
        "measure q -> c;\n")
SWEEP = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nrx(theta) q[0];\ncx q[0],q[1];\n'
         "measure q -> c;\n")


@dataclass
class Submit:
    """One logical submit: what it asks for, and what any correct run of it gives (an oracle of its own)."""

    name: str
    protocol: str  # "native" (the SDK) or "quafu" (the legacy form protocol)
    circuits: list[str]
    backend: str
    shots: int
    seed: int
    parameters: list[dict[str, float]] | None = None
    exact: list[str] | None = None  # the only outcome of each circuit, where there is one
    support: set[str] | None = None  # the outcomes any circuit may give, where that is all one can say

    @property
    def num_results(self) -> int:
        return len(self.parameters) if self.parameters else len(self.circuits)

    def check(self, results: list[dict[str, Any]]) -> None:
        assert len(results) == self.num_results, (self.name, results)
        for index, result in enumerate(results):
            counts = result["counts"]
            assert sum(counts.values()) == self.shots, (self.name, counts)
            if self.exact is not None:
                assert counts == {self.exact[index]: self.shots}, (self.name, counts)
            if self.support is not None:
                assert set(counts) <= self.support, (self.name, counts)


def mixed_load(rng: random.Random) -> list[Submit]:
    """Seeded: quick and slow single circuits (the slow ones are what a frozen or killed worker holds), batches,
    sweeps, Clifford GHZ, GHZ on the agent's ``line10``, and a few legacy Quafu-protocol Bell states."""
    load: list[Submit] = []
    for i in range(8):
        value = rng.randrange(64)
        load.append(Submit(f"quick-{i}", "native", [basis_state_qasm(value, 6)], "sim", 64, i,
                           exact=[format(value, "06b")]))
    for i in range(6):
        value = rng.randrange(2**12)
        load.append(Submit(f"slow-{i}", "native", [slow_basis_state_qasm(value, 12, 60)], "sim", 32, 50 + i,
                           exact=[format(value, "012b")]))
    for i in range(3):
        values = [rng.randrange(16) for _ in range(4)]
        load.append(Submit(f"batch-{i}", "native", [basis_state_qasm(v, 4) for v in values], "sim", 16, 100 + i,
                           exact=[format(v, "04b") for v in values]))
    for i in range(3):
        load.append(Submit(f"sweep-{i}", "native", [SWEEP], "sim", 100, 200 + i,
                           parameters=[{"theta": 0.4 * k} for k in range(5)], support={"00", "11"}))
    for i in range(2):
        load.append(Submit(f"clifford-{i}", "native", [GHZ], "sim-clifford", 300, 300 + i, support={"000", "111"}))
    for i in range(4):
        load.append(Submit(f"agent-{i}", "native", [GHZ], "line10", 200, 400 + i))
    for i in range(2):  # long enough to be caught running on the agent
        load.append(Submit(f"agent-sweep-{i}", "native", [SWEEP], "line10", 500, 450 + i,
                           parameters=[{"theta": 0.05 * k} for k in range(60)]))
    for i in range(3):
        load.append(Submit(f"quafu-{i}", "quafu", [BELL], "sim", 100, 500 + i, support={"00", "11"}))
    rng.shuffle(load)
    return load


@dataclass
class Cluster:
    """The processes under test and how to kill and restart each."""

    folder: Path
    env: dict[str, str]
    token: str
    pg: postgres.PrivateServer
    database_url: str
    replicas: list[Server] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    agent: subprocess.Popen[bytes] | None = None
    agent_token: str = ""

    def start(self) -> Cluster:
        for i in range(2):
            (self.folder / f"api{i}").mkdir()
            self.replicas.append(Server(self.folder / f"api{i}", self.env, token=self.token).start("--no-workers"))
        self.workers = [self.start_worker(i) for i in range(2)]
        self.agent_token = device_token(self.replicas[0])
        self.start_agent()
        return self

    def start_worker(self, index: int) -> subprocess.Popen[bytes]:
        # line10 is the agent's: the workers serve the simulators only.
        log = self.folder / f"worker{index}.log"
        return subprocess.Popen(xihe_command("worker", "--processes", "1", "--backends", "sim,sim-clifford"),
                                env=self.env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def start_agent(self) -> None:
        self.agent = start_agent(self.replicas[0], self.agent_token, self.folder / "agent.log", "--timeout", "2",
                                 "--max-backoff", "0.5")

    def worker_pids(self) -> set[int]:
        """The worker processes proper (the children of the ``xihe worker`` supervisors): lease holders."""
        pids: set[int] = set()
        for supervisor in self.workers:
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    with contextlib.suppress(OSError, IndexError):
                        if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == supervisor.pid:
                            pids.add(int(entry.name))
        return pids

    def sessions(self) -> list[tuple[Any, ...]]:
        """What the database's sessions are doing (for a failure's message)."""
        with psycopg.connect(self.pg.admin_url, autocommit=True) as conn:
            return conn.execute("SELECT pid, state, wait_event_type, wait_event, now() - xact_start, left(query, 90)"
                                " FROM pg_stat_activity WHERE datname = 'chaos'").fetchall()

    def stop(self) -> None:
        if self.agent is not None:
            kill9(self.agent)
        for worker in self.workers:
            kill_group(worker)
        for replica in self.replicas:
            replica.stop()


@dataclass
class Chaos:
    """The fault injector: each fault by name, and how many of each landed."""

    cluster: Cluster
    rng: random.Random
    feed: Callable[[str], None]  # submit one more long job for "worker" or "agent" (when nothing runs there)
    injected: Counter[str] = field(default_factory=Counter)
    frozen_jobs: list[str] = field(default_factory=list)

    def kill_worker(self) -> None:
        index = self.rng.randrange(len(self.cluster.workers))
        kill_group(self.cluster.workers[index])
        self.injected["kill_worker"] += 1
        self.cluster.workers[index] = self.cluster.start_worker(index)

    def kill_replica(self) -> None:
        replica = self.cluster.replicas[self.rng.randrange(len(self.cluster.replicas))]
        replica.kill()
        self.injected["kill_replica"] += 1
        time.sleep(self.rng.uniform(0.2, 1.0))  # connections refused meanwhile: the clients retry
        replica.start("--no-workers")

    def kill_agent(self) -> None:
        assert self.cluster.agent is not None
        kill9(self.cluster.agent)
        self.injected["kill_agent"] += 1
        time.sleep(self.rng.uniform(0.2, 1.0))
        self.cluster.start_agent()

    def stop_worker(self) -> None:
        self._stop_lease_holder("stop_worker", "worker", self.cluster.worker_pids)

    def stop_agent(self) -> None:
        self._stop_lease_holder("stop_agent", "agent",
                                lambda: {self.cluster.agent.pid} if self.cluster.agent else set())

    def _stop_lease_holder(self, kind: str, where: str, holders: Callable[[], set[int]]) -> None:
        """SIGSTOP a process (one of ``holders``) while it holds a running job's lease, until the job was taken from
        it (the reaper requeued it, another holder may have claimed it): longer than the lease. Then SIGCONT:
        whatever it goes on to report for that attempt must be refused by the guarded update."""
        deadline = time.monotonic() + 90
        fed_at = time.monotonic()
        while True:
            if time.monotonic() > deadline:
                return  # nothing ran there: no fault (the count says so)
            pids = holders()
            held = {job: owner for job, owner in running_owners(self.cluster.database_url).items()
                    if _owner_pid(owner) in pids}
            if not held:
                if time.monotonic() - fed_at > 5:  # the load has moved on: give the holder a long job to hold
                    self.feed(where)
                    fed_at = time.monotonic()
                time.sleep(0.05)
                continue
            job_id, owner = sorted(held.items())[0]
            pid = _owner_pid(owner)
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            # A result already on its way when the signal came (a COMMIT in PostgreSQL's socket, the agent's POST in
            # a replica) still lands: that attempt was not frozen. Give it time to land, then look again.
            time.sleep(IN_FLIGHT_SECONDS)
            if _job_status(self.cluster.database_url, job_id) in ("RUNNING", "QUEUED"):
                break  # frozen while it held the lease (the reaper may already have taken it back)
            os.kill(pid, signal.SIGCONT)  # the job ended just before: try another
        self.injected[kind] += 1
        self.frozen_jobs.append(job_id)
        try:
            stopped_at = time.monotonic()
            while running_owners(self.cluster.database_url).get(job_id) == owner:
                assert time.monotonic() - stopped_at < 120, (
                    f"the lease of the frozen {owner} was never reaped: {self.cluster.sessions()}")
                time.sleep(0.1)
            time.sleep(max(0.0, LEASE_SECONDS - (time.monotonic() - stopped_at)) + 0.5)
        finally:
            os.kill(pid, signal.SIGCONT)

    def restart_postgres(self) -> None:
        """Restart PostgreSQL; a submit made while it is down must get through once it is back (the SDK retries
        the 503s and refused connections of the outage, its Idempotency-Key keeps the retries one job)."""
        during = threading.Thread(target=self.feed, args=("worker",), name="submit-during-outage")
        self.cluster.pg.restart(down_seconds=self.rng.uniform(1.0, 3.0), while_down=during.start)
        self.injected["restart_postgres"] += 1
        during.join(timeout=120)


def _job_status(database_url: str, job_id: str) -> str | None:
    database = Database(database_url)
    try:
        with database.read() as session:
            return session.execute(select(Job.status).where(Job.id == job_id)).scalar_one_or_none()
    finally:
        database.dispose()


def _owner_pid(owner: str) -> int | None:
    with contextlib.suppress(ValueError, IndexError):
        return int(owner.rsplit("-", 2)[1])
    return None


@contextlib.contextmanager
def private_postgres() -> Iterator[tuple[postgres.PrivateServer, str]]:
    """A PostgreSQL of this test's own (it is restarted mid-run) and the URL of a fresh database on it."""
    server = postgres.PrivateServer.start()
    try:
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "chaos"')
        yield server, postgres.database_url(server.admin_url, "chaos")
    finally:
        server.stop()


def submit_native(client: Client, submit: Submit) -> str:
    circuits: str | list[str] = submit.circuits[0] if len(submit.circuits) == 1 else submit.circuits
    job = client.run(circuits, submit.backend, shots=submit.shots, seed=submit.seed, name=submit.name,
                     parameters=submit.parameters)
    return job.id


def submit_quafu(replica: Server, token: str, submit: Submit, system_id: int) -> tuple[str | None, str]:
    """The legacy protocol has no idempotency key: one try; an error answer is a submit not accepted."""
    form = {"qtasm": submit.circuits[0], "shots": str(submit.shots), "qubits": "2", "scan": "0", "tomo": "0",
            "selected_server": str(system_id), "compile": "1", "priority": "2", "task_name": submit.name,
            "pyquafu_version": "0.4.5", "runtime_job_id": ""}
    try:
        answer = httpx.post(f"{replica.url}/qbackend/scq_kit_asyc/", data=form, headers={"api_token": token},
                            timeout=30).json()
    except (httpx.HTTPError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if answer.get("status") in (0, 1, 2) and answer.get("task_id"):
        return str(answer["task_id"]), ""
    return None, f"legacy answer {answer.get('status')}: {answer.get('message')}"


def all_jobs(database_url: str) -> list[tuple[str, str | None, str]]:
    database = Database(database_url)
    try:
        with database.read() as session:
            return [(str(i), n, str(s)) for i, n, s in session.execute(select(Job.id, Job.name, Job.status)).all()]
    finally:
        database.dispose()


def test_kill_9_sigstop_and_a_database_restart_under_load_end_every_job_exactly_once(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    load = mixed_load(rng)
    with private_postgres() as (pg, database_url):
        # A session idle inside a transaction for 5 s (a frozen holder's) is ended by the server: its locks go.
        env = server_env(tmp_path, database_url, lease_seconds=str(LEASE_SECONDS), heartbeat_seconds="0.5",
                         idle_transaction_seconds="5")
        run_xihe("db", "upgrade", env=env)
        token = run_xihe("users", "add", "ops", "--admin", env=env).splitlines()[-1]
        cluster = Cluster(tmp_path, env, token, pg, database_url).start()
        accepted: dict[str, Submit] = {}  # job id -> its submit
        refused: dict[str, str] = {}  # submit name -> why it was not accepted
        lock = threading.Lock()
        try:
            with cluster.replicas[0].client(token) as probe:
                system_id = next(b["system_id"] for b in httpx.post(
                    f"{cluster.replicas[0].url}/qbackend/get_backends/", headers={"api_token": token},
                    timeout=30).json()["data"] if b["system_name"] == "sim")
                assert probe.get("/health").status_code == 200
            clients = [Client(replica.url, token, retry=RETRY, timeout=30.0) for replica in cluster.replicas]

            def record(submit: Submit, job_id: str | None, reason: str) -> None:
                with lock:
                    if job_id is None:
                        refused[submit.name] = reason
                    else:
                        accepted[job_id] = submit

            baits = itertools.count()

            def feed(where: str) -> None:
                """One more long job for a frozen-holder fault: part of the load, checked like the rest."""
                count = next(baits)
                bait = (Submit(f"bait-{count}", "native", [slow_basis_state_qasm(count, 12, 60)], "sim", 32,
                               600 + count, exact=[format(count, "012b")]) if where == "worker" else
                        Submit(f"bait-{count}", "native", [SWEEP], "line10", 500, 600 + count,
                               parameters=[{"theta": 0.05 * k} for k in range(60)]))
                try:
                    record(bait, submit_native(clients[count % 2], bait), "")
                except (APIError, TransportError) as exc:
                    record(bait, None, f"{type(exc).__name__}: {exc}")

            chaos = Chaos(cluster, random.Random(SEED + 1), feed)

            def submit_all() -> None:
                pace = random.Random(SEED + 2)
                for index, submit in enumerate(load):
                    time.sleep(pace.uniform(0.05, 0.4))
                    job_id: str | None = None
                    reason = ""
                    if submit.protocol == "quafu":
                        job_id, reason = submit_quafu(cluster.replicas[index % 2], token, submit, system_id)
                    else:
                        try:
                            job_id = submit_native(clients[index % 2], submit)
                        except (APIError, TransportError) as exc:
                            reason = f"{type(exc).__name__}: {exc}"
                    record(submit, job_id, reason)

            submitter = threading.Thread(target=submit_all, name="chaos-load")
            submitter.start()

            # The faults and the cancels, in a seeded order at seeded moments, while the load is submitted.
            actions = [name for name, count in FAULTS.items() for _ in range(count)] + ["cancel"] * NUM_CANCELS
            chaos.rng.shuffle(actions)
            cancelled_ok: set[str] = set()
            faults: dict[str, Callable[[], None]] = {
                "kill_worker": chaos.kill_worker, "kill_replica": chaos.kill_replica, "kill_agent": chaos.kill_agent,
                "stop_worker": chaos.stop_worker, "stop_agent": chaos.stop_agent,
                "restart_postgres": chaos.restart_postgres}
            time.sleep(2.0)  # a few jobs queued and running first
            for action in actions:
                time.sleep(chaos.rng.uniform(0.2, 1.5))
                if action != "cancel":
                    faults[action]()
                    continue
                with lock:
                    candidates = sorted(set(accepted) - cancelled_ok)
                if candidates:
                    job_id = chaos.rng.choice(candidates)
                    with contextlib.suppress(APIError, TransportError):
                        state = clients[0].job(job_id).cancel()
                        if state.status in ("CANCELLED", "RUNNING"):
                            cancelled_ok.add(job_id)  # accepted: it must end CANCELLED
            submitter.join(timeout=300)
            assert not submitter.is_alive()
            for client in clients:
                client.close()
            with cluster.replicas[1].client(token) as reader:
                final = wait_all(reader, sorted(accepted), timeout=300)
        finally:
            cluster.stop()

        rows = job_rows(database_url, sorted(accepted))
        stored = all_jobs(database_url)
    # The SDK retries through every outage (connection errors, 503): no native submit is lost to a fault. (The
    # legacy protocol has no idempotency key, so its client does not retry: a refusal there is an honest answer.)
    native_refused = {name: why for name, why in refused.items() if not name.startswith("quafu-")}
    assert not native_refused, native_refused
    by_name = Counter(name for _, name, _ in stored)
    assert not [n for n, count in by_name.items() if count > 1], f"duplicated jobs: {by_name}"
    assert {status for _, _, status in stored} <= {"DONE", "FAILED", "CANCELLED"}, stored  # nothing left hanging
    assert set(rows) == set(accepted)  # none lost
    for job_id, submit in accepted.items():
        job, row = final[job_id], rows[job_id]
        assert row["status"] == job["status"], (job, row)
        if job_id in cancelled_ok:
            assert job["status"] == "CANCELLED", (submit.name, job, row)
        if job["status"] == "DONE":
            results = [job["result"]] if job["kind"] == "single" else job["results"]
            submit.check(results)
            assert row["results"] == submit.num_results and row["outcomes"].count("DONE") == 1, (submit.name, row)
        elif job["status"] == "CANCELLED":
            assert row["results"] == 0, (submit.name, row)
        else:
            assert job["error"]["detail"], (submit.name, job)
            assert row["results"] == 0, (submit.name, row)
    for job_id in chaos.frozen_jobs:  # the frozen worker's attempt was taken from it; its result never stored
        assert rows[job_id]["attempts"] >= 2 or rows[job_id]["status"] == "CANCELLED", rows[job_id]
    statuses = Counter(job["status"] for job in final.values())
    assert chaos.injected == Counter(FAULTS), chaos.injected  # every fault landed
    print(f"chaos cluster: {len(accepted) + len(refused)} submits, {len(accepted)} accepted, "
          f"{len(refused)} refused {refused}; "
          f"faults {dict(chaos.injected)}; {len(cancelled_ok)} cancels accepted; {dict(statuses)}; "
          f"frozen holders' jobs: {[rows[j]['outcomes'] for j in chaos.frozen_jobs]}; lost 0, duplicated 0")
