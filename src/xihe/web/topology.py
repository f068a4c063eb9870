"""A chip's topology as SVG: qubits at their chip positions, coloured by a calibration figure, with a legend.

Quafu names a qubit ``Q<row><column>`` (``Q0103``: row 1, column 3), so the name is the position; a device whose
labels do not follow it is laid out row by row in a near-square grid. Working qubits are filled by any calibrated
figure of :data:`METRICS` (T1, T2 echo, T2*, readout error, 1q gate error), couplers by two-qubit gate fidelity;
dead qubits and dead couplers (missing from the calibration's
working set) are drawn grey, dashed and crossed, so the chip's holes are visible. A job page passes the layout
(virtual qubit i on physical ``layout[i]``) to ring the qubits its circuit used.

The legend is a second, narrow SVG after the chip's (:data:`LEGEND_WIDTH` wide): a page shrinks a wide chip to
the screen, and a legend inside the chip's drawing shrank with it (5 px text for ``dongling`` on a 390 px phone);
on its own it fits a phone at full size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

SPACING = 46.0
RADIUS = 14.0
MARGIN = 34.0
LEGEND_WIDTH = 340.0
LEGEND_HEIGHT = 92.0
# Bad -> good (ColorBrewer RdYlGn, colour-blind safer ends than pure red/green).
PALETTE = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")
DEAD_FILL = "#e3e3e3"
DEAD_STROKE = "#9a9a9a"
LABEL = re.compile(r"^Q(\d{2})(\d{2})$")
METRICS = {"t1": "T1 (µs)", "t2": "T2 echo (µs)", "t2_ramsey": "T2* (µs)", "readout": "readout error",
           "error_1q": "1q gate error"}
# Each scale spans the chip's own values and at least this (bad, good) range, so colours keep an absolute meaning:
# a chip whose couplers are all 0.990-0.996 is green, not half red, and uniform values get no fake contrast.
REFERENCE = {"t1": (10.0, 100.0), "t2": (5.0, 100.0), "t2_ramsey": (2.0, 50.0), "readout": (0.10, 0.01),
             "error_1q": (0.01, 0.0005), "fidelity": (0.95, 0.999)}
MICROSECONDS = {"t1", "t2", "t2_ramsey"}


@dataclass(frozen=True)
class Scale:
    """A colour scale over ``[low, high]``; ``higher_is_better`` says which end is green."""

    low: float
    high: float
    higher_is_better: bool
    uniform: float | None = None  # every value the same: the legend says so

    @classmethod
    def from_values(cls, values: Sequence[float], reference: tuple[float, float]) -> Scale:
        """The scale over ``values`` widened to the metric's ``(bad, good)`` reference range.

        >>> scale = Scale.from_values([0.990, 0.996], REFERENCE["fidelity"])
        >>> (scale.low, scale.high), scale.colour(0.990) == _interpolate(0.0)
        ((0.95, 0.999), False)
        >>> Scale.from_values([0.035, 0.035], REFERENCE["readout"]).uniform
        0.035
        """
        bad, good = reference
        ends = [bad, good, *values]
        same = values[0] if values and all(v == values[0] for v in values) and len(values) > 1 else None
        return cls(min(ends), max(ends), higher_is_better=good > bad, uniform=same)

    def colour(self, value: float) -> str:
        span = self.high - self.low
        t = 0.5 if span <= 0 else (value - self.low) / span
        t = min(1.0, max(0.0, t if self.higher_is_better else 1.0 - t))
        return _interpolate(t)


def _interpolate(t: float) -> str:
    position = t * (len(PALETTE) - 1)
    i = min(int(position), len(PALETTE) - 2)
    frac = position - i
    a, b = PALETTE[i], PALETTE[i + 1]
    channels = [round(int(a[k:k + 2], 16) * (1 - frac) + int(b[k:k + 2], 16) * frac) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in channels)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (relative luminance, WCAG)."""
    r, g, b = (int(fill[k:k + 2], 16) / 255 for k in (1, 3, 5))
    return "#111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#fff"


