"""Closed loop on the twins: what the experiments measure agrees with the calibration the twin was built from.

Each measured figure must lie within 3 standard errors of the calibration value (T1; T2 by Ramsey, the file's T2*,
with which an idle qubit dephases; T2 by echo, the file's T2echo, with which a refocused qubit dephases; readout
confusion; the two-qubit gate error by interleaved RB). About 16 figures are compared per chip, so 3 sigma (a
two-sided 99.7% each) keeps the family-wise false alarm near 5%, as Bonferroni's rule asks; one 95% interval each
would miss somewhere on more than half the seeds. Over 20 seeds about 97% of the 95% intervals contain the
calibration value (docs/characterization.md), as 95% intervals should.
"""

from __future__ import annotations

import pytest

from xihe import devices
from xihe.characterize.closed_loop import compare_with_calibration
from xihe.characterize.quantum_volume import QuantumVolume
from xihe.characterize.runners import device_runner
from xihe.characterize.suite import choose_region


def _check(device_name: str, qubits: list[int]) -> None:
    device = devices.get(device_name)
    comparisons = compare_with_calibration(device, qubits, pair=(qubits[0], qubits[1]), seed=0, shots=1000)
    quantities = {c.quantity for c in comparisons}
    assert {"p1_given_0", "p0_given_1", "t1_us", "t2_ramsey_us", "t2_echo_us"} <= quantities
    assert any(q.endswith("_error") for q in quantities)  # the native 2q gate's error
    outside = [str(c) for c in comparisons if abs(c.measured.value - c.calibration) > 3 * c.measured.stderr]
    assert not outside, "\n".join(outside)


def test_line10_measures_its_calibration() -> None:
    _check("line10", [1, 2, 3])  # qubit 0's coupler is dead on line10


def test_dongling_region_measures_its_calibration() -> None:
    device = devices.get("dongling")
    region = choose_region(device, 3)
    assert all(q in device.working_qubits for q in region)
    _check("dongling", region)


def test_quantum_volume_on_a_twin_matches_the_calibration_prediction() -> None:
    device = devices.get("line10")
    result = QuantumVolume(3, trials=50, seed=13).run(device_runner(device), shots=400, seed=3)
    predicted = result.metadata["predicted_hop"]
    hop = result["heavy_output_probability"]
    assert predicted is not None and hop.contains(predicted)
    # Noise lowers the heavy-output frequency below the ideal circuits' own heavy-output mass.
    assert hop.value < result.metadata["ideal_mean"]


@pytest.mark.parametrize("n", [2, 3])
def test_quantum_volume_passes_on_the_ideal_sim_backend(n: int) -> None:
    result = QuantumVolume(n, trials=100, seed=20 + n).run(device_runner(devices.get("sim")), shots=300, seed=n)
    assert result.metadata["passed"]
