"""The real quafusqc 3.3.9 ``Task`` client, unmodified, in a Python 3.12 venv, against a live Xihe server.

One client run (the scenario below) drives every ``Task`` method over ``/task/...``; each test checks one behaviour
in what the client saw. The oracle is the circuit's exact outcome and the native API's view of the same jobs.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.client.live import new_user_token, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import BELL, Server

SCENARIO = r'''
import json, sys
from quafu import Task

url, token = sys.argv[1], sys.argv[2]
Task.URL = url
out = {}
try:
    Task("qf_notARealToken123")
    out["bad_token"] = "accepted"
except Exception as exc:
    out["bad_token"] = str(exc)
t = Task(token)
out["chips"] = t.status()
# x on q[0] only, both bits measured: the one outcome, c0 rightmost, is "01".
HEAD = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
MEASURE = 'measure q[0] -> c[0];\nmeasure q[1] -> c[1];\n'
ONE = HEAD + 'x q[0];\n' + MEASURE
BELL = HEAD + 'h q[0];\ncx q[0],q[1];\n' + MEASURE
tid = t.run({"chip": "sim", "name": "Bell Demo 贝尔", "circuit": BELL, "shots": 2048})
out["tid"] = tid
out["bell"] = t.result(tid, timeout=300)
out["bell_status"] = t.status(tid)
one = t.run({"chip": "sim", "circuit": ONE})
out["one"] = t.result(one, timeout=300)
out["one_tid"] = one
# grid36 has no worker in the test server: the task stays queued, so result is {} and cancel takes.
held = t.run({"chip": "grid36", "name": "held", "circuit": BELL, "shots": 1024})
out["held_tid"] = held
out["held_result"] = t.result(held)
out["held_cancel"] = t.cancel(held)
out["held_after"] = t.result(held)
out["held_delete"] = t.delete(held)
out["bad_run"] = t.run({"chip": "nochip", "circuit": BELL})
out["zero_shots"] = t.run({"chip": "sim", "circuit": BELL, "shots": 0})
out["long_name"] = t.run({"chip": "sim", "name": "n" * 300, "circuit": BELL})
out["unknown_result"] = t.result(12345)
out["query"] = t.query(chips="sim,grid36", status="Finished,Cancelled", start="2020-01-01-00-00-00",
                       end="2099-01-01-00-00-00", limit=50)
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "sqc-user")


@pytest.fixture(scope="module")
def report(server: Server, token: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = client_python("quafusqc", "3.3.9", 12)
    return run_client(python, SCENARIO, tmp_path_factory.mktemp("sqc-home"), server.url, token)


def test_issued_token_has_the_shape_every_client_accepts(token: str) -> None:
    assert token.startswith("qf_") and token[3:].isalnum()


def test_bad_token_is_refused_by_verify(report: dict[str, Any]) -> None:
    assert report["bad_token"] != "accepted" and "token" in report["bad_token"]


def test_status_zero_lists_every_chip_with_its_queue(report: dict[str, Any]) -> None:
    assert {"sim", "line10", "dongling", "grid36"} <= set(report["chips"])
    assert all(isinstance(v, int) for v in report["chips"].values())


def test_run_returns_an_integer_task_and_result_the_bell_counts(report: dict[str, Any]) -> None:
    assert isinstance(report["tid"], int)
    bell = report["bell"]
    assert bell["status"] == "Finished" and bell["tid"] == report["tid"] and bell["name"] == "Bell Demo 贝尔"
    assert set(bell["count"]) == {"00", "11"} and sum(bell["count"].values()) == 2048
    assert all(800 < n < 1250 for n in bell["count"].values())  # p = 1/2 each, > 9 sigma
    assert report["bell_status"] == "Finished"


def test_counts_are_keyed_with_classical_bit_zero_rightmost(report: dict[str, Any]) -> None:
    assert report["one"]["count"] == {"01": 1024}


def test_result_is_empty_until_done_and_cancel_takes_a_queued_task(report: dict[str, Any]) -> None:
    assert report["held_result"] == {}
    assert report["held_cancel"]["status"] == "Cancelled"
    assert report["held_after"]["status"] == "Cancelled" and report["held_after"]["count"] == {}
    assert report["held_delete"]["tid"] == report["held_tid"]


def test_errors_are_json_objects_with_a_message(report: dict[str, Any]) -> None:
    assert isinstance(report["bad_run"], dict) and "nochip" in report["bad_run"]["error"]
    assert isinstance(report["unknown_result"], dict) and "error" in report["unknown_result"]


def test_a_refused_value_is_named_in_the_error(report: dict[str, Any]) -> None:
    """Zero shots answered "Input should be greater than or equal to 1", naming no input."""
    assert report["zero_shots"]["error"].startswith("shots: Input should be greater than or equal to 1")
    assert report["long_name"]["error"].startswith("name: "), report["long_name"]


def test_query_lists_the_tasks_by_chip_and_status(report: dict[str, Any]) -> None:
    seen = {task["taskId"]: task for task in report["query"]["tasks"]}
    assert {report["tid"], report["one_tid"], report["held_tid"]} <= set(seen)
    assert seen[report["held_tid"]]["status"] == "Cancelled" and seen[report["held_tid"]]["chipName"] == "grid36"


def test_tasks_are_the_users_native_jobs(report: dict[str, Any], server: Server, token: str) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as native:
        job = native.get(f"/jobs/{report['tid']:016x}").json()
    assert job["status"] == "DONE" and job["backend"] == "sim" and job["shots"] == 2048


def test_one_job_list_for_quafusqc_quafu_sdk_and_native(report: dict[str, Any], server: Server, token: str) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as native:
        sdk = native.post("/jobs", json={"mode": "single", "target": "sim", "shots": 10, "circuit_level": "logical",
                                         "circuits": [{"qasm": BELL}], "client_ref": "one-list"}).json()["job_id"]
        own = native.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).json()["id"]
        listed = {job["id"] for job in native.get("/jobs", params={"limit": 100}).json()["items"]}
        tids = {task["taskId"] for task in native.get(
            f"{server.url}/task/query/", headers={"token": token},
            params={"start": "2020-01-01-00-00-00", "end": "2099-01-01-00-00-00", "limit": 100}).json()["tasks"]}
    sqc = {f"{report[key]:016x}" for key in ("tid", "one_tid", "held_tid")}
    assert sqc | {sdk, own} <= listed
    assert {int(sdk, 16), int(own, 16)} | {report["tid"], report["one_tid"], report["held_tid"]} <= tids
