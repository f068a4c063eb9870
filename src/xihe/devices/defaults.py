"""Defaults for what the Quafu chip-info format does not say, and the operator's overrides of them.

The format gives T1, T2echo, T2*, qubit frequencies, one-qubit gate durations and two-qubit gate fidelities; it
usually has no readout error, no two-qubit gate duration, no one-qubit gate fidelity and no measurement duration.
Each gets a documented default (``docs/devices.md``). The readout default is a model of the qubit's own numbers, not
one constant for every chip: P(1|0) is the thermal excited population at the qubit's frequency plus a state-overlap
error, P(0|1) the chance that |1> decays (T1) in the first half of the readout window plus the same overlap error.
An operator overrides any of them per device with a JSON file named by the environment variable
``XIHE_DEVICE_OVERRIDES``::

    {"dongling": {"readout_p1_given_0": 0.015, "two_qubit_gate_duration_ns": 40,
                  "readout_error": {"Q0103": [0.01, 0.03]}}}
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from xihe.errors import ValidationError

OVERRIDES_ENV = "XIHE_DEVICE_OVERRIDES"
#: Planck constant over Boltzmann constant, K/GHz: a qubit at f GHz and temperature T K has h f / k T = 0.048 f / T.
H_OVER_K_KELVIN_PER_GHZ = 6.62607015e-34 * 1e9 / 1.380649e-23
#: Readout error where the file gives neither the qubit's frequency (P(1|0)) nor its T1 (P(0|1)).
FALLBACK_READOUT = (0.02, 0.05)
_OPTIONAL = frozenset({"readout_p1_given_0", "readout_p0_given_1", "placeholder_two_qubit_fidelity"})


@dataclass(frozen=True)
class DeviceDefaults:
    """Values used where a chip file is silent. Times in ns, probabilities in 0..1."""

    # A constant readout error for every qubit (``None``: the model below, per qubit).
    readout_p1_given_0: float | None = None
    readout_p0_given_1: float | None = None
    # The readout model: effective qubit temperature (thermal |1> population) and the state-overlap error.
    readout_temperature_mk: float = 50.0
    readout_overlap_error: float = 0.01
    # A coupler whose file fidelity is exactly this is a placeholder (not measured): it gets the median fidelity of
    # the chip's measured couplers of the same gate. ``None`` reads every file fidelity as measured.
    placeholder_two_qubit_fidelity: float | None = 0.9
    two_qubit_gate_duration_ns: float = 60.0
    single_qubit_gate_duration_ns: float = 30.0
    single_qubit_gate_error: float = 1e-3
    measure_duration_ns: float = 1500.0
    # Per-qubit readout (label -> [p1_given_0, p0_given_1]) and per-pair 2q duration (``"Qa_Qb"`` -> ns).
    readout_error: dict[str, tuple[float, float]] = field(default_factory=dict)
    two_qubit_gate_duration: dict[str, float] = field(default_factory=dict)

    def readout_for(self, label: str, frequency_ghz: float | None = None, t1_ns: float | None = None) \
            -> tuple[float, float]:
        """(P(1|0), P(0|1)) of qubit ``label``: a per-qubit override, the device's constants, else the model.

        Model: P(1|0) = overlap + 1 / (1 + exp(h f / k T)) (thermal population at the qubit's frequency ``f``);
        P(0|1) = overlap + 1 - exp(-t_m / (2 T1)) (a decay in the first half of the ``t_m`` readout window is read
        as 0). Without a frequency or a T1 the matching value of :data:`FALLBACK_READOUT` is used.
        """
        found = self.readout_error.get(label)
        if found is not None:
            return float(found[0]), float(found[1])
        if self.readout_p1_given_0 is not None:
            p10 = self.readout_p1_given_0
        elif frequency_ghz and frequency_ghz > 0:
            ratio = H_OVER_K_KELVIN_PER_GHZ * frequency_ghz / (self.readout_temperature_mk * 1e-3)
            p10 = self.readout_overlap_error + 1.0 / (1.0 + math.exp(ratio))
        else:
            p10 = FALLBACK_READOUT[0]
        if self.readout_p0_given_1 is not None:
            p01 = self.readout_p0_given_1
        elif t1_ns and t1_ns > 0:
            p01 = self.readout_overlap_error + 1.0 - math.exp(-self.measure_duration_ns / (2.0 * t1_ns))
        else:
            p01 = FALLBACK_READOUT[1]
        return min(max(p10, 0.0), 1.0), min(max(p01, 0.0), 1.0)

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
            elif key in _OPTIONAL and value is None:
                clean[key] = None
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
