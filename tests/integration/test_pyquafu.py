"""The real pyquafu 0.4.5, unmodified, in its own venv, against a live Xihe server over the legacy Quafu protocol.

One pyquafu run (tests/client/pyquafu_scenarios.py) exercises every scenario and reports what pyquafu saw; each
test below checks one behaviour in that report, and the native API checks that they are the same jobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.live import QUOTA_SHOTS, new_user_token, run_pyquafu, shared_server
from tests.service.helpers import Server

SCENARIOS = Path(__file__).resolve().parents[1] / "client" / "pyquafu_scenarios.py"
BELL_OUTCOMES = {"100", "111"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "quafu-user")


@pytest.fixture(scope="module")
def report(server: Server, token: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("pyquafu-home")
    return run_pyquafu(SCENARIOS, home, server.url, token, "xh_not-a-real-token", str(QUOTA_SHOTS))


def native(server: Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_backends_listed_with_integer_system_ids(report: dict[str, Any], server: Server, token: str) -> None:
    with native(server, token) as client:
        backends = {b["name"]: b for b in client.get("/backends").json()}
    # pyquafu keeps "sim" for its local simulator, so the ideal simulator is listed a second time as "sim-ideal".
    assert set(report["backends"]) == set(backends) | {"sim-ideal"}
    assert report["backends"]["sim-ideal"]["qubits"] == backends["sim"]["num_qubits"]
    for name, seen in report["backends"].items():
        if name == "sim-ideal":
            continue
        assert seen["system_id"] == backends[name]["system_id"]
        assert isinstance(seen["system_id"], int)
        assert seen["qubits"] == backends[name]["num_qubits"]
        assert seen["status"] == "Online"
        assert set(backends[name]["native_gates"]) <= set(seen["valid_gates"])


def test_chip_info_gives_pyquafu_its_topology(report: dict[str, Any]) -> None:
    assert "topological_structure" in report["chip_keys"] and "qubits_info" in report["chip_keys"]
    # pyquafu numbers the qubits that appear in working couplers, by the digits of their names.
    names = list(report["chip_mapping"].values())
    assert names == sorted(names) and len(names) >= 2 and all(n.startswith("Q") for n in names)


def test_send_with_wait_returns_completed_counts_in_pyquafu_bit_order(report: dict[str, Any]) -> None:
    sync = report["sync"]
    assert sync["status"] == "Completed" and sync["taskname"] == "bell-sync"
    assert set(sync["counts"]) == BELL_OUTCOMES == set(report["local_counts"])
    assert sum(sync["counts"].values()) == 400
    assert all(100 < n < 300 for n in sync["counts"].values())  # 50/50 within > 7 sigma


def test_measure_into_permuted_bits_matches_pyquafu_simulator(report: dict[str, Any]) -> None:
    assert report["swapped"]["status"] == "Completed"
    assert set(report["swapped"]["counts"]) == set(report["local_swapped_counts"]) == {"10"}


def test_send_without_wait_then_retrieve(report: dict[str, Any]) -> None:
    assert all(status in ("In Queue", "Running", "Completed") for status in report["async_first_status"])
    assert len(report["retrieved"]) == 2
    for task in report["retrieved"].values():
        assert task["status"] == "Completed" and task["taskname"].startswith("async-")
        # line10 is a noisy twin: the ideal outcomes dominate.
        assert sum(n for k, n in task["counts"].items() if k in BELL_OUTCOMES) > 0.8 * 300
        assert "qreg q[10];" in task["openqasm"]  # the compiled circuit, on the chip's qubits


def test_verbatim_task_runs_as_written(report: dict[str, Any]) -> None:
    verbatim = report["verbatim"]
    assert verbatim["status"] == "Completed"
    assert "cx q[2],q[3];" in verbatim["openqasm"]
    # pyquafu declares one classical bit per qubit (creg meas[10]); counts hold the three measured ones only.
    assert all(len(k) == 3 for k in verbatim["counts"])
    assert sum(n for k, n in verbatim["counts"].items() if k in BELL_OUTCOMES) > 0.8 * 300


def test_large_chip_task_completes(report: dict[str, Any]) -> None:
    dongling = report["dongling"]
    assert dongling["status"] == "Completed"
    assert sum(n for k, n in dongling["counts"].items() if k in BELL_OUTCOMES) > 0.6 * 300


def test_retrieve_group_returns_the_group_tasks(report: dict[str, Any]) -> None:
    assert sorted(report["history"]["grp"]) == sorted(report["retrieved"])
    assert report["group"] == sorted([task_id, "Completed"] for task_id in report["retrieved"])


def test_invalid_circuit_raises_pyquafu_circuit_error(report: dict[str, Any]) -> None:
    error = report["circuit_error"]
    assert error["type"] == "CircuitError" and error["is_circuit_error"]
    assert "nan" in error["message"]  # the server names what is wrong with the circuit


def test_circuit_the_device_cannot_take_raises_pyquafu_compile_error(report: dict[str, Any]) -> None:
    error = report["device_error"]
    assert error["type"] == "CompileError" and error["is_compile_error"]
    assert "1" in error["message"] and "7" in error["message"]


def test_exhausted_quota_raises_pyquafu_user_error(report: dict[str, Any]) -> None:
    error = report["quota_error"]
    assert error["type"] == "UserError" and str(QUOTA_SHOTS) in error["message"]


def test_bad_token_raises_pyquafu_user_error(report: dict[str, Any]) -> None:
    error = report["bad_token_error"]
    assert error["type"] == "UserError" and error["is_user_error"]
    assert "token" in error["message"].lower()


def test_pyquafu_tasks_are_native_jobs_of_the_same_account(report: dict[str, Any], server: Server, token: str) -> None:
    with native(server, token) as client:
        job = client.get(f"/jobs/{report['sync']['taskid']}").json()
        assert job["status"] == "DONE" and job["backend"] == "sim" and job["name"] == "bell-sync"
        assert job["priority"] == 2  # pyquafu's priority, within the user's allowance
        assert job["result"]["counts"] == report["sync"]["counts"]
        listed = client.get("/jobs", params={"limit": 100}).json()
        assert {report["sync"]["taskid"], *report["retrieved"]} <= {item["id"] for item in listed["items"]}
    # Another account cannot see them.
    with native(server, server.token or "") as admin_client:
        assert admin_client.get(f"/jobs/{report['sync']['taskid']}").status_code == 404
