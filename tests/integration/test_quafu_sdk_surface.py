"""The rest of quafu-sdk 0.2.7's public surface, through the real client against a live Xihe server: the
module-level functions (address and key from ``QUAFU_BASE_URL``/``QUAFU_API_KEY``), ``Job.wait``, every
``ResultTable`` and ``Calibration`` helper, the ``bits`` functions, ``login(api_key=)``/``logout``, the ``quafu``
command, physical (``compiler="none"``) circuits, and the refusals. Oracles: exact outcomes of deterministic
circuits and the SDK's own helpers.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.client.live import new_user_token, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import Server

SCENARIO = r'''
import json, math, os, subprocess, sys
import quafu

url, token = sys.argv[1], sys.argv[2]
os.environ["QUAFU_BASE_URL"], os.environ["QUAFU_API_KEY"] = url, token
out = {}
HEAD = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
ONE = HEAD + 'x q[0];\nmeasure q -> c;\n'  # c0 = 1, c1 = 0: "01" with c0 rightmost
BELL = HEAD + 'h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
out["whoami"] = quafu.whoami()["name"]
out["devices"] = [d["name"] for d in quafu.devices()]
d = quafu.device("Dongling")
cal = d.calibration()
first = cal.couplers[0]["qubits"]
out["device"] = {"name": d.name, "status": d.status, "get": d.get("calibration_source"), "q0": cal.qubit(0)["index"],
                 "coupler": cal.coupler(*first[::-1])["qubits"], "fidelity": cal.coupler(*first)["cz_fidelity"],
                 "measured": [cal.measured_qubit(0), cal.measured_coupler(*first)], "chip": cal.chip,
                 "same": quafu.calibration(d.calibration_id).id == cal.id}
job = quafu.submit(ONE, target="sim", shots=300, name="one")
out["wait"] = job.wait(timeout=300)
r = job.result()
out["single"] = {"ok": r.ok, "counts": r.counts, "probs": r.probabilities(), "c1c0": r.reorder([1, 0]),
                 "c0c1": r.reorder([0, 1]), "z0": r.expectation_z([0]), "z1": r.expectation_z([1]),
                 "calibration_id": r.calibration_id, "name": r.name, "shots_requested": r.shots_requested,
                 "again": quafu.job(job.id).result().counts,
                 "fn_reorder": quafu.reorder_counts(r.counts, "c0_leftmost", r.bit_order, r.n_clbits),
                 "fn_by_qubit": quafu.counts_by_qubit(r.counts, r.measurements, [0, 1], r.bit_order, r.n_clbits),
                 "fn_probs": quafu.probabilities(r.counts), "fn_z": quafu.expectation_z(r.counts, [0], r.bit_order)}
T = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nrx({{theta}}) q[0];\nmeasure q[0] -> c[0];\n'
table = quafu.sweep(T, [{"name": "theta", "unit": "rad"}], [0.0, math.pi], target="sim", shots=200).table(timeout=300)
out["table"] = {"names": table.parameter_names, "ok": table.ok, "complete": table.complete,
                "point": table.parameter_values(1), "row": table.rows()[1], "probs": table.probabilities(),
                "left": table.reordered("c0_leftmost"), "z": table.expectation_z([0]), "dict": sorted(table.to_dict()),
                "len": len(table), "iter": [row["seq"] for row in table]}
it = quafu.open_job("sim", shots=100)
it.append(circuits=[BELL])
it.wait(timeout=300)
try:
    it.append(points=[[0.1]])
    out["no_template"] = "accepted"
except quafu.QuafuError as exc:
    out["no_template"] = type(exc).__name__
out["close"] = [it.close(), it.close()]
out["cancel_closed"] = it.cancel()
out["stats"] = quafu.stats(days=1)["quota"]["sim"]["used"]


def error(call):
    try:
        call()
        return "accepted"
    except quafu.QuafuError as exc:
        return {"type": type(exc).__name__, "category": getattr(exc, "category", None), "text": str(exc)}


FREE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nrx(theta) q[0];\nmeasure q[0] -> c[0];\n'
out["unbound"] = error(lambda: quafu.submit(FREE, target="sim", shots=10))
out["physical_jiuding"] = quafu.submit(BELL, target="line10-sim-jiuding", compiler="none", shots=500).result(
    timeout=300).counts
FAR = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[2];\ncx q[0],q[2];\nmeasure q[0] -> c[0];\n'
       'measure q[2] -> c[1];\n')
out["physical_uncoupled"] = error(lambda: quafu.submit(FAR, target="line10", compiler="none", shots=10))
out["all_race"] = error(lambda: quafu.submit(BELL, target="all-race"))
cli = os.path.join(os.path.dirname(sys.executable), "quafu")
plain = {k: v for k, v in os.environ.items() if k != "QUAFU_API_KEY"}
runs = {}
for label, args, stdin in (("whoami", ["whoami", "--json"], None), ("login", ["login", "--api-key", "-"], token),
                           ("saved_whoami", ["whoami", "--json"], None), ("logout", ["logout"], None),
                           ("after", ["whoami", "--json"], None)):
    env = os.environ if label == "whoami" else plain
    done = subprocess.run([cli, "--base-url", url, *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env=env)
    runs[label] = [done.returncode, done.stdout]
out["cli"] = runs
del os.environ["QUAFU_API_KEY"]
info = quafu.login(api_key=token, base_url=url)
out["login"] = {"kind": info["kind"], "name": info["name"], "whoami": quafu.whoami(base_url=url)["source"],
                "logout": quafu.logout(base_url=url)}
print(json.dumps(out, default=str))
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    server: Server = shared_server(tmp_path_factory, request)
    token = new_user_token(server, "quafu-sdk-surface")
    python = client_python("quafu-sdk", "0.2.7", 11)
    return run_client(python, SCENARIO, tmp_path_factory.mktemp("sdk-surface"), server.url, token)


def test_module_functions_device_and_calibration(report: dict[str, Any]) -> None:
    assert report["whoami"] == "quafu-sdk-surface" and "dongling-sim-jiuding" in report["devices"]
    device = report["device"]
    assert device["name"] == "dongling" and device["status"] == "online" and device["get"] == "xihe"
    assert device["q0"] == 0 and device["chip"] == "dongling" and device["same"]
    assert 0 < device["fidelity"] <= 1 and device["measured"] == [None, None]


def test_result_and_bits_helpers_agree_on_an_exact_outcome(report: dict[str, Any]) -> None:
    single = report["single"]
    assert report["wait"] == "Finished" and single["ok"] and single["counts"] == {"01": 300}
    assert single["probs"] == {"01": 1.0} and single["c1c0"] == {"01": 300} and single["c0c1"] == {"10": 300}
    assert single["z0"] == -1.0 and single["z1"] == 1.0 and single["again"] == single["counts"]
    assert single["calibration_id"] is None  # ideal simulation uses no calibration
    assert single["name"] == "one" and single["shots_requested"] == 300
    assert single["fn_reorder"] == {"10": 300} and single["fn_by_qubit"] == {"10": 300}
    assert single["fn_probs"] == {"01": 1.0} and single["fn_z"] == -1.0


def test_result_table_helpers(report: dict[str, Any]) -> None:
    table = report["table"]
    assert table["names"] == ["theta"] and table["ok"] == [True, True] and table["complete"]
    assert table["point"] == {"theta": math.pi} and table["row"]["counts"] == {"1": 200}
    assert table["probs"] == [{"0": 1.0}, {"1": 1.0}] and table["left"] == [{"0": 200}, {"1": 200}]
    assert table["z"] == [1.0, -1.0] and {"theta", "task_id", "counts"} <= set(table["dict"])
    assert table["len"] == 2 and table["iter"] == [0, 1]


def test_iterative_job_without_template_close_and_cancel(report: dict[str, Any]) -> None:
    assert report["no_template"] == "JobClosed"
    assert [c["open"] for c in report["close"]] == [False, False]
    assert report["cancel_closed"]["cancelled_now"] == 0 and report["cancel_closed"]["status"] == "Finished"
    assert report["stats"] >= 3


def test_physical_circuits_and_refusals(report: dict[str, Any]) -> None:
    assert set(report["physical_jiuding"]) <= {"00", "11"} and sum(report["physical_jiuding"].values()) == 500
    uncoupled = report["physical_uncoupled"]
    assert uncoupled["type"] == "PrecheckError" and "coupler" in uncoupled["text"]
    unbound = report["unbound"]  # the hint names what quafu-sdk can do, not a native field
    assert unbound["type"] == "PrecheckError" and "quafu.sweep" in unbound["text"] and "'parameters'" not in \
        unbound["text"]
    assert report["all_race"]["type"] == "BadRequest" and "all-race" in report["all_race"]["text"]


def test_command_line_and_api_key_login(report: dict[str, Any]) -> None:
    cli = report["cli"]
    assert cli["whoami"][0] == 0 and '"name": "quafu-sdk-surface"' in cli["whoami"][1]
    assert cli["login"][0] == 0 and cli["saved_whoami"][0] == 0 and '"source": "saved"' in cli["saved_whoami"][1]
    assert cli["logout"][0] == 0 and cli["after"][0] != 0
    login = report["login"]
    assert login["kind"] == "api_key" and login["name"] == "quafu-sdk-surface" and login["whoami"] == "saved"
    assert login["logout"]["removed"] and login["logout"]["kind"] == "api_key"
