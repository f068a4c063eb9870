"""Which :class:`~xihe.devices.driver.Driver` an agent runs: the twin's emulator, or an operator's own."""

from __future__ import annotations

import importlib
from typing import Any

from xihe.errors import ValidationError


def load_driver(spec: str, device_name: str) -> Any:
    """``emulator``: the device's twin; ``package.module:factory``: ``factory(device)`` returns the Driver."""
    from xihe import devices
    from xihe.devices.driver import Driver, EmulatorDriver

    device = devices.get(device_name)
    if spec == "emulator":
        return EmulatorDriver(device)
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValidationError(f"driver must be 'emulator' or 'package.module:factory', not {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValidationError(f"cannot load driver {spec!r}: {exc}") from exc
    driver = factory(device)
    if not isinstance(driver, Driver):
        raise ValidationError(f"{spec} returned {type(driver).__name__}, which lacks run(...) and calibration()")
    return driver
