"""quafusqc 3.3.9's Task ``options`` through the real client: each honoured or refused by name.

``correct`` is honoured (a ``corrected`` distribution with the calibration's readout confusion inverted); the
oracle is the exact outcome of circuits whose only error on the twin is readout (measuring |00>) or nearly so
(one ``x``). ``open_dd`` is honoured (a Ramsey circuit's idle window is decoupled: far less dephasing).
``compiler`` other than the platform's own, an unknown ``open_dd``, ``target_qubits`` and unknown keys are refused
with a message naming the option; quafusqc returns such an error object from ``run`` as it is.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.client.live import new_user_token, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import Server

SHOTS = 8192

SCENARIO = r'''
import json, sys
from quafu import Task

url, token = sys.argv[1], sys.argv[2]
Task.URL = url
t = Task(token)
HEAD = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
MEASURE = 'measure q[0] -> c[0];\nmeasure q[1] -> c[1];\n'
DEFAULTS = {"compiler": "quarkcircuit", "correct": True, "open_dd": None, "target_qubits": []}
out = {}
for label, chip, body in (("zero", "line10", HEAD + MEASURE), ("one", "line10", HEAD + "x q[0];\n" + MEASURE),
                          ("sim", "sim", HEAD + "x q[0];\n" + MEASURE)):
    tid = t.run({"chip": chip, "name": label, "circuit": body, "shots": 8192, "options": DEFAULTS})
    out[label] = t.result(tid, timeout=300)
# A verbatim Ramsey circuit on line10's qubit 5 with an 8 us idle window: XY4 in it keeps the phase (T2echo).
RAMSEY = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[10];\ncreg c[1];\nrx(pi/2) q[5];\ndelay(8000ns) q[5];\n'
          'rx(-pi/2) q[5];\nmeasure q[5] -> c[0];\n')
for dd in (None, "XY4"):
    tid = t.run({"chip": "line10", "circuit": RAMSEY, "shots": 4000, "compile": False, "options": {"open_dd": dd}})
    out[f"ramsey_{dd}"] = t.result(tid, timeout=300)
plain = t.run({"chip": "sim", "circuit": HEAD + MEASURE, "options": {"compiler": None, "correct": False}})
out["plain"] = t.result(plain, timeout=300)
refused = {}
for label, options in (("qiskit", {"compiler": "qiskit"}), ("qsteed", {"compiler": "qsteed"}),
                       ("dd", {"open_dd": "UDD"}), ("placed", {"target_qubits": [1, 2]}),
                       ("unknown", {"turbo": True}), ("correct_word", {"correct": "yes"}),
                       ("not_object", [1, 2])):
    refused[label] = t.run({"chip": "sim", "circuit": HEAD + MEASURE, "options": options})
out["refused"] = refused
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    server: Server = shared_server(tmp_path_factory, request)
    token = new_user_token(server, "sqc-options")
    python = client_python("quafusqc", "3.3.9", 12)
    return run_client(python, SCENARIO, tmp_path_factory.mktemp("sqc-options"), server.url, token)


def test_correct_inverts_the_twins_readout_confusion(report: dict[str, Any]) -> None:
    zero = report["zero"]
    assert zero["status"] == "Finished" and zero["options"] == {"correct": True}
    assert zero["count"]["00"] < SHOTS and sum(zero["count"].values()) == SHOTS  # readout errors are there
    corrected = zero["corrected"]
    assert math.isclose(sum(corrected.values()), SHOTS) and all(v >= 0 for v in corrected.values())
    # |00> measured: readout is the only error, so the corrected distribution is |00> up to sampling noise.
    assert corrected["00"] > zero["count"]["00"] and SHOTS - corrected["00"] < 6 * math.sqrt(SHOTS * 0.06)
    one = report["one"]
    assert one["corrected"]["01"] > one["count"]["01"]  # x q[0]: "01" (c0 rightmost), raised by the correction
    assert SHOTS - one["corrected"]["01"] < 0.02 * SHOTS  # what is left is the x gate's and relaxation's error


def test_correct_on_a_noiseless_backend_changes_nothing(report: dict[str, Any]) -> None:
    sim = report["sim"]
    assert sim["count"] == {"01": SHOTS} and sim["corrected"] == {"01": float(SHOTS)}
    assert "corrected" not in report["plain"] and report["plain"]["count"] == {"00": 1024}


def test_open_dd_decouples_the_idle_window(report: dict[str, Any]) -> None:
    bare, decoupled = report["ramsey_None"], report["ramsey_XY4"]
    assert bare["status"] == decoupled["status"] == "Finished" and decoupled["options"] == {"open_dd": "XY4"}
    # Back to |0> but for dephasing: without decoupling T2* (8.9 us) loses far more than T2echo (36.6 us) with XY4.
    assert decoupled["count"].get("1", 0) / 4000 < bare["count"].get("1", 0) / 4000 - 0.1
    assert decoupled["transpiled"].count("q[5]") > bare["transpiled"].count("q[5]")  # the pulses that ran


def test_options_xihe_does_not_offer_are_refused_by_name(report: dict[str, Any]) -> None:
    refused = report["refused"]
    for label, word in (("qiskit", "compiler"), ("qsteed", "compiler"), ("dd", "open_dd"),
                        ("placed", "target_qubits"), ("unknown", "turbo"), ("correct_word", "correct"),
                        ("not_object", "options")):
        assert isinstance(refused[label], dict) and word in refused[label]["error"], (label, refused[label])
        assert "unsupported_option" in refused[label]["error"]