def chip_positions(labels: Sequence[str]) -> list[tuple[float, float]]:
    """Grid cell (column, row) of each qubit: from ``Q<row><col>`` names, else row by row.

    >>> chip_positions(["Q0101", "Q0103", "Q0202"])
    [(0.0, 0.0), (2.0, 0.0), (1.0, 1.0)]
    >>> chip_positions(["a", "b", "c"])
    [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]
    """
    parsed = [LABEL.match(label) for label in labels]
    if labels and all(parsed):
        cells = [(int(m.group(2)), int(m.group(1))) for m in parsed if m]
        min_col = min(c for c, _ in cells)
        min_row = min(r for _, r in cells)
        return [(float(c - min_col), float(r - min_row)) for c, r in cells]
    width = max(1, math.ceil(math.sqrt(len(labels))))
    return [(float(i % width), float(i // width)) for i in range(len(labels))]


def dead_couplers(calibration: dict[str, Any], labels: Sequence[str], working_edges: set[tuple[int, int]]) \
        -> list[tuple[int, int]]:
    """Couplers the chip file lists that are not working (fidelity 0 or a dead end), as index pairs."""
    index = {label: i for i, label in enumerate(labels)}
    out = set()
    for pair in (calibration.get("all_topological_structure") or {}):
        a, _, b = str(pair).partition("_")
        if a in index and b in index:
            edge = (min(index[a], index[b]), max(index[a], index[b]))
            if edge not in working_edges:
                out.add(edge)
    return sorted(out)


def qubit_metric(target: Any, qubit: int, metric: str) -> float | None:
    """One calibrated figure of a qubit as the Target holds it (times in µs; errors 0..1); None if not calibrated."""
    if metric in MICROSECONDS:
        value = {"t1": target.t1, "t2": target.t2, "t2_ramsey": target.t2_ramsey}[metric].get(qubit)
        return None if value is None else float(value) / 1e3
    if metric == "error_1q":
        errors = [float(props[(qubit,)].error) for props in (target.gates or {}).values()
                  if (qubit,) in props and props[(qubit,)].duration > 0]
        return max(errors) if errors else None
    p10, p01 = target.readout_error.get(qubit, (None, None))
    return None if p10 is None or p01 is None else (float(p10) + float(p01)) / 2


def topology_svg(device: Any, *, metric: str = "t1", layout: Sequence[int] | None = None) -> str:
    """The device's chip drawing (see the module doc). ``metric``: a key of :data:`METRICS`."""
    if metric not in METRICS:
        metric = "t1"
    target = device.target
    labels: list[str] = list(target.labels)
    working = set(int(q) for q in device.working_qubits)
    cells = chip_positions(labels)
    cols = max((c for c, _ in cells), default=0) + 1
    rows = max((r for _, r in cells), default=0) + 1
    width = max(2 * MARGIN + (cols - 1) * SPACING, 420.0)
    chip_height = 2 * MARGIN + (rows - 1) * SPACING
    height = chip_height

    def xy(q: int) -> tuple[float, float]:
        c, r = cells[q]
        return MARGIN + c * SPACING, MARGIN + r * SPACING

    values = {q: qubit_metric(target, q, metric) for q in working}
    known = [v for v in values.values() if v is not None]
    node_scale = Scale.from_values(known, REFERENCE[metric])
    edges = [(a, b) for a, b in target.edges]
    fidelity = {(a, b): 1.0 - float(target.two_qubit_error(a, b)) for a, b in edges}
    edge_scale = Scale.from_values(list(fidelity.values()), REFERENCE["fidelity"])
    data = getattr(getattr(device, "calibration", None), "data", {}) or {}
    used = {int(p): v for v, p in enumerate(layout or [])}

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" role="img" '
        f'aria-label="{escape(device.name)}: {len(working)} working of {len(labels)} qubits" '
        f'data-working="{len(working)}" data-dead="{len(labels) - len(working)}">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for a, b in dead_couplers(data, labels, set(edges)):
        (x1, y1), (x2, y2) = xy(a), xy(b)
        parts.append(f'<line class="coupler dead" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     f'stroke="{DEAD_STROKE}" stroke-width="1.5" stroke-dasharray="3,3"/>')
    for a, b in edges:
        (x1, y1), (x2, y2) = xy(a), xy(b)
        f = fidelity[(a, b)]
        in_use = a in used and b in used
        parts.append(
            f'<line class="coupler working{" used" if in_use else ""}" data-pair="{a}-{b}" '
            f'data-fidelity="{f:.4f}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{edge_scale.colour(f)}" stroke-width="{7 if in_use else 5}" stroke-linecap="round">'
            f"<title>{escape(labels[a])}–{escape(labels[b])}: 2q fidelity {f:.4f}</title></line>")
    for q, label in enumerate(labels):
        parts.append(_node(q, label, xy(q), q in working, values.get(q), node_scale, metric, used.get(q)))
    parts.append("</svg>")
    parts.append(_legend(metric, node_scale, edge_scale, bool(edges)))
    return "\n".join(parts)


def _node(q: int, label: str, at: tuple[float, float], alive: bool, value: float | None, scale: Scale,
          metric: str, virtual: int | None) -> str:
    x, y = at
    if not alive:
        return (f'<g class="qubit dead" data-qubit="{q}" data-label="{escape(label)}"><title>{escape(label)} '
                f'(#{q}): dead, never used</title><circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS - 3:.1f}" '
                f'fill="{DEAD_FILL}" stroke="{DEAD_STROKE}" stroke-width="1.5" stroke-dasharray="2,2"/>'
                f'<path d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}M{x - 5:.1f},{y + 5:.1f}'
                f'L{x + 5:.1f},{y - 5:.1f}" stroke="{DEAD_STROKE}" stroke-width="1.5"/></g>')
    fill = scale.colour(value) if value is not None else "#cccccc"
    shown = "n/a" if value is None else (f"{value:.1f} µs" if metric in MICROSECONDS else f"{value:.4f}")
    ring = ""
    tag = ""
    classes = "qubit working"
    if virtual is not None:
        classes += " used"
        ring = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS + 4:.1f}" fill="none" stroke="#1f2a44" '
                'stroke-width="3"/>')
        tag = (f'<text x="{x:.1f}" y="{y - RADIUS - 7:.1f}" text-anchor="middle" font-size="11" '
               f'font-weight="bold" fill="#1f2a44">q{virtual}</text>')
    data_value = "" if value is None else f' data-value="{value:.6g}"'
    holds = "" if virtual is None else f"; holds q[{virtual}]"
    return (f'<g class="{classes}" data-qubit="{q}" data-label="{escape(label)}"{data_value}>'
            f"<title>{escape(label)} (#{q}): {METRICS[metric]} {shown}{holds}</title>{ring}"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{RADIUS:.1f}" fill="{fill}" stroke="#333" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{y + 3.5:.1f}" text-anchor="middle" font-size="9.5" '
            f'fill="{text_colour(fill)}">{q}</text>'
            f"{tag}</g>")


def _gradient_defs() -> str:
    stops = "".join(f'<stop offset="{i / (len(PALETTE) - 1):.2f}" stop-color="{c}"/>' for i, c in enumerate(PALETTE))
    reverse = "".join(f'<stop offset="{i / (len(PALETTE) - 1):.2f}" stop-color="{c}"/>'
                      for i, c in enumerate(reversed(PALETTE)))
    return (f'<defs><linearGradient id="scale-good-right">{stops}</linearGradient>'
            f'<linearGradient id="scale-good-left">{reverse}</linearGradient></defs>')


def _legend(metric: str, nodes: Scale, edges: Scale, has_edges: bool) -> str:
    """The legend's own SVG: the two colour scales, then what dead and used qubits look like."""
    node_fmt = "{:.1f}" if metric in MICROSECONDS else "{:.4f}"
    label = f"Legend: qubits coloured by {METRICS[metric]}" + (", couplers by 2q fidelity" if has_edges else "")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="topology-legend" width="{LEGEND_WIDTH:.0f}" '
             f'height="{LEGEND_HEIGHT:.0f}" viewBox="0 0 {LEGEND_WIDTH:.0f} {LEGEND_HEIGHT:.0f}" '
             f'font-family="sans-serif" role="img" aria-label="{escape(label)}">',
             _gradient_defs(),
             '<g class="legend" font-size="11" fill="#222" transform="translate(4,4)">']
    gradient = "scale-good-right" if nodes.higher_is_better else "scale-good-left"
    parts.append(f'<text x="0" y="10">Qubits: {escape(METRICS[metric])}</text>'
                 f'<rect x="0" y="16" width="150" height="10" fill="url(#{gradient})" stroke="#555" '
                 'stroke-width="0.5"/>'
                 f'<text x="0" y="40">{node_fmt.format(nodes.low)}</text>'
                 f'<text x="150" y="40" text-anchor="end">{node_fmt.format(nodes.high)}</text>')
    if nodes.uniform is not None:
        parts.append(f'<text class="uniform" x="75" y="40" text-anchor="middle" font-weight="bold">'
                     f"all {node_fmt.format(nodes.uniform)}</text>")
    if has_edges:
        parts.append('<text x="180" y="10">Couplers: 2q fidelity</text>'
                     '<rect x="180" y="16" width="150" height="10" fill="url(#scale-good-right)" stroke="#555" '
                     'stroke-width="0.5"/>'
                     f'<text x="180" y="40">{edges.low:.4f}</text>'
                     f'<text x="330" y="40" text-anchor="end">{edges.high:.4f}</text>')
        if edges.uniform is not None:
            parts.append(f'<text class="uniform" x="255" y="40" text-anchor="middle" font-weight="bold">'
                         f"all {edges.uniform:.4f}</text>")
    parts.append(f'<circle cx="6" cy="58" r="6" fill="{DEAD_FILL}" stroke="{DEAD_STROKE}" stroke-dasharray="2,2"/>'
                 f'<text x="18" y="62">dead qubit</text>'
                 f'<line x1="90" y1="58" x2="120" y2="58" stroke="{DEAD_STROKE}" stroke-dasharray="3,3"/>'
                 '<text x="126" y="62">dead coupler</text>'
                 '<circle cx="6" cy="76" r="6" fill="none" stroke="#1f2a44" stroke-width="3"/>'
                 '<text x="18" y="80">used by the job (q<tspan font-style="italic">i</tspan>)</text>')
    parts.append("</g></svg>")
    return "".join(parts)
