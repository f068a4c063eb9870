"""``dynamical_decoupling`` from every client (issue 15): ``client.run(...)`` (sync and async, one definition in
``xihe.client.calls``), ``xihe run --dd`` and ``XiheBackend.run(qc, dynamical_decoupling=...)``.

Each path is checked twice against a live server: the option is in the job's stored payload (read from the server's
own database), and it changes a Ramsey result on ``line10``. The circuit is the one of
``tests/service/test_dynamical_decoupling_job.py``: qubit 5 (T2echo 36.6 us, T2* 8.9 us) idles 8 us between two
pi/2 pulses, so without decoupling P(1) is far higher (closed forms about 0.30 against 0.10). The sync client's
counts must also equal ``Device.run`` with the same option and seed (the twin run locally, the same plan).
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.integration.test_cli_user import xihe
from tests.service.helpers import Server
from xihe import devices, qasm
from xihe.circuit import Circuit
from xihe.client import AsyncClient, Client
from xihe.client.payloads import dd_sequence, submit_body
from xihe.qiskit import XiheProvider
from xihe.service.db import Database
from xihe.service.models import Job as JobRow

QUBIT, WAIT, SHOTS = 5, 8000.0, 1000


def ramsey() -> Circuit:
    return Circuit(10, 1).rx(math.pi / 2, QUBIT).delay(WAIT, QUBIT).rx(-math.pi / 2, QUBIT).measure(QUBIT, 0)


def p1(counts: dict[str, int]) -> float:
    return sum(n for key, n in counts.items() if key.replace(" ", "")[0] == "1") / sum(counts.values())


def stored_option(server: Server, job_id: str) -> Any:
    """The job's ``dynamical_decoupling`` as the server stored it (its payload, in its own database)."""
    database = Database(f"sqlite:///{(server.data_dir / 'xihe.db').absolute()}")
    with database.read() as session:
        row = session.get(JobRow, job_id)
        assert row is not None
        return dict(row.payload).get("dynamical_decoupling")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "dd-clients-user")


def test_the_body_carries_the_choice_and_leaves_none_out() -> None:
    common: dict[str, Any] = {"shots": 10, "compile": False, "seed": None, "name": None, "tags": (),
                              "optimization_level": 2, "parameters": None, "priority": 0, "memory": False}
    assert submit_body("OPENQASM 2.0;", "line10", dynamical_decoupling="xy4", **common)["dynamical_decoupling"] == \
        "XY4"
    assert "dynamical_decoupling" not in submit_body("OPENQASM 2.0;", "line10", dynamical_decoupling="none", **common)
    assert dd_sequence("CPMG") == "CPMG"
    with pytest.raises(ValueError, match="XY4, CPMG or none"):
        dd_sequence("UDD")


def test_sync_client_decouples_and_matches_the_local_twin(server: Server, token: str) -> None:
    twin = devices.get("line10")
    outcomes = {}
    with Client(server.url, token) as client:
        for option in ("none", "XY4", "CPMG"):
            job = client.run(ramsey(), backend="line10", shots=SHOTS, compile=False, seed=3,
                             dynamical_decoupling=option)
            result = job.result(timeout=WAIT_S)
            assert not isinstance(result, list)
            assert stored_option(server, job.id) == dd_sequence(option)
            local = twin.run(ramsey(), SHOTS, seed=3, dynamical_decoupling=dd_sequence(option))
            assert result.counts == local.counts
            outcomes[option] = p1(dict(result.counts or {}))
    assert outcomes["XY4"] < outcomes["none"] - 0.1 and outcomes["CPMG"] < outcomes["none"] - 0.1, outcomes


def test_async_client_decouples(server: Server, token: str) -> None:
    async def go() -> dict[str | None, tuple[float, Any]]:
        out: dict[str | None, tuple[float, Any]] = {}
        async with AsyncClient(server.url, token) as client:
            for option in (None, "XY4"):
                job = await client.run(ramsey(), backend="line10", shots=SHOTS, compile=False, seed=4,
                                       dynamical_decoupling=option)
                result = await job.result(timeout=WAIT_S)
                assert not isinstance(result, list)
                out[option] = (p1(dict(result.counts or {})), stored_option(server, job.id))
        return out

    outcomes = asyncio.run(go())
    assert outcomes[None][1] is None and outcomes["XY4"][1] == "XY4"
    assert outcomes["XY4"][0] < outcomes[None][0] - 0.1, outcomes


def test_cli_run_dd(server: Server, token: str, tmp_path: Path) -> None:
    program = tmp_path / "ramsey.qasm"
    program.write_text(qasm.dumps(ramsey()))
    outcomes = {}
    for flag in ([], ["--dd", "XY4"]):
        done = xihe(tmp_path, "run", str(program), "-b", "line10", "--verbatim", "-s", str(SHOTS), "--seed", "5",
                    "--json", *flag, "--url", server.url, "--token", token)
        assert done.returncode == 0, done.stderr
        info = json.loads(done.stdout)
        assert stored_option(server, info["id"]) == (flag[1] if flag else None)
        outcomes[bool(flag)] = p1(info["result"]["counts"])
    assert outcomes[True] < outcomes[False] - 0.1, outcomes
    refused = xihe(tmp_path, "run", str(program), "-b", "line10", "--dd", "UDD", "--url", server.url,
                   "--token", token)
    assert refused.returncode == 2 and "XY4, CPMG, none" in refused.stderr


def test_qiskit_backend_run_option(server: Server, token: str) -> None:
    qc = QuantumCircuit(10, 1)
    qc.rx(math.pi / 2, QUBIT)
    qc.delay(int(WAIT), QUBIT, unit="ns")
    qc.rx(-math.pi / 2, QUBIT)
    qc.measure(QUBIT, 0)
    with Client(server.url, token) as client:
        backend = XiheProvider(client).get_backend("line10")
        outcomes = {}
        for option in (None, "XY4"):
            job = backend.run(qc, shots=SHOTS, seed_simulator=6, dynamical_decoupling=option)
            counts = job.result().get_counts()
            assert stored_option(server, job.xihe_job.id) == option
            outcomes[option] = counts.get("1", 0) / SHOTS
    assert outcomes["XY4"] < outcomes[None] - 0.1, outcomes
