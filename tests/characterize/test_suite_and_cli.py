"""Suites planned from a device, the CLI command, stored-result round trips and SVG figures."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from xihe import devices
from xihe.characterize import plots
from xihe.characterize.coherence import T1
from xihe.characterize.experiment import ExperimentResult
from xihe.characterize.performance import performance_document
from xihe.characterize.rb import RandomizedBenchmarking
from xihe.characterize.suite import SuiteResult, choose_region, plan_suite, run_suite
from xihe.cli import app

from .helpers import bit_result


def test_region_is_a_coupled_path_of_working_qubits() -> None:
    device = devices.get("dongling")
    region = choose_region(device, 4)
    pairs = {frozenset(p) for p in device.coupling_map}
    assert len(set(region)) == 4 and all(q in device.working_qubits for q in region)
    assert all(frozenset((a, b)) in pairs for a, b in itertools.pairwise(region))
    assert choose_region(devices.get("sim"), 3) == [0, 1, 2]


def test_standard_suite_on_a_twin_has_every_experiment() -> None:
    planned = plan_suite(devices.get("line10"), "standard", seed=1)
    names = [e.name for e, _ in planned.experiments]
    for name in ("readout", "t1", "t2_ramsey", "t2_echo", "rb", "interleaved_rb", "quantum_volume"):
        assert name in names
    assert 9 not in planned.qubits  # qubit 9 (Q0101) has no working coupler on line10


def test_clifford_backend_suite_runs_in_h_s_words_without_quantum_volume() -> None:
    device = devices.get("sim-clifford")
    planned = plan_suite(device, "quick", seed=2)
    assert "quantum_volume" not in [e.name for e, _ in planned.experiments]
    result = planned.run(_runner(device), seed=2)
    assert not result.errors
    assert result.summary["readout_error"] == 0.0
    assert result.summary["epg_1q"] < 1e-6  # ideal: no decay


def _runner(device):  # type: ignore[no-untyped-def]
    from xihe.characterize.runners import device_runner

    return device_runner(device)


def test_cli_runs_a_suite_and_writes_json_and_svg(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["characterize", "sim", "--suite", "quick", "--qubits", "0,1",
                                   "--output", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "quantum volume" in out.output
    stored = SuiteResult.from_dict(json.loads((tmp_path / "suite.json").read_text()))
    assert stored.backend == "sim" and stored.summary["quantum_volume"] >= 4
    svgs = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert "sim-readout.svg" in svgs and "sim-quantum_volume.svg" in svgs
    assert all((tmp_path / name).read_text().lstrip().startswith("<?xml") for name in svgs)


def test_cli_reports_an_unknown_backend() -> None:
    out = CliRunner().invoke(app, ["characterize", "nowhere"])
    assert out.exit_code == 1
    assert "unknown backend" in out.output


def test_figures_are_drawn_from_the_stored_dict(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    t1 = T1([0], expected_ns=20_000)
    t1_result = t1.analyse([bit_result(0.95 * math.exp(-t / 20_000), 500, rng) for t in t1.delays_ns])
    rb = RandomizedBenchmarking([0], lengths=[1, 10, 50, 100, 200], samples=3, seed=1)
    circuits = rb.circuits()
    rb_result = rb.analyse([bit_result(1 - (0.5 * 0.99**m + 0.5), 300, rng) for _, m, _ in rb.layout], circuits)
    for result in (t1_result, rb_result):
        stored = json.loads(json.dumps(result.to_dict()))
        assert ExperimentResult.from_dict(stored).estimates == result.estimates
        text = plots.svg(stored, backend="test")
        assert text.lstrip().startswith("<?xml") and "<svg" in text
    path = plots.save_svg(t1_result, tmp_path / "t1.svg")
    assert path.stat().st_size > 1000
    history = plots.history_svg([("2026-01-01T00:00:00", 20.0, 19.0, 21.0), ("2026-01-02T00:00:00", 21.0, 20.0, 22.5)],
                                "T1", "µs")
    assert "<svg" in history


def test_run_suite_records_calibration_and_seed() -> None:
    result = run_suite(devices.get("sim"), "quick", seed=4, qubits=[0, 1])
    assert result.seed == 4 and result.calibration_id == devices.get("sim").calibration.id
    assert result.to_dict()["summary"] == result.summary
    body = performance_document(json.loads(json.dumps(result.to_dict())))
    assert body["summary"]["quantum_volume"] >= 4 and "readout" in body["experiments"]
    assert json.loads(json.dumps(body)) == body
