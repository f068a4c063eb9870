"""What a page, the API, the CLI and the SDK say about a backend matches what it does (new user's reports).

``sim-clifford`` lists the Clifford gates of the gate table (not "any gate"); an ideal ``sim`` job's page has no
stale-calibration warning (no chip); default-filled readout errors are marked on the calibration tables.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.client.live import new_user_token, shared_server
from tests.service.helpers import Server, run_xihe
from tests.web.conftest import Site
from tests.web.test_pages import submit
from xihe import devices
from xihe.circuit import gate_specs
from xihe.client import Client
from xihe.devices.defaults import OVERRIDES_ENV
from xihe.devices.quafu import labels as chip_labels
from xihe.devices.registry import twin_from_chip_info
from xihe.web import calibration as calibration_table

CLIFFORD = sorted(name for name, spec in gate_specs().items() if spec.clifford)


def test_the_clifford_set_is_a_proper_part_of_the_table() -> None:
    assert {"h", "s", "cx", "cz"} <= set(CLIFFORD) and not {"t", "ccx", "rx"} & set(CLIFFORD)


def test_backends_page_lists_sim_cliffords_gates_not_any_gate(alice: TestClient) -> None:
    page = alice.get("/backends").text
    row = page.split('data-backend="sim-clifford"')[1].split("</tr>")[0]
    gates = re.search(r'<td class="gates">([^<]*)</td>', row)
    assert gates is not None and "any gate" not in gates.group(1)
    shown = [g.strip() for g in gates.group(1).split(",")]
    assert shown[:12] == CLIFFORD[:12] and shown[-1] == f"… {len(CLIFFORD) - 12} more"
    detail = alice.get("/backends/sim-clifford").text
    assert "any gate" not in detail and "native gates " + ", ".join(shown) in detail
    assert ">t," not in detail and " t," not in detail


def test_an_ideal_sim_job_has_no_calibration_age_warning(site: Site, alice: TestClient) -> None:
    job_id = submit(alice, name="ideal")
    site.run_jobs()
    page = alice.get(f"/jobs/{job_id}").text
    assert 'data-status="DONE"' in page
    # sim's snapshot is dated 2026-01-01, far older than the staleness limit, yet no chip's noise is emulated.
    assert 'id="calibration-age"' not in page and "days old" not in page
    twin = submit(alice, backend="line10", shots="100")
    site.run_jobs()
    assert 'id="calibration-age"' in alice.get(f"/jobs/{twin}").text  # a twin still warns


def test_default_filled_readout_errors_are_marked(site: Site, alice: TestClient) -> None:
    page = alice.get("/backends/dongling").text
    table = page.split('id="calibration-qubits"')[1].split("</table>")[0]
    cells = re.findall(r'<td class="num( default)?">(\d\.\d{4})(<abbr class="default"[^>]*>\*</abbr>)?</td>', table)
    # Each working qubit's readout (the documented model of its own numbers, not one constant) is marked ...
    target = devices.get("dongling").target
    expected = sorted(f"{sum(target.readout_error[q]) / 2:.4f}" for q in target.working_qubits)
    marked = [c for c in cells if c[0]]
    assert sorted(c[1] for c in marked) == expected and all(c[2] for c in marked)
    assert len(set(expected)) > 50  # per qubit, not one default for all
    assert 'id="readout-default-note"' in page and 'id="readout-summary-default"' in page
    # ... and T1 and the other file figures are measured, not marked (every marked cell is a readout error).
    job_id = submit(alice, backend="dongling", shots="100")
    site.run_jobs()
    job_page = alice.get(f"/jobs/{job_id}").text
    assert job_page.count('<abbr class="default" title="default: the chip file') == 2
    assert 'id="readout-default-note"' in job_page


def test_an_operators_per_qubit_readout_is_not_marked_default(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    data = devices.get("line10").calibration.data
    label = chip_labels(data)[3]
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"line10": {"readout_error": {label: [0.01, 0.03]}}}))
    monkeypatch.setenv(OVERRIDES_ENV, str(overrides))
    twin = twin_from_chip_info("line10", data)
    rows = calibration_table.qubit_rows(data, twin.target, defaults=twin.defaults)
    assert [r.index for r in rows if not r.readout_default] == [3]
    assert rows[3].readout_error == pytest.approx(0.02)
    assert rows[0].readout_error == pytest.approx(sum(twin.target.readout_error[0]) / 2)
    assert not any(r.readout_default for r in calibration_table.qubit_rows(data, twin.target))  # no defaults given


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


def test_api_client_and_cli_report_sim_cliffords_gate_set(server: Server) -> None:
    token = new_user_token(server, "clifford-gates")
    with Client(url=server.url, token=token) as client:
        listed = {b.name: b for b in client.backends()}
        detail = client.backend("sim-clifford")
    assert list(listed["sim-clifford"].native_gates) == CLIFFORD and list(detail.native_gates) == CLIFFORD
    assert "t" in listed["sim"].native_gates  # the ideal statevector simulator does take every gate
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    raw = json.loads(run_xihe("backends", "--json", "--url", server.url, "--token", token, env=env))
    assert next(b for b in raw if b["name"] == "sim-clifford")["native_gates"] == CLIFFORD
    table = run_xihe("backends", "--url", server.url, "--token", token, env=env | {"COLUMNS": "200"})
    line = next(row for row in table.splitlines() if "sim-clifford" in row)
    assert f"{len(CLIFFORD)} gates" in line and f"{len(gate_specs())} gates" not in line


def test_a_readout_the_chip_file_gives_is_not_marked_default() -> None:
    data = json.loads(json.dumps(devices.get("line10").calibration.data))
    label = chip_labels(data)[2]
    data["qubits_info"][label].update({"readout_fidelity_0": 0.97, "readout_fidelity_1": 0.91})
    twin = twin_from_chip_info("line10", data)
    rows = calibration_table.qubit_rows(data, twin.target, defaults=twin.defaults)
    assert rows[2].readout_error == pytest.approx(0.06) and not rows[2].readout_default
    assert rows[3].readout_default
