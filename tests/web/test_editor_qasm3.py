"""The web editor takes OpenQASM 3 as it takes OpenQASM 2 (issue 15): a dynamic program is checked, drawn with its
blocks, and its errors come back with line and column."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient

from tests.web.test_pages import validate

DYNAMIC = ('OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[2] c;\nqubit[2] q;\nh q[0];\nc[0] = measure q[0];\n'
           "if (c[0]) {\n  x q[1];\n} else {\n  h q[1];\n}\nfor int i in [0:2] {\n  rz(0.1 * i) q[0];\n}\n"
           "c[1] = measure q[1];\n")


def test_editor_checks_and_draws_an_openqasm3_dynamic_program(alice: TestClient) -> None:
    answer = validate(alice, DYNAMIC)
    assert answer["ok"] is True and answer["error"] is None, answer
    assert answer["stats"]["qubits"] == 2 and answer["stats"]["clbits"] == 2
    assert "if c[0]==1 (else)" in html.unescape(answer["svg"])


def test_editor_reports_openqasm3_block_errors_with_line_and_column(alice: TestClient) -> None:
    answer = validate(alice, DYNAMIC.replace("if (c[0]) {", "if (c[0] == 3) {"))
    assert answer["ok"] is False
    assert answer["error"]["line"] == 7 and answer["error"]["column"] == 13
    assert "0 or 1" in answer["error"]["message"]


def test_editor_checks_a_block_s_gates_against_a_verbatim_backend(alice: TestClient) -> None:
    answer = validate(alice, DYNAMIC, backend="line10", compile=False)
    assert answer["ok"] is False and "gate 'x' on qubits (1,) is not native" in str(answer["backend_error"])
    assert validate(alice, DYNAMIC, backend="line10")["ok"] is True  # compiled, the blocks are made native
