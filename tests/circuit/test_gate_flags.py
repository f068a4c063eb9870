"""Every fact column of the gate table holds numerically for its matrix, and is complete: a gate that has the
property carries the flag (so a list kept elsewhere can be replaced by a lookup). ``crz`` is the gate that a
hand-kept list once called symmetric; SWAP·CRZ·SWAP is not CRZ."""

from __future__ import annotations

import numpy as np
import pytest

from xihe.circuit import Gate, gate_spec, gate_specs, unitary
from xihe.compiler.target import InstructionProperties, Target

SPECS = gate_specs()
SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]
PAULI_Z = np.diag([1.0, -1.0]).astype(complex)
PAULI_X = np.array([[0, 1], [1, 0]], dtype=complex)


def _matrices(name: str) -> list[np.ndarray]:
    """The gate's matrix at a few seeded random parameter values, for each arity it takes (2-4 when variable)."""
    spec = SPECS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    arities = [spec.num_qubits] if spec.num_qubits is not None else [2, 3, 4]
    out = []
    for n in arities:
        for _ in range(3):
            params = tuple(float(x) for x in rng.uniform(-np.pi, np.pi, spec.num_params))
            out.append(unitary(Gate(name, params, num_qubits=n if spec.variable_arity else None)))
    return out


def _on(op: np.ndarray, qubit: int, num_qubits: int) -> np.ndarray:
    """``op`` on ``qubit`` of ``num_qubits`` (qubit 0 is the most significant bit, as in the gate table)."""
    out = np.eye(1, dtype=complex)
    for q in range(num_qubits):
        out = np.kron(out, op if q == qubit else np.eye(2))
    return out


def _commutes(u: np.ndarray, v: np.ndarray) -> bool:
    return np.allclose(u @ v, v @ u, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_symmetric_flag_matches_the_matrix(name: str) -> None:
    spec = SPECS[name]
    if spec.num_qubits != 2:
        assert not spec.symmetric
        return
    truth = all(np.allclose(SWAP @ u @ SWAP, u, atol=1e-9) for u in _matrices(name))
    assert spec.symmetric == truth


@pytest.mark.parametrize("name", sorted(SPECS))
def test_self_inverse_flag_matches_the_matrix(name: str) -> None:
    truth = all(np.allclose(u @ u, np.eye(len(u)), atol=1e-9) for u in _matrices(name))
    assert SPECS[name].self_inverse == truth


@pytest.mark.parametrize("name", sorted(SPECS))
def test_diagonal_and_virtual_flags_match_the_matrix(name: str) -> None:
    spec = SPECS[name]
    truth = all(np.allclose(u, np.diag(np.diag(u)), atol=1e-9) for u in _matrices(name))
    assert spec.diagonal == truth
    if spec.virtual:  # a frame change: one qubit, diagonal
        assert spec.num_qubits == 1 and spec.diagonal


@pytest.mark.parametrize("name", sorted(SPECS))
def test_commutation_letters_match_the_matrix(name: str) -> None:
    spec = SPECS[name]
    if spec.variable_arity:
        assert spec.commutation == ""
        return
    n = spec.num_qubits
    assert n is not None and len(spec.commutation) == n
    for q, letter in enumerate(spec.commutation):
        with_z = all(_commutes(u, _on(PAULI_Z, q, n)) for u in _matrices(name))
        with_x = all(_commutes(u, _on(PAULI_X, q, n)) for u in _matrices(name))
        assert letter == ("Z" if with_z else "X" if with_x else ".")


def test_crz_is_not_symmetric_anywhere() -> None:
    """The compiler's Target does not lend a crz calibration to the reversed pair; a cz calibration it does."""
    spec = gate_spec("crz")
    assert spec is not None and not spec.symmetric
    target = Target(2, {"crz": {(0, 1): InstructionProperties(0.0, 0.25)},
                        "cz": {(0, 1): InstructionProperties(0.0, 0.25)}})
    assert target.error("crz", (1, 0)) == 0.0
    assert target.error("cz", (1, 0)) == 0.25


def test_pyquafu_multi_controlled_rotations_are_table_gates_the_checks_above_cover() -> None:
    for name in ("mcrx", "mcry", "mcrz"):
        assert name in SPECS and SPECS[name].variable_arity and SPECS[name].num_params == 1
    assert SPECS["mcrz"].diagonal and not SPECS["mcrx"].diagonal and not SPECS["mcry"].diagonal
