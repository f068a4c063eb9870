"""A job's histogram as SVG: one bar per outcome (c[0] leftmost), probability on the y axis, count on the bar;
optionally a log-scaled axis and the ideal (noiseless) probability of each outcome as a tick over its bar.

Drawn on the server so the page needs no chart library. Bars are sorted by count, most frequent first (a GHZ
state's two peaks are the first two bars, however many noise outcomes follow); past ``max_bars`` outcomes the
rarest are left out and the caption says how many (the counts table lists them all, also by count). Outcome labels
are written vertically with a font no taller than a bar's pitch, so long bit strings never overlap.

>>> svg = histogram_svg({"00": 1, "11": 3})
>>> [key for key, _ in by_count({"00": 1, "11": 3})]
['11', '00']
>>> svg.count('class="bar"')
2
>>> marginal({"010": 5, "011": 2, "110": 1}, [0, 2])
{'00': 5, '01': 2, '10': 1}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape

BAR_COLOUR = "#3b6fd4"
IDEAL_COLOUR = "#b3261e"
HEIGHT = 260.0
TOP = 34.0  # room above the tallest bar for its count and the overlay legend
LEFT = 46.0
BOTTOM_LABELS = 60.0


def _nice_ceiling(value: float) -> float:
    """The y axis' top: 0.1, 0.2, 0.25, 0.5 or 1 times a power of ten, at least ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * power + 1e-12:
            return min(1.0, step * power)
    return 1.0


def by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Outcomes by count, most frequent first; equal counts by outcome."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def marginal(counts: Mapping[str, int] | Iterable[tuple[str, int]], bits: list[int]) -> dict[str, int]:
    """Counts over the chosen classical bits (key positions, c[0] leftmost), in the order given, from a mapping or
    from (outcome, count) pairs read once (a paged result's pages, one at a time)."""
    out: dict[str, int] = {}
    for key, n in counts.items() if isinstance(counts, Mapping) else counts:
        sub = "".join(key[b] for b in bits if b < len(key))
        out[sub] = out.get(sub, 0) + n
    return out


