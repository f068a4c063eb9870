"""The driver protocol a remote agent implements for a device, and the emulator driver that runs a twin.

An agent on a chip's control computer claims jobs over HTTP, compiles them for the chip and hands the native
circuit to its :class:`Driver`; the :class:`EmulatorDriver` does the same on a twin, so the whole path can be run
and tested without hardware.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from xihe.circuit import Circuit
from xihe.devices.calibration import CalibrationSnapshot
from xihe.devices.device import Device


@runtime_checkable
class Driver(Protocol):
    """Runs native circuits on one device and reports its current calibration."""

    def run(self, native_circuit: Circuit, shots: int, seed: int | None) -> dict[str, int]: ...

    def calibration(self) -> CalibrationSnapshot: ...


class EmulatorDriver:
    """A :class:`Driver` over a device's emulator (its twin's noise model)."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def run(self, native_circuit: Circuit, shots: int, seed: int | None) -> dict[str, int]:
        return dict(self.device.run(native_circuit, shots, seed=seed).counts)

    def calibration(self) -> CalibrationSnapshot:
        return self.device.calibration
