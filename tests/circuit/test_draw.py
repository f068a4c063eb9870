"""Text and SVG drawings of circuits."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from xihe.circuit import Circuit, ClassicalRegister, Parameter, QuantumRegister
from xihe.circuit.draw import draw_svg, draw_text, format_param

SVG = "{http://www.w3.org/2000/svg}"


def test_bell_circuit_drawing() -> None:
    c = Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1])
    assert c.draw() == (
        "q[0]: ─H──■──M→c[0]─\n"
        "          │\n"
        "q[1]: ────⊕──M→c[1]─"
    )


def test_vertical_line_crosses_the_qubits_between() -> None:
    text = Circuit(3).cx(0, 2).draw()
    lines = text.splitlines()
    assert lines[0] == "q[0]: ─■─"
    assert lines[2] == "q[1]: ─┼─"
    assert lines[4] == "q[2]: ─⊕─"
    assert lines[1].strip() == lines[3].strip() == "│"


def test_parameters_and_conditions_are_shown() -> None:
    c = Circuit(QuantumRegister("q", 1), ClassicalRegister("flag", 1))
    c.rz(math.pi / 2, 0).rx(0.123456, 0).ry(2 * Parameter("theta"), 0)
    with c.conditioned("flag", 1):
        c.x(0)
    line = c.draw().splitlines()[0]
    for part in ("RZ(π/2)", "RX(0.1235)", "RY(2.0*theta)", "X if flag==1"):
        assert part in line


def test_parameter_formatting() -> None:
    assert [format_param(v) for v in (math.pi, -math.pi / 4, 3 * math.pi / 2, 0.5, 0.0)] == [
        "π", "-π/4", "3π/2", "0.5", "0"]


def test_long_circuits_wrap_at_the_width() -> None:
    c = Circuit(2)
    for i in range(60):
        c.rz(i / 7, i % 2).cx(0, 1)
    text = draw_text(c, width=80)
    blocks = text.split("\n\n")
    assert len(blocks) > 3
    assert all(len(line) <= 81 for line in text.splitlines())
    assert blocks[0].splitlines()[0].endswith("»") and blocks[1].splitlines()[0].startswith("q[0]: «")


def test_every_kind_of_operation_draws() -> None:
    c = Circuit(4, 2).swap(0, 3).ccx(0, 1, 2).mcx([0, 1, 2], 3).iswap(1, 2).barrier().reset(0).delay(50, 1)
    c.cswap(0, 1, 2).crz(0.5, 0, 1).cz(2, 3).measure([0, 1], [0, 1])
    text = c.draw()
    for symbol in ("×", "⊕", "■", "░", "|0⟩", "delay(50ns)", "iswap:0", "iswap:1", "RZ(0.5)", "M→c[1]"):
        assert symbol in text
    assert len(text.splitlines()) == 7


def test_svg_is_self_contained_and_lists_every_qubit() -> None:
    c = Circuit(3, 1).h(0).cx(0, 2).rzz(0.5, 1, 2).measure(2, 0).barrier()
    svg = draw_svg(c)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"q[0]", "q[1]", "q[2]", "H", "M→c[0]"} <= set(texts)
    assert "script" not in svg and "href" not in svg
    assert len(list(root.iter(f"{SVG}circle"))) == 2  # the control dot and the target


def test_svg_escapes_labels() -> None:
    c = Circuit(1).rz(Parameter("a") / Parameter("b"), 0)
    ET.fromstring(draw_svg(c))


def test_empty_circuit_draws() -> None:
    assert Circuit().draw() == "(empty circuit)"
    ET.fromstring(draw_svg(Circuit()))
    assert Circuit(1).draw() == "q[0]:"


def test_notebooks_show_the_svg() -> None:
    c = Circuit(1).h(0)
    assert c._repr_svg_() == draw_svg(c)
