"""A driver for the agent tests: the line10 twin that recalibrates itself, as a real chip does between jobs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from xihe.devices.calibration import CalibrationSnapshot
from xihe.devices.device import Device
from xihe.devices.driver import EmulatorDriver


class RecalibratingEmulator(EmulatorDriver):
    """Runs on the twin; each ``calibration()`` is a new snapshot (next version, taken now, same chip data)."""

    def __init__(self, device: Device) -> None:
        super().__init__(device)
        self._versions = itertools.count(int(device.calibration.version) + 1)

    def calibration(self) -> CalibrationSnapshot:
        base = self.device.calibration
        return CalibrationSnapshot.make(self.device.name, next(self._versions), datetime.now(UTC), dict(base.data))


def recalibrating(device: Device) -> RecalibratingEmulator:
    return RecalibratingEmulator(device)
