"""pyquafu's multi-controlled rotations are gate-table gates: the compiler unrolls them to native gates through the
table and the engines run them from it, both exactly (oracle: the controlled rotation's own matrix)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xihe
from tests.compiler.helpers import layout_fidelity
from xihe import devices
from xihe.circuit import Circuit, Gate, gate_spec, unitary
from xihe.circuit.standard_gates import controlled, rx_matrix, ry_matrix, rz_matrix
from xihe.compiler import check_native, transpile
from xihe.testing import circuit_unitary

ROTATIONS = {"mcrx": rx_matrix, "mcry": ry_matrix, "mcrz": rz_matrix}


@pytest.mark.parametrize("name", sorted(ROTATIONS))
@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4])
def test_table_matrix_and_decomposition_are_the_controlled_rotation(name: str, num_qubits: int) -> None:
    spec = gate_spec(name)
    assert spec is not None and spec.variable_arity and spec.param_names == ("theta",)
    theta = 0.9
    expected = controlled(ROTATIONS[name](theta), num_qubits - 1)
    gate = Gate(name, (theta,), num_qubits=num_qubits)
    assert np.allclose(unitary(gate), expected, atol=1e-12)
    steps = Circuit(num_qubits)
    for step, params, qubits in spec.decomposition(num_qubits, theta):  # type: ignore[misc]
        steps.append(Gate(step, params, num_qubits=len(qubits)), qubits)
    assert np.allclose(circuit_unitary(steps), expected, atol=1e-12)  # exact, not up to a phase: controls see it


@pytest.mark.parametrize("backend", ["line10", "dongling"])
def test_compiled_to_native_gates_equivalent_to_the_source(backend: str) -> None:
    qc = Circuit(4)
    for q, angle in enumerate((0.3, 1.2, 2.1, 0.7)):
        qc.ry(angle, q)
    qc.append(Gate("mcrx", (0.8,), num_qubits=3), (0, 1, 2))
    qc.append(Gate("mcry", (-1.3,), num_qubits=4), (3, 0, 2, 1))
    qc.append(Gate("mcrz", (2.2,), num_qubits=3), (2, 3, 0))
    target = devices.get(backend).target
    result = transpile(qc, target, optimization_level=2, seed=5)
    check_native(result.circuit, target)
    assert layout_fidelity(qc, result.circuit, result.initial_layout, result.final_layout) >= 1 - 1e-9


def test_ideal_run_samples_the_exact_distribution() -> None:
    theta, shots = 1.1, 20_000
    qc = Circuit(3, 3).x(0).x(1)
    qc.append(Gate("mcry", (theta,), num_qubits=3), (0, 1, 2))
    qc.append(Gate("mcrx", (2.0,), num_qubits=3), (0, 2, 1))  # control q2 is 0 in "110": no turn there
    qc.measure([0, 1, 2], [0, 1, 2])
    counts = xihe.simulate(qc, shots=shots, seed=3).counts
    p111 = math.sin(theta / 2) ** 2 * math.cos(1.0) ** 2  # q2 turned, then q1 kept by rx(2.0)
    p101 = math.sin(theta / 2) ** 2 * math.sin(1.0) ** 2
    assert set(counts) <= {"110", "111", "101"}
    for key, p in (("111", p111), ("101", p101)):
        assert abs(counts.get(key, 0) / shots - p) < 6 * math.sqrt(p * (1 - p) / shots), key
