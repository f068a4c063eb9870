"""The backend page's characterization section: headline figures, per-experiment SVG figures, history plots.

Figures come from :mod:`xihe.characterize.plots` drawn from the stored suite documents (nothing re-runs). Drawing
with matplotlib costs tens of milliseconds a figure, so each run's figures are drawn once and kept (keyed by the
newest run's id and time and the number of runs, which change whenever a new run lands).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from xihe.characterize import performance as figures
from xihe.characterize import plots

#: Headline labels for the page, in display order: (summary key, label, format).
LABELS = (("quantum_volume", "Quantum volume", "{:.0f}"), ("readout_error", "Readout error (median)", "{:.4f}"),
          ("epg_1q", "1q error per gate (median, RB)", "{:.2e}"),
          ("gate_error_2q", "2q gate error (interleaved RB)", "{:.4f}"), ("t1_us", "T1 (median)", "{:.1f} µs"),
          ("t2_echo_us", "T2 echo (median)", "{:.1f} µs"))

_CACHE: OrderedDict[tuple[int, str, int], dict[str, Any]] = OrderedDict()
_CACHE_SIZE = 16
_LOCK = threading.Lock()


def _inline(svg_text: str) -> str:
    """SVG text without its XML prolog, so it can sit inside an HTML page."""
    start = svg_text.find("<svg")
    return svg_text[start:] if start >= 0 else svg_text


def _experiment_figures(document: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for result in document.get("results", []):
        name = result["experiment"] + (f" n={result['metadata']['n']}"
                                       if result["experiment"] == "quantum_volume" else "")
        try:
            out.append((name, _inline(plots.svg(result, document.get("backend")))))
        except (ValueError, KeyError):  # an experiment without a figure: its numbers are still in the table
            continue
    return out


def _history_figures(documents: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for key, label, _ in LABELS:
        series = figures.summary_series(documents, key)
        if series:
            unit = "us" if key.endswith("_us") else ""
            points = [(t, v, v, v) for t, v in series]
            out.append((label, _inline(plots.history_svg(points, label, unit))))
    return out


def _key(runs: Sequence[dict[str, Any]]) -> tuple[int, str, int]:
    """Newest run's id and time, and the number of runs: changes whenever a run lands (any database)."""
    return (int(runs[0]["id"]), str(runs[0]["time"]), len(runs))


def cached_section(runs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The section drawn earlier for exactly these runs (newest id and count), if any."""
    with _LOCK:
        return _CACHE.get(_key(runs)) if runs else None


def performance_section(runs: Sequence[dict[str, Any]], latest: dict[str, Any] | None) -> dict[str, Any] | None:
    """What backend.html shows: newest run's headline, experiment figures and history plots; None if no run.

    ``runs``: ``{"id", "time", "summary"}`` newest first (the history); ``latest``: the newest run's document.
    """
    if not runs or latest is None:
        return None
    cached = cached_section(runs)
    if cached is not None:
        return cached
    summary = latest.get("summary", {})
    headline = [(label, fmt.format(summary[k])) for k, label, fmt in LABELS
                if isinstance(summary.get(k), int | float)]
    section = {"time": latest.get("time"), "suite": latest.get("suite"), "qubits": latest.get("qubits"),
               "seed": latest.get("seed"), "calibration_id": latest.get("calibration_id"), "runs": len(runs),
               "headline": headline, "errors": latest.get("errors", {}),
               "figures": _experiment_figures(latest), "history": _history_figures(runs)}
    with _LOCK:
        _CACHE[_key(runs)] = section
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return section
