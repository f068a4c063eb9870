"""Readout error and placeholder couplers from the chip file (issue 16).

Readout: the file's ``readout_fidelity_0``/``readout_fidelity_1`` where a qubit has them; otherwise the documented
model of the qubit's own numbers (thermal population at its frequency plus overlap for P(1|0); decay in the first
half of the readout window plus overlap for P(0|1)), checked here against the closed form. Before, every qubit of
every twin had 0.02/0.05, so a shallow circuit gave the same counts on all three twins with the same seed.

Couplers whose file fidelity is exactly 0.900 (three on Dongling, two on grid36 drawn from them) are placeholders:
they get the median of the chip's measured couplers of the same gate.
"""

from __future__ import annotations

import copy
import math
import statistics

import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.devices.defaults import DeviceDefaults
from xihe.devices.quafu import target_from_chip_info

H_OVER_K = 6.62607015e-34 / 1.380649e-23  # K s


def test_readout_model_is_the_closed_form_of_the_qubits_numbers() -> None:
    d = devices.get("line10")
    for q in (0, 5, 9):
        info = d.calibration.data["qubits_info"][d.target.labels[q]]
        thermal = 1 / (1 + math.exp(H_OVER_K * info["qubit_frequency"] * 1e9 / 0.050))
        decay = 1 - math.exp(-1500 / (2 * info["T1"] * 1e3))
        assert d.target.readout_error[q] == pytest.approx((0.01 + thermal, 0.01 + decay), abs=1e-12)


def test_readout_from_the_file_where_it_has_it() -> None:
    data = copy.deepcopy(devices.get("line10").calibration.data)
    data["qubits_info"]["Q0104"].update({"readout_fidelity_0": 0.97, "readout_fidelity_1": 0.91})
    target = target_from_chip_info(data, DeviceDefaults())
    assert target.readout_error[2] == pytest.approx((0.03, 0.09))
    assert target.readout_error[3] != pytest.approx((0.03, 0.09))  # Q0105 has none: the model


def test_a_shallow_circuit_no_longer_gives_the_same_counts_on_every_twin() -> None:
    counts = []
    for name in ("line10", "dongling", "grid36"):
        device = devices.get(name)
        compiled = device.compile(Circuit(1, 1).x(0).measure(0, 0), seed=1)
        counts.append(device.run(None, 20_000, seed=7, compiled=compiled).counts.get("0", 0))
    assert len(set(counts)) == 3, counts


def test_placeholder_couplers_get_the_median_of_the_measured_ones() -> None:
    d = devices.get("dongling")
    fidelities = {pair: gates["CZ"]["fidelity"] for pair, gates in d.calibration.data["topological_structure"].items()}
    placeholders = [pair for pair, f in fidelities.items() if f == 0.9]
    assert len(placeholders) == 3
    median = statistics.median(f for f in fidelities.values() if f != 0.9)
    index = {label: i for i, label in enumerate(d.target.labels)}
    for pair in placeholders:
        a, b = (index[x] for x in pair.split("_"))
        assert d.target.error("cz", (a, b)) == pytest.approx(1 - median)
    # An operator who trusts the file turns the rule off.
    literal = target_from_chip_info(d.calibration.data, DeviceDefaults(placeholder_two_qubit_fidelity=None))
    a, b = (index[x] for x in placeholders[0].split("_"))
    assert literal.error("cz", (a, b)) == pytest.approx(0.1)