def marginal_probabilities(probabilities: dict[str, float], bits: list[int]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, p in probabilities.items():
        sub = "".join(key[b] for b in bits if b < len(key))
        out[sub] = out.get(sub, 0.0) + p
    return out


def total_variation(counts: dict[str, int], ideal: dict[str, float]) -> float:
    """Half the L1 distance between the measured frequencies and the ideal distribution.

    >>> total_variation({"00": 50, "11": 50}, {"00": 0.5, "11": 0.5})
    0.0
    """
    shots = sum(counts.values()) or 1
    keys = set(counts) | set(ideal)
    return 0.5 * sum(abs(counts.get(k, 0) / shots - ideal.get(k, 0.0)) for k in keys)


def _log_floor(values: list[float]) -> float:
    """The log axis' bottom: a decade below the smallest positive value (so its bar is visible), at most 0.1."""
    smallest = min((v for v in values if v > 0), default=0.1)
    return min(0.1, 10.0 ** (math.floor(math.log10(smallest)) - 1))


def histogram_svg(counts: dict[str, int], *, max_bars: int = 48, log: bool = False,
                  ideal: dict[str, float] | None = None) -> str:
    total = sum(counts.values())
    ordered = by_count(counts)
    shown = ordered[:max_bars]
    left_out = len(ordered) - len(shown)
    pitch = max(10.0, min(70.0, 640.0 / max(1, len(shown))))  # the plot area stays within 640 px
    bar_width, gap = pitch * 0.8, pitch * 0.2
    width = LEFT + len(shown) * (bar_width + gap) + gap + 16
    width = max(width, 240.0)
    shares = [c / total for _, c in shown] if total else []
    ideal_shown = [ideal.get(key, 0.0) for key, _ in shown] if ideal else []
    top_value = _nice_ceiling(max(shares + ideal_shown, default=1.0)) if total else 1.0
    bottom = _log_floor(shares + ideal_shown) if log else 0.0
    if log:
        top_value = 1.0
    rotate = any(len(key) * 7 > bar_width + gap for key, _ in shown)
    label_size = min(11.0, bar_width + gap - 1.0)  # vertical labels: one line of text per bar pitch
    height = TOP + HEIGHT + BOTTOM_LABELS + (max((len(k) for k, _ in shown), default=0) * label_size * 0.62
                                             if rotate else 0)

    def y(p: float) -> float:
        if log:
            p = max(p, bottom)
            return TOP + HEIGHT * (1 - (math.log10(p) - math.log10(bottom)) / -math.log10(bottom))
        return TOP + HEIGHT * (1 - p / top_value)

    scale = "log" if log else "linear"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="histogram" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="11" role="img" '
             f'data-scale="{scale}" aria-label="histogram of {len(counts)} outcomes over {total} shots'
             f'{", ideal probabilities marked" if ideal else ""}">',
             '<rect width="100%" height="100%" fill="white"/>']
    # linear: the top is 1, 2, 2.5 or 5 times a power of ten, so fifths are round numbers; log: the decades
    ticks = ([10.0 ** -d for d in range(round(-math.log10(bottom)) + 1)] if log else
             [top_value * i / 5 for i in range(6)])
    for p in ticks:
        parts.append(f'<line x1="{LEFT:.0f}" y1="{y(p):.1f}" x2="{width - 8:.0f}" y2="{y(p):.1f}" stroke="#e2e2e2"/>'
                     f'<text x="{LEFT - 6:.0f}" y="{y(p) + 4:.1f}" text-anchor="end" fill="#555">'
                     f"{round(p, 6):g}</text>")
    middle = TOP + HEIGHT / 2
    parts.append(f'<text x="12" y="{middle:.0f}" fill="#555" transform="rotate(-90 12 {middle:.0f})" '
                 f'text-anchor="middle">probability{" (log)" if log else ""}</text>')
    x = LEFT + gap
    for key, count in shown:
        p = count / total if total else 0.0
        top = y(p)
        label_y = TOP + HEIGHT + 14
        label = escape(key)
        centre = x + bar_width / 2
        text = (f'<text class="label" x="{centre:.1f}" y="{label_y - 8:.1f}" font-family="monospace" '
                f'font-size="{label_size:.1f}" text-anchor="end" dominant-baseline="central" '
                f'transform="rotate(-90 {centre:.1f} {label_y - 8:.1f})">{label}</text>' if rotate else
                f'<text class="label" x="{centre:.1f}" y="{label_y:.1f}" text-anchor="middle" font-family="monospace">'
                f"{label}</text>")
        parts.append(
            f'<g class="bar" data-key="{label}" data-count="{count}" data-probability="{p:.6f}">'
            f"<title>{label}: {count} shots ({p:.2%})</title>"
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar_width:.1f}" height="{TOP + HEIGHT - top:.1f}" '
            f'fill="{BAR_COLOUR}"/>'
            + (f'<text x="{x + bar_width / 2:.1f}" y="{top - 4:.1f}" text-anchor="middle" fill="#222">{count}</text>'
               if bar_width >= 22 else "")
            + text + "</g>")
        if ideal is not None:
            q = ideal.get(key, 0.0)
            parts.append(f'<g class="ideal" data-key="{label}" data-probability="{q:.6f}"><title>{label}: ideal '
                         f'{q:.2%}</title><line x1="{x - 1:.1f}" y1="{y(q):.1f}" x2="{x + bar_width + 1:.1f}" '
                         f'y2="{y(q):.1f}" stroke="{IDEAL_COLOUR}" stroke-width="3"/></g>')
        x += bar_width + gap
    parts.append(f'<line x1="{LEFT:.0f}" y1="{TOP + HEIGHT:.1f}" x2="{width - 8:.0f}" y2="{TOP + HEIGHT:.1f}" '
                 'stroke="#333"/>')
    if ideal is not None:
        parts.append(f'<line x1="{width - 150:.0f}" y1="12" x2="{width - 134:.0f}" y2="12" stroke="{IDEAL_COLOUR}" '
                     f'stroke-width="3"/><text x="{width - 130:.0f}" y="16" fill="#222">ideal (noiseless)</text>')
    if left_out:
        parts.append(f'<text x="{LEFT:.0f}" y="{height - 6:.0f}" fill="#555">{left_out} rarer outcomes not drawn '
                     "(see the table)</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart_svg(points: list[tuple[str, float]], *, title: str, fmt: str = "{:.3g}", width: float = 320.0,
                   height: float = 140.0) -> str:
    """A small line chart of one figure over calibration snapshots (x: the snapshots in time order, labelled by
    date; y: the figure, its own range padded by a tenth). One point is drawn as a dot with its value."""
    left, right, top, bottom = 52.0, 12.0, 22.0, 34.0
    values = [v for _, v in points]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - pad, high + pad
    span_x = max(1, len(points) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (width - left - right) * (i / span_x if len(points) > 1 else 0.5)
        return x, top + (height - top - bottom) * (1 - (v - low) / (high - low))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="history" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="10" role="img" '
             f'aria-label="{escape(title)} over {len(points)} calibration snapshots">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<text x="{left:.0f}" y="13" font-size="11" font-weight="bold" fill="#222">{escape(title)}</text>']
    for v in (low + pad, high - pad) if high - pad != low + pad else (low + pad,):
        _, y = xy(0, v)
        parts.append(f'<line x1="{left:.0f}" y1="{y:.1f}" x2="{width - right:.0f}" y2="{y:.1f}" stroke="#e2e2e2"/>'
                     f'<text x="{left - 4:.0f}" y="{y + 3:.1f}" text-anchor="end" fill="#555">'
                     f"{escape(fmt.format(v))}</text>")
    path = " ".join(f"{'M' if i == 0 else 'L'}{xy(i, v)[0]:.1f},{xy(i, v)[1]:.1f}" for i, (_, v) in enumerate(points))
    if len(points) > 1:
        parts.append(f'<path d="{path}" fill="none" stroke="{BAR_COLOUR}" stroke-width="2"/>')
    for i, (label, v) in enumerate(points):
        x, y = xy(i, v)
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{BAR_COLOUR}" '
                     f'data-value="{v:.6g}" data-when="{escape(label)}"><title>{escape(label)}: '
                     f"{escape(fmt.format(v))}</title></circle>")
    for i in sorted({0, len(points) - 1}):
        if points:
            x, _ = xy(i, points[i][1])
            anchor = "start" if i == 0 and len(points) > 1 else ("end" if len(points) > 1 else "middle")
            parts.append(f'<text x="{x:.1f}" y="{height - 12:.0f}" text-anchor="{anchor}" fill="#555">'
                         f"{escape(points[i][0][:10])}</text>")
    parts.append("</svg>")
    return "".join(parts)
