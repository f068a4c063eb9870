"""The real quafu-sdk 0.2.7, unmodified, in its own venv, against a live Xihe server at ``/api/v1``.

One client run (the scenario below) drives the SDK's public methods; each test checks one behaviour in what the
client saw. Oracles: exact outcome probabilities of the circuits, and the SDK's own ``reorder``,
``counts_by_qubit`` and ``expectation_z`` helpers (which refuse counts that break its bit-order contract).
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import httpx
import pytest

from tests.client.live import new_user_token, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import BELL, Server

SHOTS = 4000
P_ONE = 0.2  # ry(2 asin(sqrt(0.2))) |0> gives 1 with probability 0.2

SCENARIO = r'''
import json, math, sys
import quafu
from quafu import Client

url, token = sys.argv[1], sys.argv[2]
out = {}
try:
    Client(api_key="qf_not_base62", base_url=url)
    out["bad_shape"] = "accepted"
except quafu.QuafuError as exc:
    out["bad_shape"] = type(exc).__name__
c = Client(api_key=token, base_url=url)
out["me"] = c.whoami()
out["devices"] = c.devices()
d = c.device("dongling")
out["device"] = {"name": d.name, "n_qubits": d.n_qubits, "calibration_id": d.calibration_id}
cal = d.calibration()
out["calibration"] = {"id": cal.id, "qubit0": cal.qubit(0) is not None, "basis": cal.basis_gates}
out["calibration_by_id"] = c.calibration(d.calibration_id).id
out["metadata"] = c.metadata("line10")
theta = 2 * math.asin(math.sqrt(0.2))
SKEW = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
        f'ry({theta!r}) q[0];\nx q[2];\nmeasure q[0] -> c[0];\nmeasure q[1] -> c[1];\nmeasure q[2] -> c[2];\n')
job = c.submit(SKEW, target="sim", shots=4000, name="skew")
r = job.result(timeout=300)
out["skew"] = {"status": job.status(), "counts": r.counts, "n_clbits": r.n_clbits, "bit_order": r.bit_order,
               "shots": r.shots_returned, "left": r.reorder("c0_leftmost"), "by_qubit": r.counts_by_qubit([2, 0]),
               "z0": r.expectation_z([0]), "z2": r.expectation_z([2]), "task_id": r.task_id, "job_id": job.id}
again = c.job(job.id)
out["reattached"] = again.result(timeout=60).counts == r.counts
SWAP = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\n'
        'measure q[0] -> c[1];\nmeasure q[1] -> c[0];\n')
swapped = c.submit(SWAP, target="line10", shots=1000).result(timeout=300)
placed = [m["physical_qubit"] for m in sorted(swapped.measurements, key=lambda m: m["virtual_qubit"])]
out["swapped"] = {"counts": swapped.counts, "by_qubit": swapped.counts_by_qubit(placed),
                  "measurements": swapped.measurements}
coll = c.submit([SWAP, SKEW], target="sim", shots=1000)
out["collection"] = [res.counts for res in coll.results(timeout=300)]
TEMPLATE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nrx({{theta}}) q[0];\nmeasure q[0] -> c[0];\n'
sweep = c.sweep(TEMPLATE, [{"name": "theta", "unit": "rad"}], [[0.0], [math.pi]], target="sim", shots=500)
table = sweep.table(timeout=300)
out["sweep"] = {"theta": table.column("theta"), "counts": table.counts, "parameters": table.parameters}
labelled = c.submit([{"qasm": SWAP, "name": "first", "parameter_values": {"theta": 0.5}},
                     {"qasm": SKEW, "name": "second", "parameter_values": {"theta": 1.5}}],
                    target="sim", shots=100, parameters=[{"name": "theta", "unit": "rad"}])
labelled_table = labelled.table(timeout=300)
labelled_results = labelled.results(timeout=300)
out["labelled"] = {"theta": labelled_table.column("theta"), "names": labelled_table.column("name"),
                   "values": [r.parameter_values for r in labelled_results],
                   "names_r": [r.name for r in labelled_results],
                   "counts": labelled_table.counts[0], "status": labelled.status()}
held = c.submit(SKEW, target="grid36", shots=100)
out["cancel"] = held.cancel()
out["cancel_again"] = held.cancel()
out["held_status"] = held.status()
try:
    held.result(timeout=30)
    out["held_result"] = "returned"
except quafu.QuafuError as exc:
    out["held_result"] = type(exc).__name__
try:
    c.job("0000000000000000").status()
    out["missing"] = "found"
except quafu.QuafuError as exc:
    out["missing"] = type(exc).__name__
it = c.open_job("sim", template=TEMPLATE, parameters=[{"name": "theta", "unit": "rad"}], shots=200, name="vqe")
first = it.append(points=[[0.0], [math.pi]], iteration=0)
it.wait(timeout=300)
second = it.append(circuits=[SWAP], iteration=1)
it.wait(timeout=300)
open_table = it.table(wait=False)
it_results = it.results(timeout=300)
closed = it.close()
out["iterative"] = {"id": it.id, "first": first, "second": second, "open_before_close": open_table is not None,
                    "counts": [res.counts for res in it_results], "iterations": open_table.iterations,
                    "theta": open_table.column("theta"), "task_ids": open_table.task_ids, "closed": closed,
                    "status_after_close": c.job(it.id).status()}
try:
    it.append(points=[[1.0]])
    out["iterative"]["append_after_close"] = "accepted"
except quafu.QuafuError as exc:
    out["iterative"]["append_after_close"] = type(exc).__name__
try:
    job.append(points=[[1.0]])
    out["iterative"]["append_to_single"] = "accepted"
except quafu.QuafuError as exc:
    out["iterative"]["append_to_single"] = type(exc).__name__


def error_of(call):
    try:
        call()
        return "accepted"
    except quafu.QuafuError as exc:
        return {"type": type(exc).__name__, "category": getattr(exc, "category", None), "text": str(exc)}
out["over_quota_shots"] = error_of(lambda: c.submit(SKEW, target="sim", shots=200000))
out["bad_qasm"] = error_of(lambda: c.submit("OPENQASM 2.0;\nqreg q[1];\nbogus q[0];\n", target="sim"))
mixed = c.submit([SKEW, {"qasm": SKEW, "shots": 7, "name": "seven"}, SWAP, {"qasm": SWAP, "shots": 10}],
                 target="sim", shots=10)
out["mixed_shots"] = {"results": [[r.task_id, r.shots_returned, r.shots_requested, r.name] for r in
                                  mixed.results(timeout=300)], "id": mixed.id, "n_tasks": mixed.n_tasks,
                      "table": mixed.table(timeout=60).shots_returned}
one_own = c.submit({"qasm": SWAP, "shots": 33}, target="sim", shots=10).result(timeout=300)
out["own_shots"] = [one_own.shots_returned, one_own.counts]
out["unknown_target"] = error_of(lambda: c.submit(SKEW, target="nochip"))
out["long_name"] = error_of(lambda: c.submit(SKEW, target="sim", name="n" * 300))
out["stats"] = c.stats(days=7)
print(json.dumps(out, default=str))
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "quafu-sdk-user")


@pytest.fixture(scope="module")
def report(server: Server, token: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = client_python("quafu-sdk", "0.2.7", 11)
    return run_client(python, SCENARIO, tmp_path_factory.mktemp("sdk-home"), server.url, token)


def test_sdk_accepts_the_token_shape_xihe_issues(report: dict[str, Any], token: str) -> None:
    assert report["bad_shape"] == "CredentialsError"
    assert report["me"]["name"] == "quafu-sdk-user"


def test_public_devices_calibration_and_metadata(report: dict[str, Any]) -> None:
    names = {row["name"] for row in report["devices"]}
    assert {"sim", "line10", "line10-sim", "dongling", "dongling-sim"} <= names
    assert report["device"]["name"] == "dongling" and report["device"]["calibration_id"]
    assert report["device"]["n_qubits"] == 106  # the working qubits of the 130 in the chip file
    assert report["calibration"]["id"] == report["device"]["calibration_id"] == report["calibration_by_id"]
    assert report["calibration"]["qubit0"] and "cz" in report["calibration"]["basis"]
    meta = report["metadata"]
    assert meta["n_qubits"] == 10 and [0, 1] in meta["coupling_map"] and "cx" in meta["basis_gates"]


def test_public_endpoints_need_no_token(server: Server) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as anonymous:
        assert anonymous.get("/devices").status_code == 200
        assert anonymous.get("/backends/sim/metadata").json()["limits"]["max_shots"] > 0
        assert anonymous.get("/jobs/0000000000000000/status").status_code == 401


def test_single_job_counts_are_c0_rightmost_with_exact_probabilities(report: dict[str, Any]) -> None:
    skew = report["skew"]
    assert skew["status"] == "Finished" and skew["bit_order"] == "c0_rightmost" and skew["n_clbits"] == 3
    assert set(skew["counts"]) <= {"100", "101"} and sum(skew["counts"].values()) == SHOTS == skew["shots"]
    p = skew["counts"].get("101", 0) / SHOTS
    assert abs(p - P_ONE) < 6 * math.sqrt(P_ONE * (1 - P_ONE) / SHOTS)
    assert set(skew["left"]) <= {"001", "101"}
    assert skew["by_qubit"] == {"10": skew["counts"].get("100", 0), "11": skew["counts"].get("101", 0)}
    assert skew["z2"] == -1.0 and abs(skew["z0"] - (1 - 2 * P_ONE)) < 0.06
    assert skew["task_id"] == f"{skew['job_id']}-0" and report["reattached"]


def test_counts_by_qubit_follows_the_measurements_on_a_compiled_chip(report: dict[str, Any]) -> None:
    swapped = report["swapped"]
    # x q[0]; q0 -> c1, q1 -> c0: c1 = 1, so c0_rightmost "10"; on line10's noisy twin the ideal outcome dominates.
    assert max(swapped["counts"], key=swapped["counts"].get) == "10"
    assert [m["virtual_qubit"] for m in sorted(swapped["measurements"], key=lambda m: m["cbit"])] == [1, 0]
    by_qubit = swapped["by_qubit"]  # keyed by the physical qubits where q0 and q1 were placed, in that order
    assert max(by_qubit, key=by_qubit.get) == "10"


def test_collection_and_sweep(report: dict[str, Any]) -> None:
    first, second = report["collection"]
    assert first == {"10": 1000} and set(second) <= {"100", "101"}
    assert report["sweep"]["theta"] == [0.0, math.pi]
    assert report["sweep"]["counts"] == [{"0": 500}, {"1": 500}]
    assert report["sweep"]["parameters"] == [{"name": "theta", "unit": "rad"}]  # as declared, unit kept


def test_cancel_a_queued_job_is_idempotent(report: dict[str, Any]) -> None:
    assert report["cancel"]["cancelled_now"] == 1 and report["cancel"]["status"] == "Cancelled"
    assert report["cancel_again"]["cancelled_now"] == 0 and report["cancel_again"]["status"] == "Cancelled"
    assert report["held_status"] == "Cancelled" and report["held_result"] == "JobCancelled"


def test_unknown_job_is_job_not_found(report: dict[str, Any]) -> None:
    assert report["missing"] == "JobNotFound"


def test_stats_count_the_users_jobs(report: dict[str, Any]) -> None:
    # skew, swapped, collection, sweep, labelled, held, the iterative job's two appends, the mixed-shots
    # collection (three runs of equal shots: three jobs) and one circuit with its own shots: a fresh user's
    assert report["stats"]["jobs"] == 12
    assert report["stats"]["tasks"] == 17  # 1 + 1 + 2 + 2 + 2 + 1 + 2 + 1 + (1 + 1 + 2) + 1


def test_each_circuit_of_a_collection_runs_with_its_own_shots(report: dict[str, Any]) -> None:
    mixed = report["mixed_shots"]
    assert [r[1] for r in mixed["results"]] == [10, 7, 10, 10] == mixed["table"]
    assert [r[0] for r in mixed["results"]] == [f"{mixed['id']}-{k}" for k in range(4)] and mixed["n_tasks"] == 4
    assert mixed["results"][1][3] == "seven"
    assert report["own_shots"] == [33, {"10": 33}]


def test_replayed_client_ref_returns_the_same_job(server: Server, token: str) -> None:
    body = {"mode": "single", "target": "sim", "shots": 10, "circuit_level": "logical",
            "circuits": [{"qasm": BELL}], "client_ref": str(uuid.uuid4())}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as api:
        first, second = api.post("/jobs", json=body), api.post("/jobs", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["job_id"] == second.json()["job_id"]


def test_replayed_client_ref_of_a_mixed_shots_collection_adds_nothing(server: Server) -> None:
    token = new_user_token(server, "quafu-sdk-mixed-replay")
    body = {"mode": "collection", "target": "sim", "shots": 10, "circuit_level": "logical",
            "circuits": [{"qasm": BELL}, {"qasm": BELL, "shots": 20}], "client_ref": str(uuid.uuid4())}
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as api:
        first, second = api.post("/jobs", json=body).json(), api.post("/jobs", json=body).json()
        assert first["job_id"] == second["job_id"] and first["task_ids"] == second["task_ids"]
        assert api.get(f"/jobs/{first['job_id']}/status").json()["counts"]["total"] == 2
        assert api.get("/jobs").json()["total"] == 2  # two runs of equal shots, once


def test_native_submit_and_cancel_still_answer_natively(server: Server, token: str) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as api:
        created = api.post("/jobs", json={"qasm": BELL, "backend": "grid36", "shots": 10})
        assert created.status_code == 201 and created.json()["status"] == "QUEUED"
        cancelled = api.post(f"/jobs/{created.json()['id']}/cancel")
        assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["id"] == created.json()["id"]
        bad = api.post("/jobs", json={"qasm": BELL, "backend": "sim", "bogus": 1})
        assert bad.status_code == 422 and "bogus" in bad.json()["detail"]


def test_server_side_refusals_map_to_the_sdks_exceptions(report: dict[str, Any]) -> None:
    # 200000 shots: within sim's own maximum (no local precheck) but over the user's per-job quota (100000).
    assert report["over_quota_shots"]["type"] == "PrecheckError"
    assert report["over_quota_shots"]["category"] == "precheck.shotsOutOfRange"
    assert report["bad_qasm"]["type"] == "BadRequest" and "bogus" in report["bad_qasm"]["text"]
    assert report["unknown_target"]["type"] == "BadRequest" and "nochip" in report["unknown_target"]["text"]
    # A refused value is named by its quafu-sdk field ("name: String should have at most 256 characters").
    assert report["long_name"]["type"] == "BadRequest"
    assert "name: String should have at most 256 characters" in report["long_name"]["text"]


def test_iterative_job_appends_points_and_circuits_then_closes(report: dict[str, Any]) -> None:
    it = report["iterative"]
    assert it["first"] == [f"{it['id']}-0", f"{it['id']}-1"] and it["second"] == [f"{it['id']}-2"]
    assert it["counts"] == [{"0": 200}, {"1": 200}, {"10": 200}]
    assert it["task_ids"] == it["first"] + it["second"] and it["iterations"] == [0, 0, 1]
    assert it["theta"] == [0.0, math.pi, None]
    assert it["closed"]["open"] is False and it["status_after_close"] == "Finished"
    assert it["append_after_close"] == "JobClosed" and it["append_to_single"] == "JobClosed"


def test_collection_keeps_each_circuits_name_and_parameter_values(report: dict[str, Any]) -> None:
    labelled = report["labelled"]
    assert labelled["theta"] == [0.5, 1.5] and labelled["names"] == ["first", "second"]
    assert labelled["values"] == [{"theta": 0.5}, {"theta": 1.5}] and labelled["names_r"] == ["first", "second"]
    assert labelled["counts"] == {"10": 100} and labelled["status"] == "Finished"


def test_devices_call_emulated_twins_sim_not_real(report: dict[str, Any], server: Server) -> None:
    """The SDK labels ``devices[]`` rows ``real`` and ``simulated_chips[]`` rows ``sim``: twins are emulated."""
    kinds = {row["name"]: row["kind"] for row in report["devices"]}
    for twin in ("line10", "dongling", "grid36"):
        assert kinds[twin] == "sim" and kinds[f"{twin}-sim"] == "sim"
    assert kinds["sim"] == "sim" and "real" not in kinds.values()  # no hardware is configured on this server
    rows = {row["name"]: row for row in report["devices"]}
    # n_qubits: the chip's numbering (130 in dongling's file); max_qubits: its largest connected working group
    assert rows["dongling"]["n_qubits"] == 130 and rows["dongling"]["max_qubits"] == 106
    assert rows["dongling"]["limits"]["method"] == "noise_model" and rows["line10"]["max_qubits"] == 9
    detail = httpx.get(f"{server.url}/api/v1/devices/line10", timeout=30).json()
    assert detail["kind"] == "sim"
