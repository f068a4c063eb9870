"""Calibration data (Quafu chip-info JSON) as table rows for the backend and job pages.

Units as DESIGN.md shows them: T1/T2 in µs, frequencies in GHz, fidelities and errors in 0..1. Readout error comes
from the device's Target (the chip file has none; the device's documented default or the operator's override);
a row says which (``readout_default``: the value is the default of :mod:`xihe.devices.defaults`, not a figure
measured for that qubit), and the pages mark such values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from xihe.devices.defaults import DeviceDefaults
from xihe.devices.quafu import file_readout
from xihe.devices.quafu import labels as chip_labels


@dataclass(frozen=True)
class QubitRow:
    index: int
    label: str
    working: bool
    t1_us: float | None
    t2echo_us: float | None
    t2star_us: float | None
    frequency_ghz: float | None
    readout_error: float | None
    readout_default: bool = False  # the readout error is the device's default (no per-qubit figure was given)


@dataclass(frozen=True)
class CouplerRow:
    pair: str
    qubits: tuple[int, int] | None
    gate: str
    fidelity: float


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def is_chip_info(data: dict[str, Any]) -> bool:
    return "all_qubits_info" in data or "qubits_info" in data


def qubit_rows(data: dict[str, Any], target: Any, only: Iterable[int] | None = None,
               defaults: DeviceDefaults | None = None) -> list[QubitRow]:
    """One row per numbered qubit (dead ones included), or only the physical qubits ``only``.

    ``defaults``: the device's (``Device.defaults``); a qubit with no per-qubit readout override then has its
    readout error marked as default-filled (the chip-info format carries no readout data).
    """
    labels = chip_labels(data) if is_chip_info(data) else []
    info = data.get("qubits_info") or {}
    wanted = None if only is None else set(only)
    rows = []
    for index, label in enumerate(labels):
        if wanted is not None and index not in wanted:
            continue
        fields = info.get(label)
        readout = target.readout_error.get(index) if target is not None else None
        rows.append(QubitRow(
            index=index, label=label, working=fields is not None,
            t1_us=_number((fields or {}).get("T1")), t2echo_us=_number((fields or {}).get("T2echo")),
            t2star_us=_number((fields or {}).get("T2star")),
            frequency_ghz=_number((fields or {}).get("qubit_frequency")),
            readout_error=(sum(readout) / 2 if readout and fields is not None else None),
            readout_default=bool(readout and fields is not None and defaults is not None
                                 and label not in defaults.readout_error and file_readout(fields) is None),
        ))
    return rows


def coupler_rows(data: dict[str, Any], only: Iterable[int] | None = None) -> list[CouplerRow]:
    """Every coupler of the file with its best-known fidelity (0 for dead ones); ``only``: pairs within it."""
    labels = chip_labels(data) if is_chip_info(data) else []
    index = {label: i for i, label in enumerate(labels)}
    alive = set(data.get("qubits_info") or {})
    working = data.get("topological_structure") or {}
    everything = {**(data.get("all_topological_structure") or {}), **working}
    wanted = None if only is None else set(only)
    rows = []
    for pair, gates in everything.items():
        a, _, b = str(pair).partition("_")
        qubits = (index[a], index[b]) if a in index and b in index else None
        if wanted is not None and (qubits is None or not set(qubits) <= wanted):
            continue
        for gate, fields in (gates or {}).items():
            fidelity = _number((fields or {}).get("fidelity") if isinstance(fields, dict) else None) or 0.0
            if pair not in working or a not in alive or b not in alive:
                fidelity = 0.0  # a coupler to a dead qubit, or one the file lists only among all couplers
            rows.append(CouplerRow(pair=str(pair), qubits=qubits, gate=str(gate).upper(), fidelity=fidelity))
    rows.sort(key=lambda row: row.qubits or (10**9, 10**9))
    return rows


def summary(rows: list[QubitRow], couplers: list[CouplerRow]) -> dict[str, Any]:
    """Medians a user compares chips by."""
    def median(values: list[float]) -> float | None:
        values = sorted(values)
        if not values:
            return None
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

    working = [row for row in rows if row.working]
    return {
        "working": len(working), "dead": len(rows) - len(working),
        "t1_us": median([r.t1_us for r in working if r.t1_us is not None]),
        "t2echo_us": median([r.t2echo_us for r in working if r.t2echo_us is not None]),
        "readout_error": median([r.readout_error for r in working if r.readout_error is not None]),
        "readout_default": bool(working) and all(r.readout_default for r in working if r.readout_error is not None),
        "fidelity_2q": median([c.fidelity for c in couplers if c.fidelity > 0]),
        "couplers": sum(1 for c in couplers if c.fidelity > 0),
    }
