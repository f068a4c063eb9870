"""The backends this process knows: the devices of :mod:`xihe.devices`, loaded once and cached.

Loading a device reads its chip file, so it happens on first use, never at import.
"""

from __future__ import annotations

import threading
from typing import Any

from xihe.service.problems import Problem


class DeviceCatalog:
    """Caches ``xihe.devices.get(name)`` per process; answers 'unknown backend' as a problem."""

    def __init__(self) -> None:
        self._devices: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._names: list[str] | None = None
        self._exclusive: set[str] | None = None

    def names(self) -> list[str]:
        if self._names is None:
            from xihe import devices

            self._names = list(devices.names())
        return self._names

    def get(self, name: str) -> Any:
        device = self._devices.get(name)
        if device is not None:
            return device
        if name not in self.names():
            raise Problem(422, "unknown_backend",
                          f"unknown backend {name!r}; available: {', '.join(self.names())}", stage="validate")
        with self._lock:
            if name not in self._devices:
                from xihe import devices

                self._devices[name] = devices.get(name)
        return self._devices[name]

    def parallelism(self, backend: str, workers: int) -> int:
        """How many of ``backend``'s jobs run at once: one on an exclusive backend, one per worker otherwise."""
        return 1 if backend in self.exclusive_names() else int(workers)

    def exclusive_names(self) -> set[str]:
        """Backends that run one job at a time (twins and hardware)."""
        if self._exclusive is None:
            self._exclusive = {name for name in self.names() if bool(getattr(self.get(name), "exclusive", False))}
        return self._exclusive


def calibration_fields(device: Any) -> dict[str, Any] | None:
    """The device's current calibration snapshot as plain data, or None if it has none."""
    snapshot = getattr(device, "calibration", None)
    if snapshot is None:
        return None
    return {"snapshot_id": str(snapshot.id), "version": str(getattr(snapshot, "version", "")),
            "time": snapshot.time, "data": dict(getattr(snapshot, "data", {}) or {})}
