"""The composer's JSON helper: the grid's operations and exact ideal probabilities from the server's engine,
bounded, CSRF-checked and rate limited by the user's API bucket."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from tests.web.conftest import Site, page_csrf
from tests.web.test_pages import validate
from xihe.service.repositories import users

HEAD = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


def _state(client: TestClient, qasm: str, csrf: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf if csrf is not None else page_csrf(client, "/composer")
    return client.post("/composer/state", json={"qasm": qasm}, headers={"X-CSRF-Token": token})


def test_the_page_offers_the_grid_and_submits_through_the_editor(alice: TestClient) -> None:
    page = alice.get("/composer").text
    assert 'id="grid"' in page and 'action="/editor/submit"' in page and 'data-gate="cx"' in page


def test_probabilities_are_exact_and_match_qiskit(alice: TestClient) -> None:
    program = HEAD + "qreg q[3];\ncreg c[3];\nh q[0];\nry(0.7) q[1];\ncx q[0],q[2];\ncz q[1],q[2];\n"
    answer = _state(alice, program).json()
    assert answer["ok"] and answer["representable"] and answer["num_qubits"] == 3
    assert [op["name"] for op in answer["ops"]] == ["h", "ry", "cx", "cz"]
    assert answer["ops"][2]["qubits"] == [0, 2] and answer["ops"][1]["params"] == ["0.7"]
    assert "no measurement yet" in answer["over"]
    assert answer["measures"] is False  # the page warns: a job without measurements is refused (422)
    oracle = Statevector(QuantumCircuit.from_qasm_str(program)).probabilities_dict()
    expected = {key[::-1]: p for key, p in oracle.items() if p > 1e-12}  # q[0] leftmost, as Xihe's keys
    got = {item["outcome"]: item["probability"] for item in answer["probabilities"]}
    assert got == pytest.approx(expected, abs=1e-9)
    measured = _state(alice, program + "measure q[0] -> c[0];\nmeasure q[2] -> c[1];\n").json()
    assert measured["over"].startswith("measured bits") and measured["measures"] is True
    # c[2] is never written: it stays 0
    assert {item["outcome"][2] for item in measured["probabilities"]} == {"0"}


def test_programs_the_grid_cannot_show_are_kept_as_text(alice: TestClient) -> None:
    custom = HEAD + "gate bell a,b { h a; cx a,b; }\nqreg q[2];\ncreg c[2];\nbell q[0],q[1];\n"
    answer = _state(alice, custom).json()
    assert answer["ok"] and not answer["representable"] and "defines its own gate 'bell'" in answer["why"]
    assert len(answer["probabilities"]) == 2  # still simulated
    conditioned = HEAD + "qreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\nif(c==1) x q[0];\n"
    assert "conditioned" in _state(alice, conditioned).json()["why"]
    broken = _state(alice, HEAD + "qreg q[2];\nh q[5];\n").json()
    assert not broken["ok"] and broken["error"]["line"] == 4


def test_the_helper_is_bounded_checked_and_rate_limited(site: Site, alice: TestClient, bob: TestClient) -> None:
    wide = _state(alice, HEAD + "qreg q[13];\nh q;\n").json()
    assert not wide["ok"] and "13" in wide["error"]["message"]
    assert _state(alice, HEAD + "qreg q[1];\n", csrf="stale").status_code == 403
    with site.database.write() as session:
        account = users.get_user_by_name(session, "bob")
        assert account is not None
        account.rate_limit_per_second = 0.001  # a burst of one, then a long wait
    csrf = page_csrf(bob, "/composer")
    codes = [_state(bob, HEAD + "qreg q[1];\n", csrf=csrf).status_code for _ in range(3)]
    assert codes[0] == 200 and 429 in codes[1:]


def test_a_name_that_is_no_number_is_an_error_at_its_place_not_valid(alice: TestClient) -> None:
    """``rx(banana)`` (or a typo such as ``rx(tehta)``) parses as a free parameter, which a job from the web pages
    can never bind: the composer said "Valid" and the editor "Valid OpenQASM 2.0 for sim.", both with Submit
    enabled, and the submit was refused with "give values in 'parameters'", a field these pages do not have."""
    program = HEAD + "qreg q[2];\ncreg c[2];\nh q[1]; // banana\nrx(pi/2 + banana) q[0];\nmeasure q -> c;\n"
    composed = _state(alice, program).json()
    assert not composed["ok"]
    assert composed["error"]["line"] == 6 and composed["error"]["column"] == 11, composed["error"]
    assert composed["error"]["message"].startswith("'banana' is not a number")
    checked = validate(alice, program)
    assert not checked["ok"] and checked["error"] == composed["error"]
