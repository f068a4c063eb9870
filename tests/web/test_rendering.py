"""The server-side drawings: chip topology, histogram, calibration tables, and session tokens."""

from __future__ import annotations

import itertools
import re

import pytest

import xihe.devices
from xihe.web.calibration import coupler_rows, qubit_rows, summary
from xihe.web.charts import histogram_svg
from xihe.web.sessions import SessionData, SessionSigner
from xihe.web.topology import SPACING, chip_positions, topology_svg


def test_quafu_names_place_qubits_at_their_row_and_column() -> None:
    assert chip_positions(["Q0102", "Q0301", "Q0203"]) == [(1.0, 0.0), (0.0, 2.0), (2.0, 1.0)]
    assert chip_positions([f"q{i}" for i in range(5)]) == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1)]


def test_dongling_drawing_marks_every_dead_qubit_and_coupler() -> None:
    device = xihe.devices.get("dongling")
    svg = topology_svg(device)
    working = re.findall(r'<g class="qubit working" data-qubit="(\d+)"', svg)
    dead = re.findall(r'<g class="qubit dead" data-qubit="(\d+)"', svg)
    assert sorted(map(int, working)) == device.working_qubits and len(dead) == 130 - 106
    assert svg.count('class="coupler working"') == len(device.target.edges)
    assert svg.count('class="coupler dead"') > 0
    # Q0101 is dead and sits top-left; Q0103 (working, #2) two columns to its right.
    q0 = re.search(r'data-qubit="0".*?<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    q2 = re.search(r'data-qubit="2".*?<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert q0 and q2 and float(q2.group(1)) - float(q0.group(1)) == pytest.approx(2 * SPACING)
    assert q0.group(2) == q2.group(2)


def test_colours_follow_the_metric_and_the_layout_is_ringed() -> None:
    device = xihe.devices.get("line10")
    t1 = {int(q): float(v) for q, v in re.findall(r'data-qubit="(\d+)" data-label="\w+" data-value="([\d.e-]+)"',
                                                  topology_svg(device, metric="t1"))}
    assert t1 == pytest.approx({q: device.target.t1[q] / 1e3 for q in device.working_qubits}, rel=1e-5)
    ringed = topology_svg(device, metric="readout", layout=[3, 4])
    assert ringed.count('class="qubit working used"') == 2 and ">q0</text>" in ringed and ">q1</text>" in ringed
    assert ringed.count('class="coupler working used"') == 1 and "Qubits: readout error" in ringed


def test_histogram_bars_carry_counts_and_probabilities() -> None:
    svg = histogram_svg({"11": 480, "00": 520})
    bars = re.findall(r'data-key="(\d+)" data-count="(\d+)" data-probability="([\d.]+)"', svg)
    assert bars == [("00", "520", "0.520000"), ("11", "480", "0.480000")]
    many = histogram_svg({format(i, "08b"): i + 1 for i in range(200)}, max_bars=64)
    assert many.count('class="bar"') == 64 and "136 rarer outcomes not drawn" in many
    assert 'data-key="&lt;x&gt;"' in histogram_svg({"<x>": 1})


def test_a_ghz10_histogram_shows_both_peaks_first_with_labels_apart() -> None:
    noise = {format(1 << i, "010b"): 3 + i for i in range(10)} | {format(3 << i, "010b"): 2 for i in range(9)}
    counts = {"0000000000": 470, "1111111111": 455, **noise}
    svg = histogram_svg(counts)
    keys = re.findall(r'class="bar" data-key="(\d+)"', svg)
    assert keys[:2] == ["0000000000", "1111111111"] and len(keys) == len(counts)
    labels = re.findall(r'<text class="label" x="([\d.]+)"[^>]*font-size="([\d.]+)"', svg)
    centres = [float(x) for x, _ in labels]
    sizes = {float(size) for _, size in labels}
    assert len(labels) == len(counts) and len(sizes) == 1
    assert min(b - a for a, b in itertools.pairwise(centres)) >= sizes.pop()  # one line per pitch
    width = float(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    assert width <= 720  # no horizontal scroll on a desktop card


def test_calibration_rows_cover_dead_and_working_parts() -> None:
    device = xihe.devices.get("dongling")
    rows = qubit_rows(device.calibration.data, device.target)
    couplers = coupler_rows(device.calibration.data)
    stats = summary(rows, couplers)
    assert stats["working"] == 106 and stats["dead"] == 24 and stats["couplers"] == len(device.target.edges)
    # pyquafu's numbering: Q0103 (the lowest-numbered qubit of a working coupler) is 0; dead Q0101 comes later.
    dead = device.target.labels.index("Q0101")
    assert rows[0].label == "Q0103" and rows[0].t1_us == pytest.approx(65.33) and rows[dead].working is False
    only = qubit_rows(device.calibration.data, device.target, only=[0, 1])
    assert [r.index for r in only] == [0, 1]
    assert [c.pair for c in coupler_rows(device.calibration.data, only=[0, 1])] == ["Q0103_Q0104"]


def test_session_tokens_resist_forgery_and_expire() -> None:
    signer = SessionSigner(lambda: b"key-one" * 4)
    token = signer.dumps(SessionData(sid="s", user_id=3, expires=100.0, csrf="c", password_tag="p"))
    assert signer.loads(token, now=99.0) == SessionData("s", 3, 100.0, "c", "p")
    assert signer.loads(token, now=100.0) is None
    assert SessionSigner(lambda: b"key-two" * 4).loads(token, now=1.0) is None
    for broken in ("", ".", "abc", token + "x", "x" + token, token.replace(".", "")):
        assert signer.loads(broken, now=1.0) is None


def _legend_ends(svg: str) -> list[str]:
    return re.findall(r'<text x="(?:0|150|180|330)" y="40"[^>]*>([^<]+)', svg)


def test_colour_scales_keep_an_absolute_meaning() -> None:
    line10 = xihe.devices.get("line10")
    svg = topology_svg(line10, metric="t1")
    fidelities = [float(f) for f in re.findall(r'data-fidelity="([\d.]+)"', svg)]
    assert min(fidelities) == pytest.approx(0.990)
    worst = re.search(r'data-fidelity="0.9900"[^>]*stroke="(#[0-9a-f]{6})"', svg)
    assert worst is not None
    red, green = (int(worst.group(1)[k:k + 2], 16) for k in (1, 3))
    assert green > red  # a 0.990 coupler is good, drawn on the green side, not red
    assert _legend_ends(svg)[2:] == ["0.9500", "0.9990"]
    uniform = topology_svg(line10, metric="error_1q")  # every qubit has the file's default 1q error, 0.001
    assert 'class="uniform"' in uniform and "all 0.0010" in uniform
    assert _legend_ends(uniform)[:2] == ["0.0005", "0.0100"]
