"""Backend system pages: headline figures, the chip coloured by every calibrated figure, the qubit/coupler panel
with calibration history plots, and the admin's characterize button."""

from __future__ import annotations

import copy
import re
import statistics
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

import xihe.devices
from tests.web.conftest import Site, page_csrf
from xihe.service.models import Job
from xihe.service.repositories import calibrations
from xihe.web.topology import METRICS


def _figure(page: str, key: str) -> str:
    match = re.search(rf'data-figure="{key}"><dt>[^<]+</dt><dd>([^<]+)</dd>', page)
    assert match, key
    return match.group(1)


def test_headline_figures_are_the_chips_medians(alice: TestClient) -> None:
    device = xihe.devices.get("dongling")
    page = alice.get("/backends/dongling").text
    t1 = statistics.median(device.target.t1[q] / 1e3 for q in device.working_qubits)
    assert _figure(page, "t1") == f"{t1:.1f} µs"
    two_q = statistics.median(device.target.two_qubit_error(a, b) for a, b in device.target.edges)
    assert _figure(page, "error_2q") == f"{two_q:.2e}"
    assert _figure(page, "qubits") == "106 of 130" and _figure(page, "status") == "online"
    assert _figure(page, "qv") == "n/a"  # never characterized: said, not invented


@pytest.mark.parametrize("metric", list(METRICS))
def test_the_chip_can_be_coloured_by_every_calibrated_figure(alice: TestClient, metric: str) -> None:
    page = alice.get(f"/backends/line10?metric={metric}").text
    assert f"Qubits: {METRICS[metric]}".replace("µ", "µ") in page
    values = [float(v) for v in re.findall(r'class="qubit working" data-qubit="\d+" data-label="\w+" '
                                           r'data-value="([\d.e-]+)"', page)]
    assert len(values) == 10
    ends = re.findall(r'<text x="(?:0|150)" y="40"[^>]*>([\d.]+)</text>', page)
    low, high = float(ends[0]), float(ends[1])
    assert low <= min(values) + 1e-4 and high >= max(values) - 1e-4  # the scale covers the data


def test_qubit_panel_shows_figures_now_and_their_history(site: Site, alice: TestClient) -> None:
    device = xihe.devices.get("line10")
    base = list(device.history)[-1]
    with site.database.write() as session:  # two later calibrations in which Q3's T1 drifts down
        for step, t1 in ((1, 40.0), (2, 20.0)):
            data = copy.deepcopy(base.data)
            label = device.target.labels[3]
            data["qubits_info"][label]["T1"] = t1
            calibrations.record_snapshot(session, "line10", f"line10-drift-{step}", "test",
                                         base.time + timedelta(days=step), data)
    panel = alice.get("/backends/line10/qubits/3")
    assert panel.status_code == 200 and "<html" not in panel.text  # a fragment
    assert "Calibration history (3 snapshots)" in panel.text
    t1_plot = panel.text.split('data-figure="T1 (µs)"')[1].split("</figure>")[0]
    points = [float(v) for v in re.findall(r'class="point"[^>]*data-value="([\d.e+-]+)"', t1_plot)]
    assert points[1:] == [40.0, 20.0] and len(points) == 3
    assert "T2 echo (µs)" in panel.text and "Coupled to" in panel.text
    coupler = alice.get("/backends/line10/couplers/3-4")
    assert coupler.status_code == 200 and "2q gate fidelity" in coupler.text and 'class="point"' in coupler.text
    assert alice.get("/backends/line10/qubits/99").status_code == 404
    assert alice.get("/backends/line10/couplers/0-5").status_code == 404
    assert alice.get("/backends/sim/qubits/0").status_code == 404


def test_only_an_admin_can_start_a_characterization(site: Site, alice: TestClient, bob: TestClient) -> None:
    page = alice.get("/backends/line10").text
    assert 'id="characterize-now"' in page and 'id="characterize-now"' not in bob.get("/backends/line10").text
    refused = bob.post("/backends/line10/characterize", data={"csrf_token": page_csrf(bob), "suite": "quick"})
    assert refused.status_code == 403
    stale = alice.post("/backends/line10/characterize", data={"csrf_token": "nope", "suite": "quick"})
    assert stale.status_code == 403
    response = alice.post("/backends/line10/characterize", data={"csrf_token": page_csrf(alice), "suite": "quick"},
                          follow_redirects=False)
    assert response.status_code == 303
    job_id = response.headers["location"].rsplit("/", 1)[1]
    with site.database.write() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.kind == "characterize" and job.backend == "line10"
        assert job.payload["suite"] == "quick"
        job.status = "CANCELLED"  # not run here: the suite is characterization's own test


def test_status_changes_make_the_status_history(alice: TestClient) -> None:
    assert "no operator has changed its status" in alice.get("/backends/grid36").text
    csrf = page_csrf(alice, "/admin")
    for status in ("maintenance", "online"):
        response = alice.post("/admin/backends/grid36/status", data={"status": status, "csrf_token": csrf},
                              follow_redirects=False)
        assert response.status_code == 303
    page = alice.get("/backends/grid36").text
    history = page.split('id="status-history"')[1].split("</section>")[0]
    assert re.findall(r'<span class="badge status-(\w+)">', history) == ["online", "maintenance"]
    assert "so far" in history and _figure(page, "status") == "online"
