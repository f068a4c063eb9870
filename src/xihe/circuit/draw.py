"""Drawings of a circuit: text (one line per qubit, for terminals and logs) and SVG (for the web dashboard).

Both share one layout: operations are packed into columns, each as early as the qubits it spans allow (a gate
on ``q[0]`` and ``q[2]`` also blocks ``q[1]``, where its vertical connector runs). Each operation is described
as cells, one per qubit it touches: a control dot, a target, a swap cross, or a labelled box.

>>> from xihe.circuit import Circuit
>>> print(Circuit(2).h(0).cx(0, 1).draw())
q[0]: ─H──■─
          │
q[1]: ────⊕─
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from html import escape
from typing import TYPE_CHECKING

from xihe.circuit.control import IfElse
from xihe.circuit.parameter import ParameterExpression, ParamValue

if TYPE_CHECKING:
    from xihe.circuit.circuit import Circuit
    from xihe.circuit.gate import Operation

# Controlled gates of the table: name -> (number of controls, or None for "all but the last qubit"; target label).
_CONTROLLED: dict[str, tuple[int | None, str]] = {
    "cx": (1, "X"), "cy": (1, "Y"), "cz": (1, "Z"), "ch": (1, "H"), "crx": (1, "RX"), "cry": (1, "RY"),
    "crz": (1, "RZ"), "cp": (1, "P"), "cu1": (1, "U1"), "cu3": (1, "U3"), "cu": (1, "U"), "csx": (1, "SX"),
    "cs": (1, "S"), "ct": (1, "T"), "ccx": (2, "X"), "c3x": (3, "X"), "c4x": (4, "X"), "c3sqrtx": (3, "SX"),
    "cswap": (1, "SWAP"), "mcx": (None, "X"), "mcy": (None, "Y"), "mcz": (None, "Z"), "mcp": (None, "P"),
}
_SHORT = {"h": "H", "x": "X", "y": "Y", "z": "Z", "s": "S", "t": "T", "id": "I", "sdg": "S†", "tdg": "T†",
          "sx": "√X", "sxdg": "√X†", "sy": "√Y", "sydg": "√Y†", "w": "W", "sw": "√W", "swdg": "√W†"}


@dataclass(frozen=True)
class Cell:
    """What one operation shows on one qubit: kind is control | target | swap | box | measure | barrier."""

    qubit: int
    kind: str
    text: str = ""


def format_param(value: ParamValue) -> str:
    """A short text for a parameter: simple multiples of pi as ``π/2``, other numbers with 4 digits."""
    if isinstance(value, ParameterExpression):
        return value.to_qasm()
    x = float(value)
    ratio = Fraction(x / math.pi).limit_denominator(16)
    if ratio and abs(float(ratio) * math.pi - x) < 1e-9:
        num, den = ratio.numerator, ratio.denominator
        text = "π" if abs(num) == 1 else f"{abs(num)}π"
        text = ("-" if num < 0 else "") + text
        return text if den == 1 else f"{text}/{den}"
    return f"{x:.4g}"


def _label(name: str, params: tuple[ParamValue, ...]) -> str:
    text = _SHORT.get(name, name.upper() if len(name) <= 3 else name)
    if params:
        text += "(" + ",".join(format_param(p) for p in params) + ")"
    return text


def cells(op: Operation, circuit: Circuit) -> list[Cell]:
    """The cells that draw ``op``, one per qubit it acts on."""
    gate, qubits = op.gate, op.qubits
    name = gate.name
    if isinstance(op, IfElse):
        test = (op.register if op.register is not None
                else "".join(_clbit_name(circuit, c) for c in op.test_bits))
        label = f"if {test}=={op.value}" + (" (else)" if op.false_body else "")
        return [Cell(q, "box", f"{label}:{i}" if len(qubits) > 1 else label) for i, q in enumerate(qubits)]
    suffix = f" if {op.condition[0]}=={op.condition[1]}" if op.condition is not None else ""
    if name == "measure":
        return [Cell(qubits[0], "measure", f"M→{_clbit_name(circuit, op.clbits[0])}{suffix}")]
    if name == "reset":
        return [Cell(qubits[0], "box", f"|0⟩{suffix}")]
    if name == "barrier":
        return [Cell(q, "barrier", "░") for q in qubits]
    if name == "delay":
        return [Cell(qubits[0], "box", f"delay({float(gate.params[0]):g}ns)")]
    if gate.definition is None and name in _CONTROLLED:
        num_controls, target = _CONTROLLED[name]
        k = len(qubits) - 1 if num_controls is None else num_controls
        out = [Cell(q, "control") for q in qubits[:k]]
        if target == "SWAP":
            return out + [Cell(q, "swap", "×") for q in qubits[k:]]
        if target == "X" and not suffix:
            return out + [Cell(q, "target", "⊕") for q in qubits[k:]]
        if target == "Z" and not suffix and not gate.params:
            return out + [Cell(q, "control") for q in qubits[k:]]
        return out + [Cell(q, "box", _label(target.lower(), gate.params) + suffix) for q in qubits[k:]]
    if name == "swap" and not suffix:
        return [Cell(q, "swap", "×") for q in qubits]
    label = _label(name, gate.params) + suffix
    if len(qubits) == 1:
        return [Cell(qubits[0], "box", label)]
    return [Cell(q, "box", f"{label}:{i}") for i, q in enumerate(qubits)]


def _clbit_name(circuit: Circuit, clbit: int) -> str:
    for reg in circuit.cregs:
        offset = circuit.creg_offset(reg.name)
        if offset <= clbit < offset + reg.size:
            return f"{reg.name}[{clbit - offset}]"
    return f"c{clbit}"


def qubit_names(circuit: Circuit) -> list[str]:
    return [f"{reg.name}[{i}]" for reg in circuit.qregs for i in range(reg.size)]


def layout(circuit: Circuit) -> list[list[Operation]]:
    """Operations packed into columns; an operation blocks every qubit between its lowest and highest."""
    level = [0] * circuit.num_qubits
    written = [0] * circuit.num_clbits  # the column after the last operation that wrote each clbit
    columns: list[list[Operation]] = []
    for op in circuit.operations:
        if not op.qubits:
            continue
        low, high = min(op.qubits), max(op.qubits)
        column = max(level[low : high + 1])
        if isinstance(op, IfElse):  # drawn after the measurements it reads
            column = max([column, *(written[c] for c in op.clbits)])
        if column == len(columns):
            columns.append([])
        columns[column].append(op)
        for q in range(low, high + 1):
            level[q] = column + 1
        for c in op.clbits:
            written[c] = column + 1
    return columns


# --- text --------------------------------------------------------------------------------------------------------
_SYMBOL = {"control": "■", "target": "⊕", "swap": "×", "barrier": "░"}


def draw_text(circuit: Circuit, width: int = 100) -> str:
    """One line per qubit (``q[0]: ─H──■─``), a connector line between qubits, wrapped at ``width`` characters."""
    names = qubit_names(circuit)
    if not names:
        return "(empty circuit)"
    n = len(names)
    prefix_width = max(len(name) for name in names) + 2
    # Each column is rendered as 2n-1 strings of one width: qubit lines and the gaps between them.
    rendered = [_text_column(column, circuit, n) for column in layout(circuit)]
    blocks: list[list[list[str]]] = [[]]
    used = prefix_width
    for col in rendered:
        col_width = len(col[0])
        if blocks[-1] and used + col_width + 1 > width:
            blocks.append([])
            used = prefix_width + 1
        blocks[-1].append(col)
        used += col_width
    out_blocks = []
    for b, block in enumerate(blocks):
        lines = []
        for row in range(2 * n - 1):
            if row % 2 == 0:
                head = f"{names[row // 2]}: ".rjust(prefix_width) + ("«" if b else "")
                tail = "»" if b < len(blocks) - 1 else ""
            else:
                head = " " * (prefix_width + (1 if b else 0))
                tail = ""
            lines.append((head + "".join(col[row] for col in block) + tail).rstrip())
        out_blocks.append("\n".join(lines))
    return "\n\n".join(out_blocks)


def _text_column(ops: list[Operation], circuit: Circuit, n: int) -> list[str]:
    labels: dict[int, str] = {}
    connected: set[int] = set()  # gap rows (between qubit g and g+1) that carry a vertical line
    crossing: set[int] = set()  # qubit rows a vertical line crosses without acting on them
    for op in ops:
        for cell in cells(op, circuit):
            labels[cell.qubit] = cell.text if cell.kind in ("box", "measure") else _SYMBOL[cell.kind]
        if op.gate.name != "barrier" and len(op.qubits) > 1:
            low, high = min(op.qubits), max(op.qubits)
            connected.update(range(low, high))
            crossing.update(q for q in range(low + 1, high) if q not in op.qubits)
    inner = max([len(text) for text in labels.values()] + [1])
    rows = []
    for row in range(2 * n - 1):
        if row % 2 == 0:
            q = row // 2
            if q in labels:
                text = labels[q].center(inner, "─")
            elif q in crossing:
                text = "┼".center(inner, "─")
            else:
                text = "─" * inner
            rows.append("─" + text + "─")
        else:
            mark = "│" if row // 2 in connected else " "
            rows.append(" " + mark.center(inner) + " ")
    return rows


# --- SVG ---------------------------------------------------------------------------------------------------------
_ROW = 40
_CHAR = 8.0  # width of a 13px monospace character, rounded up
_LEFT_PAD = 10


def draw_svg(circuit: Circuit) -> str:
    """A self-contained SVG drawing (no scripts, no external fonts or files) for web pages."""
    names = qubit_names(circuit)
    label_width = max([len(name) for name in names] + [1]) * _CHAR + 2 * _LEFT_PAD
    columns = layout(circuit)
    widths = []
    for ops in columns:
        texts = [c.text for op in ops for c in cells(op, circuit) if c.kind in ("box", "measure")]
        widths.append(max([len(t) * _CHAR + 16 for t in texts] + [30.0]) + 14)
    total_width = label_width + sum(widths) + 20
    height = max(len(names), 1) * _ROW + 20

    def y(q: int) -> float:
        return 10 + _ROW / 2 + q * _ROW

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width:.0f}" height="{height}" '
        f'viewBox="0 0 {total_width:.0f} {height}" font-family="monospace" font-size="13" '
        f'role="img" aria-label="{escape(_summary(circuit))}">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for q, name in enumerate(names):
        parts.append(f'<text x="{_LEFT_PAD}" y="{y(q) + 4:.1f}" fill="#222">{escape(name)}</text>')
        parts.append(f'<line x1="{label_width - 6:.1f}" y1="{y(q):.1f}" x2="{total_width - 10:.1f}" '
                     f'y2="{y(q):.1f}" stroke="#555" stroke-width="1"/>')
    x = label_width
    for ops, col_width in zip(columns, widths, strict=True):
        cx = x + col_width / 2
        for op in ops:
            parts.extend(_svg_operation(op, circuit, cx, y))
        x += col_width
    parts.append("</svg>")
    return "\n".join(parts)


def _summary(circuit: Circuit) -> str:
    return f"circuit of {circuit.num_qubits} qubits and {len(circuit)} operations"


def _svg_operation(op: Operation, circuit: Circuit, cx: float, ypos: Callable[[int], float]) -> list[str]:
    """SVG elements for one operation centred at ``cx``; ``ypos`` gives a qubit's wire height."""
    out = []
    op_cells = cells(op, circuit)
    if op.gate.name == "barrier":
        for cell in op_cells:
            out.append(f'<line x1="{cx:.1f}" y1="{ypos(cell.qubit) - _ROW / 2:.1f}" x2="{cx:.1f}" '
                       f'y2="{ypos(cell.qubit) + _ROW / 2:.1f}" stroke="#999" stroke-width="2" '
                       'stroke-dasharray="4,3"/>')
        return out
    if len(op.qubits) > 1:
        out.append(f'<line x1="{cx:.1f}" y1="{ypos(min(op.qubits)):.1f}" x2="{cx:.1f}" '
                   f'y2="{ypos(max(op.qubits)):.1f}" stroke="#1f4e9c" stroke-width="2"/>')
    for cell in op_cells:
        cy = ypos(cell.qubit)
        if cell.kind == "control":
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="#1f4e9c"/>')
        elif cell.kind == "target":
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="11" fill="white" stroke="#1f4e9c" '
                       'stroke-width="2"/>')
            out.append(f'<path d="M{cx - 11:.1f},{cy:.1f}H{cx + 11:.1f}M{cx:.1f},{cy - 11:.1f}V{cy + 11:.1f}" '
                       'stroke="#1f4e9c" stroke-width="2"/>')
        elif cell.kind == "swap":
            out.append(f'<path d="M{cx - 6:.1f},{cy - 6:.1f}L{cx + 6:.1f},{cy + 6:.1f}M{cx - 6:.1f},{cy + 6:.1f}'
                       f'L{cx + 6:.1f},{cy - 6:.1f}" stroke="#1f4e9c" stroke-width="2"/>')
        else:
            box_width = len(cell.text) * _CHAR + 16
            fill = "#fde7c8" if cell.kind == "measure" else "#dce8fb"
            out.append(f'<rect x="{cx - box_width / 2:.1f}" y="{cy - 14:.1f}" width="{box_width:.1f}" '
                       f'height="28" rx="4" fill="{fill}" stroke="#1f4e9c" stroke-width="1.5"/>')
            out.append(f'<text x="{cx:.1f}" y="{cy + 4.5:.1f}" text-anchor="middle" fill="#111">'
                       f"{escape(cell.text)}</text>")
    return out
