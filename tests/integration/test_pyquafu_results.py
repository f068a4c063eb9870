"""pyquafu 0.4.5's own result paths give the numbers pyquafu's own simulator (or exact values) give (issue 14).

One run of tests/client/pyquafu_issue14_scenarios.py, in pyquafu's venv, against the live server; each test checks
one item of issue 14 in its report. The oracle is never Xihe: ``simulate`` counts, exact expectation values, and the
numbering pyquafu's ``get_chip_info`` computes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.live import new_user_token, run_pyquafu, shared_server
from tests.service.helpers import Server

SCENARIOS = Path(__file__).resolve().parents[1] / "client" / "pyquafu_issue14_scenarios.py"
QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q[0] -> c[0];\n'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


def api(server: Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)


def revoked_token(server: Server) -> str:
    token = new_user_token(server, "quafu-revoked")
    with api(server, token) as client:
        (mine,) = client.get("/tokens").json()
        assert client.delete(f"/tokens/{mine['id']}").status_code == 204
    return token


def other_users_task(server: Server) -> str:
    with api(server, new_user_token(server, "quafu-other")) as client:
        answer = client.post("/jobs", json={"qasm": QASM, "backend": "sim", "shots": 10})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


@pytest.fixture(scope="module")
def report(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    token = new_user_token(server, "quafu-results")
    home = tmp_path_factory.mktemp("pyquafu-results-home")
    return run_pyquafu(SCENARIOS, home, server.url, token, revoked_token(server), other_users_task(server))


def completed(run: dict[str, Any]) -> dict[str, Any]:
    assert "raised" not in run, run
    assert run["status"] == "Completed", run
    return run


def dominant(counts: dict[str, int]) -> str:
    return max(counts, key=lambda k: counts[k])


# --- item 1: compiled circuits (with idle delays) parse in pyquafu's ExecResult ------------------------------------
@pytest.mark.parametrize("backend", ["line10", "dongling"])
def test_send_wait_on_a_twin_with_compile_parses_and_matches_simulate(report: dict[str, Any], backend: str) -> None:
    run = completed(report[f"compiled_{backend}"])
    assert set(run["local"]) == {"011"}
    assert dominant(run["counts"]) == "011" and run["counts"]["011"] > 0.6 * 300  # a noisy twin


def test_user_delays_round_trip_through_pyquafu(report: dict[str, Any]) -> None:
    run = completed(report["user_delay_on_sim"])
    assert run["counts"] == run["local"] == {"10": 50}
    assert run["async_status"] in ("In Queue", "Running", "Completed")
    assert "delay(" in run["openqasm"]


# --- item 2: Task.submit's observables are the exact values ---------------------------------------------------------
def test_submit_observables_on_the_ideal_simulator_are_exact(report: dict[str, Any]) -> None:
    run = report["submit_sim"]
    assert "raised" not in run, run
    assert run["values"][:4] == run["exact"][:4]  # eigenstates: every shot agrees
    assert abs(run["values"][4]) < 0.15  # <Z2> = 0 for |+i>: 2000 shots, > 6 sigma


@pytest.mark.parametrize("scenario", ["submit_line10", "submit_z_on_x0"])
def test_submit_observables_on_a_twin_have_the_exact_signs(report: dict[str, Any], scenario: str) -> None:
    run = report[scenario]
    assert "raised" not in run, run
    for got, exact in zip(run["values"], run["exact"], strict=True):
        assert abs(got - exact) < 0.35, (run["values"], run["exact"])


# --- item 3: counts keyed by the measured bits only, as pyquafu's simulate keys them ----------------------------
def test_partial_measurement_keys_match_simulate(report: dict[str, Any]) -> None:
    run = report["partial_measure"]
    assert "raised" not in run, run
    assert run["one"] == run["one_local"] == {"1": 40}
    assert run["two"] == run["two_local"] == {"01": 40}


# --- item 4: pyquafu's numbering is Xihe's physical numbering -------------------------------------------------------
@pytest.mark.parametrize("backend", ["line10", "dongling"])
def test_get_chip_info_mapping_is_the_physical_numbering(report: dict[str, Any], server: Server, backend: str) -> None:
    seen = report["numbering"]
    assert "raised" not in seen, seen
    mine = seen[backend]
    with api(server, server.token or "") as client:
        native = client.get(f"/backends/{backend}").json()
    coupled = {tuple(sorted(pair)) for pair in native["coupling_map"]}
    assert coupled == {tuple(edge) for edge in mine["edges"]}


@pytest.mark.parametrize("backend", ["line10", "dongling"])
def test_verbatim_circuit_runs_on_the_qubits_pyquafu_names(report: dict[str, Any], backend: str) -> None:
    mine = report["numbering"][backend]
    run = completed(mine["run"])
    a, b = mine["pair"]
    assert set(mine["local"]) == {"11"}
    assert dominant(run["counts"]) == "11" and run["counts"]["11"] > 0.6 * 300
    assert f"q[{a}]" in run["openqasm"] and f"q[{b}]" in run["openqasm"]


# --- item 6: errors on retrieve / get_chip_info are pyquafu's own exceptions -------------------------------------
@pytest.mark.parametrize(("case", "reason"), [
    ("unknown_task", "404"), ("other_users_task", "404"), ("group_with_unknown", "404"),
    ("chip_info_revoked", "401"), ("retrieve_revoked", "401"), ("backend_info_revoked", "401"),
])
def test_errors_pyquafu_does_not_check_become_its_own_exceptions(report: dict[str, Any], case: str,
                                                                 reason: str) -> None:
    error = report["errors"][case]
    assert error["raised"] == "ServerError" and error["is_quafu_error"], error
    assert reason in error["message"]


# --- item 7: what Xihe returns always parses in pyquafu ---------------------------------------------------------
def test_gates_pyquafu_lacks_and_exponent_floats_parse(report: dict[str, Any]) -> None:
    run = report["exotic"]
    assert "raised" not in run, run
    assert completed(run["sim"])["counts"] == run["local"] == {"010": 60}
    assert dominant(completed(run["line10"])["counts"]) == "010"
    queued = run["queued"]
    assert queued["status"] == "In Queue" and queued["gates"]
    assert "sydg" not in queued["openqasm"] and "iswap" not in queued["openqasm"]


# --- item 8: ideal simulation under a name pyquafu sends ---------------------------------------------------------
def test_estimator_reaches_xihe_ideal_simulator(report: dict[str, Any]) -> None:
    run = report["estimator"]
    assert "raised" not in run, run
    assert "sim-ideal" in run["backends"]
    assert run["local"] == pytest.approx(run["exact"]), run
    assert run["remote"] == pytest.approx(run["exact"]), run


# --- item 9: non-finite angles named; pyquafu's mcrx/mcry/mcrz run --------------------------------------------
def test_non_finite_angle_is_named_as_such(report: dict[str, Any]) -> None:
    error = report["non_finite"]
    assert error["raised"] == "CircuitError", error
    assert "inf" in error["message"] and "parameters" not in error["message"]


def test_multi_controlled_rotations_give_exact_probabilities(report: dict[str, Any]) -> None:
    """Gate-table mcrx/mcry/mcrz on the ideal simulator and compiled for line10 (its ideal variant)."""
    run = report["mc_rotations_exact"]
    assert "raised" not in run, run
    p = math.sin(0.55) ** 2
    for key, result in run.items():
        counts = completed(result)["counts"]
        assert set(counts) <= {"110", "111"} and sum(counts.values()) == 4000, key
        assert abs(counts.get("111", 0) / 4000 - p) < 6 * math.sqrt(p * (1 - p) / 4000), key


def test_multi_controlled_rotations_match_simulate(report: dict[str, Any]) -> None:
    run = report["mc_rotations"]
    assert "raised" not in run, run
    for name in ("mcrx", "mcry", "mcrz"):
        assert completed(run[name])["counts"] == run[name]["local"], name
