"""The compiled KAK decomposition (issue 19) against the NumPy version it replaced (``reference_two_qubit``): on
Haar-random two-qubit unitaries and local gates around CX, CZ, swap, iSWAP and the identity, the kernel gives the
reference's coordinates and one-qubit factors that rebuild the unitary (the factors themselves are not unique: an
eigenvector's sign moves a Pauli between the two sides)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import unitary_group

from xihe.circuit import Gate, unitary
from xihe.compiler.kak_kernel import MAGIC, MAGIC_DAG, MIXES, PAIRS, PATTERN, kak_factors, kron_factor
from xihe.compiler.two_qubit import canonical, equal_up_to_phase, synthesize_two_qubit

from . import reference_two_qubit as reference

FIXED = {"cx": unitary(Gate("cx")), "cz": unitary(Gate("cz")), "swap": unitary(Gate("swap")),
         "iswap": unitary(Gate("iswap")), "id": np.eye(4, dtype=complex)}


def _local(seed: int) -> np.ndarray:
    return np.kron(unitary_group.rvs(2, random_state=seed), unitary_group.rvs(2, random_state=seed + 1))


@st.composite
def two_qubit_unitaries(draw: st.DrawFn) -> np.ndarray:
    seed = draw(st.integers(0, 10_000))
    core = draw(st.sampled_from(["haar", *FIXED]))
    middle = unitary_group.rvs(4, random_state=seed) if core == "haar" else FIXED[core]
    return _local(seed + 7) @ middle @ _local(seed + 11)


def _kernel(u: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return kak_factors(np.ascontiguousarray(u), MAGIC, MAGIC_DAG, PATTERN, PAIRS, MIXES)  # type: ignore[no-any-return]


@settings(max_examples=200, deadline=None)
@given(two_qubit_unitaries())
def test_kak_kernel_rebuilds_the_unitary_with_the_reference_coordinates(u: np.ndarray) -> None:
    ok, coords, a1, b1, a2, b2 = _kernel(u)
    assert ok
    rebuilt = np.kron(a1, b1) @ canonical(*coords) @ np.kron(a2, b2)
    assert equal_up_to_phase(rebuilt, u)
    _, expected, _ = reference.kak(u)
    assert np.allclose(coords, expected, atol=1e-7)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000))
def test_kak_kernel_of_a_local_unitary_is_two_local_sides(seed: int) -> None:
    u = _local(seed)
    ok, coords, a1, b1, a2, b2 = _kernel(u)
    assert ok and np.allclose(coords, 0.0, atol=1e-7)
    assert equal_up_to_phase(np.kron(a1, b1) @ np.kron(a2, b2), u)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000))
def testkron_factor_kernel_equals_the_reference(seed: int) -> None:
    k = _local(seed)
    a, b = kron_factor(np.ascontiguousarray(k))
    ra, rb = reference.kron_factor(k)
    assert equal_up_to_phase(np.kron(a, b), np.kron(ra, rb))
    assert equal_up_to_phase(np.kron(a, b), k)


@settings(max_examples=100, deadline=None)
@given(two_qubit_unitaries())
def test_synthesis_with_the_kernel_reproduces_the_unitary(u: np.ndarray) -> None:
    steps = synthesize_two_qubit(u)
    assert steps is not None
    total = np.eye(4, dtype=complex)
    for name, params, qubits in steps:
        gate = unitary(Gate(name, params))
        if len(qubits) == 1:
            gate = np.kron(gate, np.eye(2)) if qubits[0] == 0 else np.kron(np.eye(2), gate)
        elif qubits == (1, 0):
            swap = FIXED["swap"]
            gate = swap @ gate @ swap
        total = gate @ total
    assert equal_up_to_phase(total, u)
