"""Calibration snapshots: one device calibration (Quafu chip-info data), versioned, kept as history.

A snapshot's ``id`` is ``<device>-v<version>-<hash of its data>``, so two snapshots with the same data and version
share an id, and a job records exactly which calibration it ran under.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from xihe.errors import ValidationError


def data_digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class CalibrationSnapshot:
    """One calibration of one device: ``id``, ``version`` (1, 2, ...), ``time`` it was taken, and its ``data``."""

    id: str
    version: int
    time: datetime
    data: dict[str, Any] = field(compare=False, hash=False)

    @classmethod
    def make(cls, device: str, version: int, time: datetime, data: dict[str, Any]) -> CalibrationSnapshot:
        return cls(f"{device}-v{version}-{data_digest(data)}", version, time, data)


class CalibrationHistory:
    """The snapshots of one device in time order; ``at(time)`` finds the one in force then."""

    def __init__(self, device: str, snapshots: list[CalibrationSnapshot] | None = None) -> None:
        self.device = device
        self._snapshots = sorted(snapshots or [], key=lambda s: (s.time, s.version))

    def __len__(self) -> int:
        return len(self._snapshots)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._snapshots))

    @property
    def latest(self) -> CalibrationSnapshot:
        if not self._snapshots:
            raise ValidationError(f"device {self.device} has no calibration")
        return self._snapshots[-1]

    def add(self, data: dict[str, Any], time: datetime) -> CalibrationSnapshot:
        """Record new calibration data as the next version."""
        version = max((s.version for s in self._snapshots), default=0) + 1
        snapshot = CalibrationSnapshot.make(self.device, version, time, data)
        self._snapshots.append(snapshot)
        self._snapshots.sort(key=lambda s: (s.time, s.version))
        return snapshot

    def at(self, time: datetime) -> CalibrationSnapshot | None:
        """The latest snapshot taken at or before ``time`` (``None`` if all are later)."""
        found = None
        for snapshot in self._snapshots:
            if snapshot.time <= time:
                found = snapshot
        return found
