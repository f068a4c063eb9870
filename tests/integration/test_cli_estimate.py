"""``xihe estimate``, run as a user runs it (a subprocess) against a live server: values and stds printed, exact
values at precision 0 checked against Qiskit's ``Statevector``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from tests.client.live import new_user_token, shared_server
from tests.integration.test_cli_user import xihe
from tests.service.helpers import Server

PROGRAM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
ry(a) q[0];
cx q[0],q[1];
rx(0.4) q[1];
"""
ROW = re.compile(r"^\s*│?\s*(\d+)\s*│\s*([IXYZ]\S*)\s*│\s*(-?[0-9.]+)\s*│\s*([0-9.]+)")


def exact(a: float, label: str) -> float:
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.cx(0, 1)
    qc.rx(0.4, 1)
    return float(Statevector(qc).expectation_value(SparsePauliOp(label)).real)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "cli-estimate-user")


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "ansatz.qasm"
    path.write_text(PROGRAM)
    return path


def test_estimate_prints_a_table_of_values_and_stds(server: Server, token: str, program: Path,
                                                    tmp_path: Path) -> None:
    done = xihe(tmp_path, "estimate", str(program), "-o", "ZZ", "-o", "IZ:0.5,XI:-1", "--bind", "a=0.3",
                "--bind", "a=1.2", "--precision", "0", "--url", server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    rows = [m.groups() for line in done.stdout.splitlines() if (m := ROW.match(line))]
    assert [(b, label) for b, label, _, _ in rows] == [("0", "ZZ"), ("0", "IZ:0.5,XI:-1"), ("1", "ZZ"),
                                                       ("1", "IZ:0.5,XI:-1")]
    for (_binding, label, value, std), a in zip(rows, [0.3, 0.3, 1.2, 1.2], strict=True):
        expected = exact(a, "ZZ") if label == "ZZ" else 0.5 * exact(a, "IZ") - exact(a, "XI")
        assert float(value) == pytest.approx(expected, abs=1e-6) and float(std) == 0.0
    assert "exact" in done.stdout


def test_estimate_json_gives_sampled_values_with_stds(server: Server, token: str, program: Path,
                                                      tmp_path: Path) -> None:
    done = xihe(tmp_path, "estimate", str(program), "-o", "ZZ", "--bind", "a=0.3", "--precision", "0.02",
                "--seed", "4", "--json", "--url", server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    [[value]], [[std]] = answer["values"], answer["stds"]
    assert answer["shots"] == 2500 and 0 < std < 0.03
    assert abs(value - exact(0.3, "ZZ")) <= 5 * std


def test_estimate_errors_are_one_line(server: Server, token: str, program: Path, tmp_path: Path) -> None:
    done = xihe(tmp_path, "estimate", str(program), "-o", "ZZZ", "--bind", "a=0.3", "--url", server.url,
                "--token", token)
    assert done.returncode == 1 and done.stderr.strip().startswith("error:") and "2 letters" in done.stderr


def test_estimate_with_measured_readout_calibration_on_the_twin(server: Server, token: str, program: Path,
                                                                 tmp_path: Path) -> None:
    done = xihe(tmp_path, "estimate", str(program), "-o", "ZZ", "--bind", "a=0.3", "--backend", "line10",
                "--precision", "0.03", "--seed", "2", "--readout", "--readout-calibration", "measured", "--json",
                "--url", server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    [[value]], [[std]] = answer["values"], answer["stds"]
    assert abs(value - exact(0.3, "ZZ")) <= 5 * std + 0.05  # mitigated readout; gate noise stays
    assert answer["readout_mitigated"] and answer["measured_circuits"] == 1 + 2  # one group, two calibrations
