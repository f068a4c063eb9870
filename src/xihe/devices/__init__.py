"""Layer 4: devices. A device is a Target plus calibration, noise model and engine choice, built from data files.

``get(name)`` and ``names()`` are the registry; ``compile`` (also ``xihe.compile``) resolves a backend's Target.
"""

from xihe.devices.calibration import CalibrationHistory, CalibrationSnapshot
from xihe.devices.device import Device
from xihe.devices.registry import get, names

__all__ = ["CalibrationHistory", "CalibrationSnapshot", "Device", "get", "names"]
