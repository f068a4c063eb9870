"""Calibration history of one qubit or coupler: each figure over the backend's calibration snapshots (the ones
recorded in the database, then the device's own), oldest first, for the chip panel's plots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from xihe.web import calibration as calibration_table

MAX_SNAPSHOTS = 60
QUBIT_FIGURES = (("t1_us", "T1 (µs)", "{:.1f}"), ("t2echo_us", "T2 echo (µs)", "{:.1f}"),
                 ("t2star_us", "T2* (µs)", "{:.1f}"), ("frequency_ghz", "frequency (GHz)", "{:.4f}"))


@dataclass(frozen=True)
class Snapshot:
    id: str
    time: datetime
    data: dict[str, Any]


def merged(recorded: Sequence[Snapshot], own: Sequence[Snapshot]) -> list[Snapshot]:
    """Both sources, one entry per snapshot id, oldest first, the latest :data:`MAX_SNAPSHOTS`."""
    by_id = {s.id: s for s in own}
    by_id.update({s.id: s for s in recorded})
    return sorted(by_id.values(), key=lambda s: s.time)[-MAX_SNAPSHOTS:]


Series = list[tuple[str, float]]  # (snapshot time, value), oldest first


def qubit_series(snapshots: Sequence[Snapshot], target: Any, qubit: int) -> dict[str, tuple[str, Series]]:
    """Figure key -> (label with unit, [(snapshot time, value)]) for every figure the snapshots carry."""
    out: dict[str, tuple[str, Series]] = {}
    for snap in snapshots:
        if not calibration_table.is_chip_info(snap.data):
            continue
        rows = calibration_table.qubit_rows(snap.data, target, only=[qubit])
        if not rows:
            continue
        for key, label, _ in QUBIT_FIGURES:
            value = getattr(rows[0], key)
            if value is not None:
                out.setdefault(key, (label, []))[1].append((snap.time.strftime("%Y-%m-%d %H:%M"), float(value)))
    return out


def coupler_series(snapshots: Sequence[Snapshot], pair: tuple[int, int]) -> Series:
    """The coupler's best two-qubit gate fidelity at each snapshot that lists it (0 where it was dead)."""
    points = []
    for snap in snapshots:
        if not calibration_table.is_chip_info(snap.data):
            continue
        rows = [r for r in calibration_table.coupler_rows(snap.data, only=pair)
                if r.qubits and set(r.qubits) == set(pair)]
        if rows:
            points.append((snap.time.strftime("%Y-%m-%d %H:%M"), max(r.fidelity for r in rows)))
    return points
