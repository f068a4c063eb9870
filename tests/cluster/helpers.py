"""Circuits and a SQLite-backed worker setup shared by the cluster tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xihe.service.catalog import DeviceCatalog
from xihe.service.db import Database
from xihe.service.migrate import upgrade
from xihe.service.repositories import jobs, users
from xihe.service.schemas import JobCreate
from xihe.service.settings import Settings
from xihe.service.submit import submit_job


def wide_qasm(num_qubits: int = 13) -> str:
    """A circuit touching more qubits than the density-matrix engine takes: a twin runs it on trajectories."""
    gates = "".join(f"h q[{i}];\n" for i in range(num_qubits))
    return (f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{num_qubits}];\ncreg c[{num_qubits}];\n{gates}'
            "cx q[0],q[1];\nmeasure q -> c;\n")


SWEEP_QASM = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nrx(theta) q[0];\ncx q[0],q[1];\n'
              "measure q -> c;\n")


def sweep_bindings(count: int) -> list[dict[str, float]]:
    return [{"theta": 3.14159 * i / count} for i in range(count)]


class LocalQueue:
    """A migrated SQLite database with one user, for driving :class:`xihe.service.worker.Worker` in-process."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        self.settings = Settings(data_dir=data_dir, memory_budget_bytes=2**32, **settings)
        self.database = Database(self.settings.resolved_database_url())
        upgrade(self.database)
        self.catalog = DeviceCatalog()
        with self.database.write() as session:
            self.user = users.create_user(session, "alice")

    def submit(self, **body: Any) -> tuple[str, dict[str, Any], int]:
        """Submit a job; return its id, stored payload and shots."""
        with self.database.write() as session:
            job = submit_job(session, self.settings, self.catalog, self.user, JobCreate(**body)).job
            return str(job.id), dict(job.payload), int(job.shots)

    def results(self, job_id: str) -> list[dict[str, Any]]:
        with self.database.read() as session:
            return [dict(r) for r in jobs.results_for(session, job_id)]

    def status(self, job_id: str) -> str:
        with self.database.read() as session:
            job = jobs.get_job(session, job_id)
            assert job is not None
            return str(job.status)
