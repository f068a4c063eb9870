"""The legacy Quafu protocol at the wire level: what pyquafu 0.4.5 reads, including the cases pyquafu itself
does not reach on a healthy server (a job that fails after it was accepted, malformed forms, a missing token).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.service.helpers import Server, run_xihe
from xihe.service.api.routes.quafu import task_json
from xihe.service.models import Job

BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg meas[2];\nh q[0];\ncx q[0],q[1];\n' \
       "measure q[0] -> meas[0];\nmeasure q[1] -> meas[1];\n"


def stored_job(status: str, **fields: Any) -> Job:
    return Job(id="abc123", user_id=1, status=status, backend="line10", kind="single", name="t", tags=[], shots=100,
               priority=2, payload={"circuits": [BELL]}, created_at=datetime.now(UTC), **fields)


def test_failed_task_is_status_4_with_its_reason() -> None:
    task = task_json(stored_job("FAILED", error_stage="compile", error_detail="no route for cx q[0],q[9]"), [])
    assert task["status"] == 4 and task["res"] == "{}" and task["raw"] == "{}"
    assert "compile" in task["message"] and "no route for cx q[0],q[9]" in task["message"]
    assert task["openqasm"] == BELL  # pyquafu parses it into ExecResult.transpiled_circuit


def test_queued_task_has_empty_counts_and_its_submitted_circuit() -> None:
    task = task_json(stored_job("QUEUED"), [])
    assert task == task | {"task_id": "abc123", "task_name": "t", "status": 0, "res": "{}", "raw": "{}",
                           "openqasm": BELL, "measure": "{0: 0, 1: 1}"}


def test_done_task_has_compiled_circuit_and_counts_as_dict_string() -> None:
    compiled = BELL.replace("qreg q[2]", "qreg q[10]")
    task = task_json(stored_job("DONE"), [{"counts": {"11": 49, "00": 51}, "compiled_qasm": compiled}])
    assert task["status"] == 2 and task["openqasm"] == compiled
    assert eval(task["res"]) == {"00": 51, "11": 49} == json.loads(task["raw"])  # pyquafu eval()s it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "quafu-wire")


def post(server: Server, path: str, token: str | None, **form: str) -> httpx.Response:
    headers = {"api_token": token} if token is not None else {}
    return httpx.post(f"{server.url}/qbackend/{path}/", data=form, headers=headers, timeout=WAIT_S + 30)


def test_every_answer_has_the_code_in_the_body(server: Server, token: str) -> None:
    """HTTP 200 where pyquafu checks the body's code; an HTTP error status where it does not (retrieve, chip info)."""
    cases = [
        ("get_backends", None, {}, 201),
        ("get_backends", "xh_wrong", {}, 201),
        ("scq_task_recall", token, {"task_id": "nope"}, 400),
        ("scq_task_recall", token, {}, 400),
        ("scq_task_recall", "xh_wrong", {"task_id": "nope"}, 201),
        ("scq_get_chip_info", "xh_wrong", {"system_name": "line10"}, 201),
        ("scq_kit_asyc", token, {"qtasm": BELL, "selected_server": "abc"}, 400),
        ("scq_kit_asyc", token, {"qtasm": BELL, "selected_server": "999"}, 400),
        ("scq_kit_asyc", token, {"qtasm": "", "selected_server": "1"}, 5001),
        ("scq_kit_asyc", token, {"qtasm": "OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n", "selected_server": "1"}, 5001),
        ("scq_get_chip_info", token, {"system_name": "no-such-chip"}, 400),
    ]
    http = {("scq_task_recall", 400): 404, ("scq_task_recall", 201): 401, ("scq_get_chip_info", 400): 404,
            ("scq_get_chip_info", 201): 401}
    for path, sent_token, form, code in cases:
        answer = post(server, path, sent_token, **form)
        expected = 400 if path == "scq_task_recall" and not form else http.get((path, code), 200)
        assert answer.status_code == expected, (path, form, answer.status_code)
        assert answer.json()["status"] == code and answer.json()["message"], (path, form, answer.json())


def test_async_submit_then_recall_until_completed(server: Server, token: str) -> None:
    backends = post(server, "get_backends", token).json()["data"]
    sim = next(b for b in backends if b["system_name"] == "sim")
    form = {"qtasm": BELL, "shots": "200", "qubits": "2", "scan": "0", "tomo": "0",
            "selected_server": str(sim["system_id"]), "compile": "1", "priority": "2", "task_name": "wire",
            "pyquafu_version": "0.4.5", "runtime_job_id": ""}
    queued = post(server, "scq_kit_asyc", token, **form).json()
    assert queued["status"] in (0, 1, 2) and queued["task_name"] == "wire"
    done = post(server, "scq_kit", token, **form).json()  # the waiting variant
    assert done["status"] == 2 and set(eval(done["res"])) == {"00", "11"}
    recalled = post(server, "scq_task_recall", token, task_id=queued["task_id"]).json()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if recalled["status"] == 2:
            break
        time.sleep(0.1)
        recalled = post(server, "scq_task_recall", token, task_id=queued["task_id"]).json()
    assert recalled["status"] == 2 and sum(eval(recalled["res"]).values()) == 200


def test_the_legacy_protocol_shares_the_native_rate_limit(server: Server) -> None:
    """One bucket and one burst for a user, whichever protocol the requests come by (a per-user limit of 1/s
    allows a burst of two seconds' worth: 2 requests)."""
    token = new_user_token(server, "quafu-chatty")
    run_xihe("users", "limits", "quafu-chatty", "--rate-limit", "1", "--data-dir", str(server.data_dir),
             env=server.env)
    codes = [json.loads(post(server, "get_backends", token).text).get("status") for _ in range(4)]
    assert codes[0] == 200 and codes.count(200) <= 3, codes
    refused = json.loads(post(server, "get_backends", token).text)
    assert refused["status"] != 200 and "too many requests" in refused["message"], refused
