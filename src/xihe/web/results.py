"""What a job page shows of its results, and how the reader chose to see them: the top-k bars by count, a linear
or log axis, the marginal over chosen classical bits, the ideal (noiseless) distribution of the same circuit over
a twin's measured bars, and the counts as CSV.

The choices are query parameters (``top``, ``scale=log``, ``bits=0,2``, ``ideal=0``), so every view is a link
that can be shared, and the drawing stays one server-side SVG (:mod:`xihe.web.charts`).

>>> ResultOptions.parse(top="8", scale="log", bits="2, 0,x,2", ideal="0")
ResultOptions(top=8, log=True, bits=(2, 0), ideal=False)
>>> counts_csv([("11", 3, 0.75), ("00", 1, 0.25)], {"11": 0.5, "00": 0.5}).splitlines()
['outcome,count,probability,ideal_probability', '11,3,0.750000,0.500000', '00,1,0.250000,0.500000']
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from xihe import qasm
from xihe.circuit.draw import draw_svg
from xihe.devices.device import compact_circuit
from xihe.qasm.limits import ParseLimits, QasmLimitError
from xihe.service.schemas import JobPublic, ResultPublic
from xihe.web.charts import by_count, histogram_svg, marginal, marginal_probabilities, total_variation
from xihe.web.ideal import IdealUnavailable, ideal_distribution

TOP_CHOICES = (8, 16, 32, 48, 64)
MAX_RESULTS_SHOWN = 12
MAX_DRAWN_OPERATIONS = 1500
# A compiled circuit's QASM longer than this is not read for its drawing: 1,500 operations of a chip's native gates
# with full-precision angles take at most ~100 KB, so a longer text could not be drawn anyway.
MAX_DRAWN_BYTES = 128 * 1024
MAX_BITS = 64
# A marginal of a result whose counts are in pages is taken over every page, streaming, for at most this many bits
# (2^14 outcomes, a count page's worth, whatever the result's size); over more bits, over its first page only.
MAX_STREAMED_MARGINAL_BITS = 14
# Every (outcome, count) of one result, most frequent first, read a page at a time: (result index, its record).
WholeCounts = Callable[[int, ResultPublic], Iterable[tuple[str, int]]]


@dataclass(frozen=True)
class ResultOptions:
    top: int = 48
    log: bool = False
    bits: tuple[int, ...] = ()
    ideal: bool = True

    @classmethod
    def parse(cls, top: str = "", scale: str = "", bits: str = "", ideal: str = "") -> ResultOptions:
        chosen: list[int] = []
        for part in bits.split(","):
            part = part.strip()
            if part.isdigit() and int(part) < MAX_BITS and int(part) not in chosen:
                chosen.append(int(part))
        return cls(top=int(top) if top.isdigit() and int(top) in TOP_CHOICES else 48, log=scale == "log",
                   bits=tuple(chosen), ideal=ideal != "0")


@dataclass(frozen=True)
class ResultView:
    index: int
    result: ResultPublic
    histogram: str
    counts: list[tuple[str, int, float]]
    compiled_svg: str | None
    compiled_note: str | None
    num_bits: int
    ideal: dict[str, float] | None = None
    ideal_note: str | None = None
    distance: float | None = None  # total variation between measured and ideal
    marginal_note: str | None = None
    bits: tuple[int, ...] = ()  # the chosen bits this result has: what its marginal is over, what its headings name


def compiled_drawing(qasm_text: str | None) -> tuple[str | None, str | None]:
    """The compiled circuit on the physical qubits it touches only (a 130-qubit chip would be mostly empty wires).

    The page reads stored QASM on its request thread, up to :data:`MAX_RESULTS_SHOWN` circuits a page, so what it
    reads is bounded before anything is built: a text longer than :data:`MAX_DRAWN_BYTES` is not read at all, and
    a shorter one is read under a cap of :data:`MAX_DRAWN_OPERATIONS` expanded operations (the reader's cost
    model refuses a broadcast or a ``gate`` body past it before it builds them)."""
    if not qasm_text:
        return None, None
    if len(qasm_text) > MAX_DRAWN_BYTES:
        return None, (f"the compiled circuit is {len(qasm_text):,} characters of QASM: too large to draw (at most "
                      f"{MAX_DRAWN_BYTES:,}); see the QASM below")
    try:
        circuit = qasm.loads(qasm_text, limits=ParseLimits(max_operations=MAX_DRAWN_OPERATIONS))
    except QasmLimitError as exc:
        return None, (f"more than {exc.allowed:,} operations ({exc.limit}): too large to draw; see the QASM below")
    except Exception as exc:  # stored by the worker; a reader change must not break the page
        return None, f"the compiled circuit could not be read back: {exc}"
    touched = sorted({q for op in circuit.operations for q in op.qubits if op.gate.name != "barrier"})
    if not touched:
        return draw_svg(circuit), None
    svg = draw_svg(compact_circuit(circuit, touched))
    for i, physical in enumerate(touched):
        svg = svg.replace(f'fill="#222">q[{i}]</text>', f'fill="#222">Q{physical}</text>', 1)
    return svg, f"wires are the physical qubits {', '.join(map(str, touched))}"


def source_programs(payload: dict[str, Any]) -> list[str]:
    """The submitted programs whose results are one circuit each (a parameter sweep's are not: no overlay)."""
    if payload.get("parameters"):
        return []
    return [text for text in payload.get("circuits") or [] if isinstance(text, str)]


def _ideal(sources: list[str], index: int, wanted: bool) -> tuple[dict[str, float] | None, str | None]:
    if not wanted or index >= len(sources):
        return None, None
    try:
        return ideal_distribution(sources[index]), None
    except IdealUnavailable as exc:
        return None, f"No ideal overlay: {exc}."


def is_paged(result: ResultPublic) -> bool:
    """Whether the record carries only the most frequent page of its counts (the rest in count pages)."""
    return (result.counts_outcomes or 0) > len(result.counts)


def _shown_counts(index: int, result: ResultPublic, bits: list[int], whole_counts: WholeCounts | None
                  ) -> tuple[dict[str, int], str | None]:
    """The counts the view shows, and why a marginal covers fewer shots than the result when it does."""
    if not bits:
        return dict(result.counts), None
    if not is_paged(result) or whole_counts is None:
        return marginal(result.counts, bits), None
    if len(bits) > MAX_STREAMED_MARGINAL_BITS:
        return marginal(result.counts, bits), (
            f"This result has {result.counts_outcomes:,} outcomes: a marginal over more than "
            f"{MAX_STREAMED_MARGINAL_BITS} bits is taken over its {len(result.counts):,} most frequent only.")
    return marginal(whole_counts(index, result), bits), None


def result_view(index: int, result: ResultPublic, options: ResultOptions, sources: list[str],
                with_ideal: bool, whole_counts: WholeCounts | None = None) -> ResultView:
    """One result as the page shows it. ``whole_counts`` reads a paged result's every outcome, a page at a time:
    a marginal over at most :data:`MAX_STREAMED_MARGINAL_BITS` bits is then taken over every shot."""
    num_bits = max((len(key) for key in result.counts), default=0)
    bits = [b for b in options.bits if b < num_bits]
    counts, marginal_note = _shown_counts(index, result, bits, whole_counts)
    missing = [b for b in options.bits if b >= num_bits]
    if missing and num_bits:
        # Named, not dropped silently: the headings once said "c[0], c[9]" over one-bit outcomes of c[0] alone.
        left_out = (f"c[{'], c['.join(map(str, missing))}] {'is' if len(missing) == 1 else 'are'} not in this "
                    f"result (c[0] to c[{num_bits - 1}]), so left out of the marginal.")
        marginal_note = f"{left_out} {marginal_note}" if marginal_note else left_out
    ideal, note = _ideal(sources, index, with_ideal and options.ideal)
    if ideal is not None and bits:
        ideal = marginal_probabilities(ideal, bits)
    # Counts of many outcomes arrive as their most frequent page only: fractions are of all the shots.
    total = (result.shots if result.counts_outcomes else 0) or sum(counts.values()) or 1
    rows = [(key, count, count / total) for key, count in by_count(counts)]
    svg, compiled_note = compiled_drawing(result.compiled_qasm)
    return ResultView(index, result, histogram_svg(counts, max_bars=options.top, log=options.log, ideal=ideal),
                      rows, svg, compiled_note, num_bits, ideal, note,
                      total_variation(counts, ideal) if ideal is not None else None, marginal_note, tuple(bits))


def stored_results(public: JobPublic) -> list[ResultPublic]:
    return [public.result] if public.result is not None else list(public.results or [])


def summary_view(index: int, result: ResultPublic) -> ResultView:
    """An item the job's record carries as a summary (past its size budget, ``item_url`` set): the page says its
    shots and outcomes and links to the page of that item alone and to its CSV, drawing nothing."""
    return ResultView(index, result, "", [], None, None, 0)


def result_views(public: JobPublic, options: ResultOptions, sources: list[str], with_ideal: bool,
                 whole_counts: WholeCounts | None = None) -> list[ResultView]:
    """The page's views of the job's first results; an item carried as a summary gets :func:`summary_view`."""
    stored = stored_results(public)
    return [summary_view(i, r) if r.item_url is not None else result_view(i, r, options, sources, with_ideal,
                                                                          whole_counts)
            for i, r in enumerate(stored[:MAX_RESULTS_SHOWN])]


def counts_csv_lines(rows: Iterable[tuple[str, int, float]], ideal: dict[str, float] | None = None
                    ) -> Iterator[str]:
    """The counts table as CSV lines, in the rows' order (a paged result's every outcome, read as it is sent)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["outcome", "count", "probability", *(["ideal_probability"] if ideal is not None else [])])
    for key, count, p in rows:
        extra = [f"{ideal.get(key, 0.0):.6f}"] if ideal is not None else []
        writer.writerow([key, count, f"{p:.6f}", *extra])
        if out.tell() > 1 << 16:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def counts_csv(rows: list[tuple[str, int, float]], ideal: dict[str, float] | None = None) -> str:
    """The counts table as CSV, most frequent first (what the page shows, with the ideal column when drawn)."""
    return "".join(counts_csv_lines(rows, ideal))
