"""The mitigation mathematics against independent computations: the tensored confusion matrix inverted with numpy,
polynomial and log-linear fits with numpy, and folded circuits' unitaries with Qiskit's ``Operator``."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from qiskit import qasm2
from qiskit.quantum_info import Operator

from xihe import devices, qasm
from xihe.circuit import Circuit
from xihe.devices.plan import PlanOptions
from xihe.mitigation import (
    calibration_circuits,
    check_noise_factors,
    exponential,
    extrapolate,
    fold_global,
    measured_confusion,
    parity_weights,
    richardson,
)

RNG = np.random.default_rng(77)


def confusion(p10: float, p01: float) -> np.ndarray:
    return np.array([[1 - p10, p01], [p10, 1 - p01]])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_parity_weights_equal_the_inverse_tensored_confusion_applied_to_the_distribution(n: int) -> None:
    errors = RNG.uniform(0.0, 0.15, size=(n, 2))
    matrix = confusion(*errors[0])
    for p10, p01 in errors[1:]:
        matrix = np.kron(matrix, confusion(p10, p01))  # qubit 0 is the leftmost factor: outcome bits in order
    true = RNG.dirichlet(np.ones(2**n))
    measured = matrix @ true
    outcomes = list(itertools.product([0, 1], repeat=n))
    parity = np.array([(-1) ** sum(bits) for bits in outcomes])
    weights = [parity_weights(*e) for e in errors]
    mitigated = sum(p * math.prod(weights[q][bits[q]] for q in range(n)) for p, bits in zip(measured, outcomes,
                                                                                             strict=True))
    assert mitigated == pytest.approx(float(parity @ true), abs=1e-12)
    assert mitigated == pytest.approx(float(parity @ np.linalg.solve(matrix, measured)), abs=1e-12)
    assert float(parity @ measured) != pytest.approx(float(parity @ true), abs=1e-6)  # there was a bias to undo


def test_parity_weights_refuse_a_confusion_without_information() -> None:
    with pytest.raises(ValueError, match="no information"):
        parity_weights(0.5, 0.5)


def test_richardson_is_the_interpolating_polynomial_at_zero_and_its_variance_is_exact() -> None:
    scales, values, variances = [1, 3, 5], [0.81, 0.62, 0.47], [1e-4, 2e-4, 3e-4]
    fit = richardson(scales, values, variances)
    assert fit.value == pytest.approx(np.polyval(np.polyfit(scales, values, 2), 0.0), abs=1e-12)
    # Var of a linear combination: propagate unit perturbations of each value.
    gammas = [richardson(scales, np.eye(3)[i], [0.0] * 3).value for i in range(3)]
    assert fit.variance == pytest.approx(sum(g * g * v for g, v in zip(gammas, variances, strict=True)))


def test_exponential_is_a_weighted_log_linear_fit() -> None:
    scales = np.array([1.0, 3.0, 5.0])
    values = np.array([0.61, 0.45, 0.30])
    variances = np.array([1e-4, 1e-4, 4e-4])
    fit = exponential(scales, values, variances)
    weights = values**2 / variances
    _slope, intercept = np.polyfit(scales, np.log(values), 1, w=np.sqrt(weights))
    assert fit.value == pytest.approx(math.exp(intercept), rel=1e-12) and fit.method == "exponential"
    # Exact points on a decaying curve: the curve's value at 0, with no variance.
    exact = exponential(scales, -0.7 * np.exp(-0.2 * scales), [0.0] * 3)
    assert exact.value == pytest.approx(-0.7, abs=1e-12) and exact.variance == 0.0


def test_exponential_falls_back_to_richardson_when_values_change_sign() -> None:
    fit = extrapolate("exponential", [1, 3], [0.1, -0.05], [0.0, 0.0])
    assert fit.method.startswith("richardson") and fit.value == pytest.approx(0.175)
    with pytest.raises(ValueError, match="unknown extrapolation"):
        extrapolate("cubic", [1, 3], [0.1, 0.2], [0.0, 0.0])


@pytest.mark.parametrize("factors", [[1], [1, 2, 3], [3, 1], [0, 1]])
def test_noise_factors_must_be_odd_increasing_and_two_or_more(factors: list[int]) -> None:
    with pytest.raises(ValueError):
        check_noise_factors(factors)


def unitary_of(circuit: Circuit) -> np.ndarray:
    body = circuit.copy_empty()
    body.operations = [op for op in circuit.operations if op.gate.name not in ("measure", "delay")]
    return Operator(qasm2.loads(qasm.dumps(body), custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)).data


@pytest.mark.parametrize("factor", [1, 3, 5])
def test_folding_a_compiled_line10_circuit_keeps_its_unitary_its_measurements_and_scales_its_gates(factor: int
                                                                                                   ) -> None:
    source = Circuit(3, 3).ry(0.4, 0).cx(0, 1).rx(-1.1, 2).cx(1, 2).h(0).measure([0, 1, 2], [0, 1, 2])
    native = devices.get("line10").plan([source], 100, PlanOptions(seeds=(2,))).circuits[0].native
    folded = fold_global(native, factor)
    np.testing.assert_allclose(unitary_of(folded), unitary_of(native), atol=1e-9)
    gates = [op for op in native.operations if op.gate.name not in ("measure", "barrier")]
    folded_gates = [op for op in folded.operations if op.gate.name not in ("measure", "barrier")]
    assert len(folded_gates) == factor * len(gates)
    measures = [(op.qubits, op.clbits) for op in native.operations if op.gate.name == "measure"]
    assert [(op.qubits, op.clbits) for op in folded.operations if op.gate.name == "measure"] == measures
    assert all(op.gate.name == "measure" for op in folded.operations[-len(measures):])
    # The folds run verbatim on the device (native gates on working couplers) and touch no other qubit.
    plan = devices.get("line10").plan([folded], 100, PlanOptions(compile=False, seeds=(2,)))
    assert plan.circuits[0].physical_qubits == devices.get("line10").plan(
        [native], 100, PlanOptions(compile=False, seeds=(2,))).circuits[0].physical_qubits


def test_folding_refuses_a_gate_after_a_measurement() -> None:
    with pytest.raises(ValueError, match="terminal"):
        fold_global(Circuit(1, 1).measure(0, 0).x(0), 3)


def test_calibration_circuits_on_the_twin_measure_its_calibrated_readout_errors() -> None:
    """The twin applies each qubit's calibrated p(1|0), p(0|1): the two calibration circuits, run verbatim, measure
    them back within 4 standard errors (20,000 shots, seeded)."""
    line10 = devices.get("line10")
    qubits = [1, 4, 7]
    shots = 20_000
    zeros, ones = (line10.run(c, shots=shots, seed=9 + i)  # a native circuit: run verbatim
                   for i, c in enumerate(calibration_circuits(10, qubits, line10.target.native_gates)))
    confusion = measured_confusion(qubits, zeros.counts, ones.counts)
    for q in qubits:
        for measured, calibrated in zip(confusion[q], line10.target.readout_error[q], strict=True):
            assert abs(measured - calibrated) <= 4 * math.sqrt(calibrated * (1 - calibrated) / shots)


def test_calibration_needs_a_native_gate_that_flips_a_qubit() -> None:
    with pytest.raises(ValueError, match="no native gate flips"):
        calibration_circuits(2, [0], {"cz", "rz"})
