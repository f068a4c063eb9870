"""Every target name quafu-sdk 0.2.7 knows, through the real client against a live Xihe server.

``sim`` (ideal, any gate), ``<device>`` and ``<device>-sim`` (the twin: compiled for the chip, run under its
calibrated noise) and ``<device>-sim-jiuding`` (Xihe's ``<twin>-ideal``: compiled for the chip exactly as the twin
is, run without noise). Oracles: exact outcome probabilities (a deterministic circuit gives one outcome in every
shot only without noise), the metadata's native gates and coupling map for what ran, and the SDK's own
``counts_by_qubit`` over the physical qubits the task reports.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from tests.client.live import new_user_token, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import Server

SHOTS = 4000
P_ONE = 0.2

SCENARIO = r'''
import json, math, sys
from quafu import Client

url, token = sys.argv[1], sys.argv[2]
c = Client(api_key=token, base_url=url)
out = {"rows": c.devices()}
out["metadata"] = {row["name"]: c.metadata(row["name"]) for row in out["rows"]}
theta = 2 * math.asin(math.sqrt(0.2))
# q0 = 1 with probability 0.2, q2 copies q0 (not adjacent on line10: routed), q1 = 1 always.
SKEW = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\n'
        f'ry({theta!r}) q[0];\ncx q[0],q[2];\nx q[1];\nmeasure q[0] -> c[0];\nmeasure q[1] -> c[1];\n'
        'measure q[2] -> c[2];\n')
# Deterministic: q0..q4 = 1,1,1,0,1 in every shot of an ideal run.
FIXED = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[5];\ncreg c[5];\nx q[0];\ncx q[0],q[1];\ncx q[1],q[2];\n'
         'x q[4];\nmeasure q -> c;\n')
runs = {}
for target, text in (("sim", SKEW), ("line10-sim-jiuding", SKEW), ("line10-sim", SKEW), ("line10", FIXED),
                     ("line10-sim", FIXED), ("Line10-Sim-Jiuding", FIXED), ("Dongling-sim-jiuding", FIXED)):
    r = c.submit(text, target=target, shots=4000).result(timeout=300)
    physical = [m["physical_qubit"] for m in sorted(r.measurements, key=lambda m: m["cbit"])]
    runs[f"{target}/{'skew' if text is SKEW else 'fixed'}"] = {
        "counts": r.counts, "backend": r.backend, "executed": r.executed_qasm, "measurements": r.measurements,
        "by_qubit": r.counts_by_qubit(physical[::-1]), "z1": r.expectation_z([1])}
out["runs"] = runs
jiuding = c.device("Line10-sim-jiuding")
out["jiuding_device"] = {"name": jiuding.name, "calibration": jiuding.calibration().chip}
print(json.dumps(out, default=str))
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    server: Server = shared_server(tmp_path_factory, request)
    token = new_user_token(server, "quafu-sdk-targets")
    python = client_python("quafu-sdk", "0.2.7", 11)
    return run_client(python, SCENARIO, tmp_path_factory.mktemp("sdk-targets"), server.url, token)


def _gates(qasm: str) -> set[str]:
    body = [line.strip() for line in qasm.splitlines()[2:] if line.strip()]
    # instructions (not gates): scheduling writes idle gaps as delays
    return {re.split(r"[\s(]", line, maxsplit=1)[0] for line in body} - {"qreg", "creg", "measure", "barrier", "delay"}


def test_every_listed_target_has_metadata_of_its_kind(report: dict[str, Any]) -> None:
    rows = {row["name"]: row for row in report["rows"]}
    for chip in ("line10", "dongling", "grid36"):
        assert {chip, f"{chip}-sim", f"{chip}-sim-jiuding"} <= set(rows)
        assert f"{chip}-ideal" not in rows  # listed under Quafu's name only
    meta = report["metadata"]
    assert set(meta) == set(rows)
    assert meta["sim"]["noise"] == "none" and meta["sim"]["basis_gates"] is None and meta["sim"]["device"] is None
    jiuding, twin = meta["dongling-sim-jiuding"], meta["dongling-sim"]
    assert jiuding["noise"] == "none" and jiuding["simulator"] and jiuding["device"] == "dongling"
    assert twin["noise"] == "noise_model" and twin["device"] == "dongling"
    assert jiuding["basis_gates"] == twin["basis_gates"] and jiuding["coupling_map"] == twin["coupling_map"]
    assert jiuding["limits"]["method"] == "statevector" and twin["limits"]["method"] == "noise_model"
    # The SDK reads a Jiuding row's n_qubits as the chip's numbering and max_qubits as the usable width.
    assert rows["dongling-sim-jiuding"]["n_qubits"] == 130 and rows["dongling-sim-jiuding"]["max_qubits"] == 106
    assert all(row["kind"] == "sim" for row in rows.values())
    # device() echoes the name as the SDK lists it, and its calibration is the chip's
    assert report["jiuding_device"] == {"name": "line10-sim-jiuding", "calibration": "line10"}


def test_jiuding_is_exact_and_runs_the_chips_native_gates_on_its_coupling(report: dict[str, Any]) -> None:
    run = report["runs"]["line10-sim-jiuding/skew"]
    counts = run["counts"]
    # Ideal: only q0 == q2 with q1 = 1 ("010", "111" with c0 rightmost), P("111") = 0.2.
    assert set(counts) <= {"010", "111"} and sum(counts.values()) == SHOTS
    p = counts.get("111", 0) / SHOTS
    assert abs(p - P_ONE) < 6 * math.sqrt(P_ONE * (1 - P_ONE) / SHOTS)
    assert run["z1"] == -1.0 and run["backend"] == "line10-sim-jiuding"
    meta = report["metadata"]["line10-sim-jiuding"]
    assert _gates(run["executed"]) <= set(meta["basis_gates"])  # compiled for the chip
    coupled = {tuple(pair) for pair in meta["coupling_map"]}
    for a, b in re.findall(r"^cx q\[(\d+)\],q\[(\d+)\];", run["executed"], flags=re.M):
        assert (int(a), int(b)) in coupled
    # counts_by_qubit over the physical qubits of cbits 2, 1, 0 is the counts themselves.
    assert run["by_qubit"] == counts


def test_deterministic_circuit_is_one_outcome_on_jiuding_and_sim_only(report: dict[str, Any]) -> None:
    runs = report["runs"]
    for key in ("Line10-Sim-Jiuding/fixed", "Dongling-sim-jiuding/fixed"):
        assert runs[key]["counts"] == {"10111": SHOTS}, key
    assert runs["Dongling-sim-jiuding/fixed"]["backend"] == "dongling-sim-jiuding"
    # The noisy twin (by its name or its -sim name) compiles the same way but runs under calibrated noise.
    for key in ("line10/fixed", "line10-sim/fixed"):
        counts = runs[key]["counts"]
        assert max(counts, key=counts.get) == "10111" and len(counts) > 1, key


def test_sim_and_noisy_twin_of_a_probabilistic_circuit(report: dict[str, Any]) -> None:
    ideal = report["runs"]["sim/skew"]["counts"]
    assert set(ideal) <= {"010", "111"}
    assert abs(ideal.get("111", 0) / SHOTS - P_ONE) < 6 * math.sqrt(P_ONE * (1 - P_ONE) / SHOTS)
    noisy = report["runs"]["line10-sim/skew"]["counts"]
    assert set(noisy) - {"010", "111"}  # errors only noise explains
