"""A backend's performance as the API and dashboard show it, from stored suite results; and when to run again.

The service stores each :class:`~xihe.characterize.suite.SuiteResult` as its ``to_dict()`` JSON (with its time and
calibration id). This module turns those stored documents into what ``/api/v1/backends/{name}/performance`` returns,
the headline figures of the backend list (latest quantum volume and median errors), history series for plots
(:func:`xihe.characterize.plots.history_svg`), and the periodic schedule: which emulated chips are due for a run.
No storage or web code here: plain dicts in, plain dicts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

#: Headline keys of the backend list, in display order, with their units.
HEADLINE = (("quantum_volume", ""), ("readout_error", ""), ("epg_1q", ""), ("gate_error_2q", ""),
            ("t1_us", "us"), ("t2_echo_us", "us"))


def _time(document: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(document["time"]))


def latest(documents: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The most recent stored suite result, or ``None``."""
    docs = list(documents)
    return max(docs, key=_time) if docs else None


def headline(document: Mapping[str, Any] | None) -> dict[str, Any]:
    """Latest quantum volume and median errors for the backend list (empty when never characterized)."""
    if document is None:
        return {}
    summary = document.get("summary", {})
    out = {key: summary[key] for key, _ in HEADLINE if key in summary}
    out["time"] = document["time"]
    return out


def performance_document(document: Mapping[str, Any], history_documents: Sequence[Mapping[str, Any]] = ()
                         ) -> dict[str, Any]:
    """The body of ``GET /backends/{name}/performance``: the latest run's figures and each headline's history."""
    experiments = {}
    for r in document.get("results", []):
        name = r["experiment"] + (f"[n={r['metadata']['n']}]" if r["experiment"] == "quantum_volume" else "")
        experiments[name] = {"qubits": r["qubits"], "estimates": r["estimates"], "time": r.get("time")}
    docs = list(history_documents) or [document]
    return {
        "backend": document["backend"],
        "suite": document["suite"],
        "time": document["time"],
        "calibration_id": document.get("calibration_id"),
        "qubits": document["qubits"],
        "seed": document.get("seed"),
        "summary": document.get("summary", {}),
        "experiments": experiments,
        "errors": document.get("errors", {}),
        "history": {key: [{"time": t, "value": v} for t, v in summary_series(docs, key)]
                    for key, _ in HEADLINE},
    }


def summary_series(documents: Iterable[Mapping[str, Any]], key: str) -> list[tuple[str, float]]:
    """``(time, value)`` of one summary figure over stored runs, oldest first."""
    out = []
    for doc in sorted(documents, key=_time):
        value = doc.get("summary", {}).get(key)
        if isinstance(value, int | float):
            out.append((str(doc["time"]), float(value)))
    return out


def estimate_series(documents: Iterable[Mapping[str, Any]], experiment: str,
                    estimate: str) -> list[tuple[str, float, float, float]]:
    """``(time, value, ci_low, ci_high)`` of one estimate (e.g. ``"t1"``, ``"t1[3]"``) over stored runs.

    The shape :func:`xihe.characterize.plots.history_svg` draws.
    """
    out = []
    for doc in sorted(documents, key=_time):
        for r in doc.get("results", []):
            if r["experiment"] == experiment and estimate in r["estimates"]:
                e = r["estimates"][estimate]
                out.append((str(doc["time"]), float(e["value"]), float(e["ci95"][0]), float(e["ci95"][1])))
    return out


def due_for_characterization(devices: Iterable[Any], last_runs: Mapping[str, datetime], now: datetime,
                             interval: timedelta) -> list[str]:
    """Names of the online emulated or real chips whose last run is older than ``interval`` (or never ran).

    Simulators are left out: an ideal backend's figures do not change.
    """
    if interval <= timedelta(0):
        return []
    due = []
    for device in devices:
        if device.kind == "simulator" or getattr(device, "status", "online") != "online":
            continue
        last = last_runs.get(device.name)
        if last is None or now - last >= interval:
            due.append(device.name)
    return due
