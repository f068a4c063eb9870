"""SVG figures of characterization results (decay curves with fits, readout bars, QV heavy outputs, history).

Everything here works from the stored dict form (:meth:`ExperimentResult.to_dict`), so the web dashboard can draw
a figure from a database row without re-running anything. Figures are built on :class:`matplotlib.figure.Figure`
directly (no pyplot global state), so concurrent requests in a server do not interfere.

>>> from xihe.characterize.plots import svg  # svg(result) -> "<svg ...>" text
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from xihe.characterize.experiment import ExperimentResult

_COLORS = ["#3b6ea5", "#d1603d", "#4f9d69", "#8e6bb8", "#c49a2c", "#5b9aa9", "#a44a6e", "#6d6d6d"]
_TITLES = {"t1": "T1 (energy relaxation)", "t2_ramsey": "T2* (Ramsey)", "t2_echo": "T2 (Hahn echo)",
           "rb": "Randomized benchmarking", "interleaved_rb": "Interleaved randomized benchmarking",
           "readout": "Readout assignment errors", "xeb": "Cross-entropy benchmarking",
           "ghz": "GHZ fidelity", "quantum_volume": "Quantum volume heavy-output test"}


def _as_dict(result: ExperimentResult | dict[str, Any]) -> dict[str, Any]:
    return result.to_dict() if isinstance(result, ExperimentResult) else result


def figure(result: ExperimentResult | dict[str, Any], backend: str | None = None) -> Figure:
    """A matplotlib figure of one experiment's data and fit."""
    data = _as_dict(result)
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    kind = data["experiment"]
    drawer = {"t1": _delay_scan, "t2_ramsey": _delay_scan, "t2_echo": _delay_scan, "rb": _rb,
              "interleaved_rb": _rb, "readout": _readout, "xeb": _xeb, "ghz": _ghz,
              "quantum_volume": _quantum_volume}.get(kind)
    if drawer is None:
        raise ValueError(f"no figure for experiment '{kind}'")
    drawer(ax, data)
    title = _TITLES.get(kind, kind)
    ax.set_title(f"{title}" + (f" — {backend}" if backend else ""), fontsize=11)
    ax.grid(alpha=0.3)
    return fig


def svg(result: ExperimentResult | dict[str, Any], backend: str | None = None) -> str:
    """The figure as SVG text (what the dashboard embeds)."""
    return figure_to_svg(figure(result, backend))


def figure_to_svg(fig: Figure) -> str:
    """SVG text with text kept as text (a few kB, not glyph outlines), so pages and docs stay light."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def save_svg(result: ExperimentResult | dict[str, Any], path: str | Path, backend: str | None = None) -> Path:
    path = Path(path)
    path.write_text(svg(result, backend))
    return path


def save_suite_figures(suite_result: Any, directory: str | Path) -> list[Path]:
    """One SVG per experiment of a :class:`~xihe.characterize.suite.SuiteResult`, named ``<backend>-<exp>.svg``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    qv = [r for r in suite_result.results if r.experiment == "quantum_volume"]
    for r in suite_result.results:
        if r.experiment == "quantum_volume":
            continue
        paths.append(save_svg(r, folder / f"{suite_result.backend}-{r.experiment}.svg", suite_result.backend))
    if qv:
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.add_subplot()
        _quantum_volume_widths(ax, [q.to_dict() for q in qv])
        ax.set_title(f"{_TITLES['quantum_volume']} — {suite_result.backend}", fontsize=11)
        ax.grid(alpha=0.3)
        path = folder / f"{suite_result.backend}-quantum_volume.svg"
        path.write_text(figure_to_svg(fig))
        paths.append(path)
    return paths


def history_svg(points: Sequence[tuple[str, float, float, float]], label: str, unit: str = "") -> str:
    """A figure's history: ``(time ISO, value, ci_low, ci_high)`` points, as SVG (for the backend page)."""
    from datetime import datetime

    fig = Figure(figsize=(6.4, 3.0), layout="constrained")
    ax = fig.add_subplot()
    times: Any = [datetime.fromisoformat(t) for t, _, _, _ in points]
    values = [v for _, v, _, _ in points]
    ax.errorbar(times, values, yerr=[[v - lo for _, v, lo, _ in points], [hi - v for _, v, _, hi in points]],
                fmt="o-", color=_COLORS[0], capsize=3)
    ax.set_ylabel(f"{label}" + (f" ({unit})" if unit else ""))
    ax.set_title(f"{label} history", fontsize=11)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return figure_to_svg(fig)


# --- one drawer per experiment ---------------------------------------------------------------------------------
def _delay_scan(ax: Axes, data: dict[str, Any]) -> None:
    d = data["data"]
    x_us = [t / 1000 for t in d["x"]]
    quantity = data["metadata"].get("quantity", data["experiment"])
    per_qubit = (data.get("fit") or {}).get("per_qubit", {})
    for i, q in enumerate(data["qubits"]):
        color = _COLORS[i % len(_COLORS)]
        est = data["estimates"].get(f"{quantity}[{q}]")
        label = f"q{q}" + (f": {est['value']:.1f} ± {est['stderr']:.1f} µs" if est else " (no fit)")
        ax.errorbar(x_us, d["y"][i], yerr=d["yerr"][i], fmt="o", ms=3, color=color, label=label)
        curve = per_qubit.get(str(q), {}).get("curve")
        if curve:
            ax.plot([t / 1000 for t in curve["x"]], curve["y"], "-", color=color, lw=1.2)
    ax.set_xlabel("delay (µs)")
    ax.set_ylabel(d.get("ylabel", "P(1)"))
    ax.legend(fontsize=8)


