"""A stopped ``xihe serve`` leaves no wake-up sockets under the temp folder.

Each worker binds a Unix datagram socket in ``/tmp/xihe-wake-<digest>`` (see :mod:`xihe.service.wakeup`). The
supervisor stopped its workers with SIGTERM, whose default action skipped the worker's ``finally`` that removes the
socket, so every stopped server left ``/tmp/xihe-wake-*`` folders behind (79 on a developer's machine).
"""

from __future__ import annotations

from pathlib import Path

from tests.service.helpers import Server, server_env, wait_all
from xihe.service.wakeup import socket_folder


def test_a_stopped_server_leaves_no_wake_sockets(tmp_path: Path) -> None:
    server = Server(tmp_path, server_env(tmp_path, WORKERS="2")).start(timeout=180)
    try:
        folder = socket_folder(str(tmp_path / "xihe.db"))
        with server.client() as client:  # a job done: the workers are up and waiting on their sockets
            job = client.post("/jobs", json={"backend": "sim", "shots": 10, "qasm": (
                'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q -> c;\n')})
            assert job.status_code == 201, job.text
            assert wait_all(client, [job.json()["id"]])[job.json()["id"]]["status"] == "DONE"
        assert list(folder.glob("xihe_jobs-*.sock"))  # at least the worker that ran the job waits on one
    finally:
        server.stop()
    assert not folder.exists(), sorted(p.name for p in folder.iterdir())
