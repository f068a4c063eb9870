"""Performance documents, headline figures, history series and the periodic schedule, from stored suite results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from xihe.characterize.performance import (
    due_for_characterization,
    estimate_series,
    headline,
    latest,
    performance_document,
    summary_series,
)


def _doc(time: str, qv: int, t1: float) -> dict:
    return {
        "backend": "line10", "suite": "standard", "qubits": [1, 2], "time": time, "calibration_id": "c1", "seed": 1,
        "summary": {"quantum_volume": qv, "t1_us": t1, "readout_error": 0.03},
        "results": [
            {"experiment": "t1", "qubits": [1, 2], "time": time, "metadata": {},
             "estimates": {"t1[1]": {"value": t1, "stderr": 1.0, "ci95": [t1 - 2, t1 + 2], "unit": "us"}}},
            {"experiment": "quantum_volume", "qubits": [0, 1], "time": time, "metadata": {"n": 2},
             "estimates": {}},
        ],
    }


def test_headline_and_document_come_from_the_latest_run() -> None:
    docs = [_doc("2026-01-02T00:00:00+00:00", 8, 30.0), _doc("2026-01-01T00:00:00+00:00", 4, 28.0)]
    newest = latest(docs)
    assert newest is not None and newest["summary"]["quantum_volume"] == 8
    assert headline(newest) == {"quantum_volume": 8, "readout_error": 0.03, "t1_us": 30.0,
                                "time": "2026-01-02T00:00:00+00:00"}
    assert headline(None) == {}
    body = performance_document(newest, docs)
    assert set(body["experiments"]) == {"t1", "quantum_volume[n=2]"}
    assert [p["value"] for p in body["history"]["t1_us"]] == [28.0, 30.0]


def test_series_are_oldest_first_with_intervals() -> None:
    docs = [_doc("2026-01-02T00:00:00+00:00", 8, 30.0), _doc("2026-01-01T00:00:00+00:00", 4, 28.0)]
    assert summary_series(docs, "quantum_volume") == [("2026-01-01T00:00:00+00:00", 4.0),
                                                      ("2026-01-02T00:00:00+00:00", 8.0)]
    assert estimate_series(docs, "t1", "t1[1]")[0] == ("2026-01-01T00:00:00+00:00", 28.0, 26.0, 30.0)


def test_only_online_chips_past_their_interval_are_due() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    fleet = [SimpleNamespace(name="sim", kind="simulator", status="online"),
             SimpleNamespace(name="line10", kind="twin", status="online"),
             SimpleNamespace(name="dongling", kind="twin", status="online"),
             SimpleNamespace(name="grid36", kind="twin", status="maintenance"),
             SimpleNamespace(name="fresh", kind="twin", status="online")]
    last = {"line10": now - timedelta(hours=7), "fresh": now - timedelta(hours=1)}
    assert due_for_characterization(fleet, last, now, timedelta(hours=6)) == ["line10", "dongling"]
    assert due_for_characterization(fleet, last, now, timedelta(0)) == []
