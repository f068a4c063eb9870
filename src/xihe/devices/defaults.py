"""Defaults for what the Quafu chip-info format does not say, and the operator's overrides of them.

The format gives T1, T2echo, one-qubit gate durations and two-qubit gate fidelities; it has no readout error, no
two-qubit gate duration, no one-qubit gate fidelity and no measurement duration. Each gets a documented default
(``docs/devices.md``). An operator overrides them per device with a JSON file named by the environment variable
``XIHE_DEVICE_OVERRIDES``::

    {"dongling": {"readout_p1_given_0": 0.015, "two_qubit_gate_duration_ns": 40,
                  "readout_error": {"Q0103": [0.01, 0.03]}}}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from xihe.errors import ValidationError

OVERRIDES_ENV = "XIHE_DEVICE_OVERRIDES"


@dataclass(frozen=True)
class DeviceDefaults:
    """Values used where a chip file is silent. Times in ns, probabilities in 0..1."""

    readout_p1_given_0: float = 0.02
    readout_p0_given_1: float = 0.05
    two_qubit_gate_duration_ns: float = 60.0
    single_qubit_gate_duration_ns: float = 30.0
    single_qubit_gate_error: float = 1e-3
    measure_duration_ns: float = 1500.0
    # Per-qubit readout (label -> [p1_given_0, p0_given_1]) and per-pair 2q duration (``"Qa_Qb"`` -> ns).
    readout_error: dict[str, tuple[float, float]] = field(default_factory=dict)
    two_qubit_gate_duration: dict[str, float] = field(default_factory=dict)

    def readout_for(self, label: str) -> tuple[float, float]:
        found = self.readout_error.get(label)
        if found is not None:
            return float(found[0]), float(found[1])
        return self.readout_p1_given_0, self.readout_p0_given_1

    def two_qubit_duration_for(self, pair: str) -> float:
        return float(self.two_qubit_gate_duration.get(pair, self.two_qubit_gate_duration_ns))

    def updated(self, values: dict[str, Any]) -> DeviceDefaults:
        """A copy with ``values`` applied; unknown keys are an error (so typos do not pass silently)."""
        known = {f.name for f in fields(self)}
        unknown = set(values) - known
        if unknown:
            raise ValidationError(f"unknown device override(s) {sorted(unknown)}; known: {sorted(known)}")
        clean: dict[str, Any] = {}
        for key, value in values.items():
            if key == "readout_error":
                clean[key] = {str(k): (float(v[0]), float(v[1])) for k, v in value.items()}
            elif key == "two_qubit_gate_duration":
                clean[key] = {str(k): float(v) for k, v in value.items()}
            else:
                clean[key] = float(value)
        return replace(self, **clean)


def load_overrides(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Per-device overrides from ``path`` or ``$XIHE_DEVICE_OVERRIDES`` (empty when neither is set)."""
    source = path if path is not None else os.environ.get(OVERRIDES_ENV)
    if not source:
        return {}
    try:
        data = json.loads(Path(source).read_text())
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read device overrides {source}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValidationError(f"device overrides {source} must map device names to objects")
    return data


def defaults_for(device: str, path: str | Path | None = None) -> DeviceDefaults:
    return DeviceDefaults().updated(load_overrides(path).get(device, {}))