def _rb(ax: Axes, data: dict[str, Any]) -> None:
    groups = data["data"]["groups"]
    fits = data.get("fit") or {}
    i = 0
    for label, variants in groups.items():
        for variant in ("ref", "int"):
            if variant not in variants:
                continue
            color = _COLORS[i % len(_COLORS)]
            i += 1
            v = variants[variant]
            key = f"epc[{label}]" if variant == "ref" else f"gate_error[{label}]"
            est = data["estimates"].get(key)
            name = "EPC" if variant == "ref" else "gate error"
            text = f"q{label} {'reference' if variant == 'ref' else 'interleaved'}"
            if est:
                text += f": {name} {est['value']:.2e}"
            ax.errorbar(v["x"], v["y"], yerr=v["yerr"], fmt="o", ms=3, color=color, label=text)
            curve = fits.get(f"{label}:{variant}", {}).get("curve")
            if curve:
                ax.plot(curve["x"], curve["y"], "-", color=color, lw=1.2)
    ax.set_xlabel(data["data"].get("x_label", "Clifford length"))
    ax.set_ylabel(data["data"].get("ylabel", "P(ground)"))
    ax.legend(fontsize=8)


def _readout(ax: Axes, data: dict[str, Any]) -> None:
    d = data["data"]
    qubits = d["qubits"]
    xs = list(range(len(qubits)))
    ax.bar([x - 0.2 for x in xs], d["p1_given_0"], width=0.4, color=_COLORS[0], label="P(1|0)")
    ax.bar([x + 0.2 for x in xs], d["p0_given_1"], width=0.4, color=_COLORS[1], label="P(0|1)")
    ax.set_xticks(xs, [f"q{q}" for q in qubits])
    ax.set_ylabel("assignment error")
    ax.legend(fontsize=8)


def _xeb(ax: Axes, data: dict[str, Any]) -> None:
    d = data["data"]
    est = data["estimates"]["pauli_error_per_cycle"]
    ax.errorbar(d["x"], d["y"], yerr=d["yerr"], fmt="o", ms=3, color=_COLORS[0],
                label=f"Pauli error per cycle {est['value']:.2e}")
    curve = (data.get("fit") or {}).get("curve")
    if curve:
        ax.plot(curve["x"], curve["y"], "-", color=_COLORS[0], lw=1.2)
    ax.set_xlabel(d.get("x_label", "cycles"))
    ax.set_ylabel(d.get("ylabel", "XEB fidelity"))
    ax.legend(fontsize=8)


def _ghz(ax: Axes, data: dict[str, Any]) -> None:
    d = data["data"]
    ax.errorbar(d["sizes"], d["fidelity"], yerr=[1.96 * e for e in d["fidelity_err"]], fmt="o-", color=_COLORS[0],
                capsize=3, label="fidelity (95% CI)")
    ax.axhline(0.5, color="#888888", ls="--", lw=1, label="1/2: genuine entanglement")
    ax.set_xlabel("GHZ size n")
    ax.set_ylabel("fidelity")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)


def _quantum_volume(ax: Axes, data: dict[str, Any]) -> None:
    _quantum_volume_widths(ax, [data])


def _quantum_volume_widths(ax: Axes, items: list[dict[str, Any]]) -> None:
    for i, data in enumerate(sorted(items, key=lambda r: r["metadata"]["n"])):
        hops = data["data"]["hops"]
        n = data["metadata"]["n"]
        est = data["estimates"]["heavy_output_probability"]
        color = _COLORS[i % len(_COLORS)]
        ax.errorbar([n], [est["value"]], yerr=[[2 * est["stderr"]], [0]], fmt="s", color=color, capsize=4,
                    label=f"n={n}: {est['value']:.3f} {'pass' if data['metadata']['passed'] else 'fail'}")
        # A box of the per-circuit frequencies (a scatter of hundreds of points would make the SVG ten times larger).
        box = ax.boxplot([hops], positions=[n + 0.2], widths=0.15, showfliers=False, patch_artist=True,
                         manage_ticks=False)
        for patch in box["boxes"]:
            patch.set(facecolor=color, alpha=0.3)
        ax.scatter([n - 0.15], [data["metadata"]["ideal_mean"]], marker="x", color="#444444")
    ax.axhline(2 / 3, color="#888888", ls="--", lw=1, label="2/3 threshold")
    ax.set_xlabel("width n (depth n); x: ideal mean, box: per-circuit spread")
    ax.set_xticks(sorted({int(d["metadata"]["n"]) for d in items}))
    ax.set_ylabel("heavy-output frequency (mean − 2σ bar)")
    ax.legend(fontsize=8)
