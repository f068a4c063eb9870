"""Pauli label conventions, with Qiskit's ``SparsePauliOp`` + ``Statevector`` as the oracle.

- The Estimator primitive (``/api/v1/estimate``, ``client.estimate``) reads labels as ``SparsePauliOp`` does:
  qubit 0 is the rightmost character.
- ``xihe.estimate`` (the local engine function) reads them qubit 0 leftmost, as a statevector index is written;
  its docstring says so, and this test pins it, so a change to either is seen.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

import xihe
from xihe.circuit import Circuit
from xihe.service.estimate import group_qubitwise, pauli_term, qubit0_leftmost


def circuits() -> tuple[Circuit, QuantumCircuit]:
    ours, theirs = Circuit(3), QuantumCircuit(3)
    ours.ry(0.4, 0).rx(1.3, 1).h(2).cx(0, 2).s(1)
    theirs.ry(0.4, 0)
    theirs.rx(1.3, 1)
    theirs.h(2)
    theirs.cx(0, 2)
    theirs.s(1)
    return ours, theirs


LABELS = ["".join(p) for p in itertools.product("IXYZ", repeat=3)]


@pytest.mark.parametrize("label", LABELS)
def test_xihe_estimate_reads_qubit0_leftmost_the_reverse_of_sparse_pauli_op(label: str) -> None:
    ours, theirs = circuits()
    expected = Statevector(theirs).expectation_value(SparsePauliOp(label[::-1])).real
    assert xihe.estimate(ours, label) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("label", LABELS)
def test_estimator_labels_convert_from_sparse_pauli_op_order(label: str) -> None:
    ours, theirs = circuits()
    expected = Statevector(theirs).expectation_value(SparsePauliOp(label)).real
    converted = qubit0_leftmost(pauli_term(label, 3), 3)
    assert xihe.estimate(ours, converted) == pytest.approx(expected, abs=1e-10)


def test_a_label_of_the_wrong_width_is_refused_with_the_convention() -> None:
    with pytest.raises(ValueError, match="qubit 0 rightmost"):
        pauli_term("XZ", 3)


paulis = st.dictionaries(st.integers(0, 5), st.sampled_from("XYZ"), max_size=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(paulis, min_size=1, max_size=30))
def test_groups_are_qubitwise_commuting_and_cover_every_term(terms: list[dict[int, str]]) -> None:
    bases, owner = group_qubitwise(terms)
    for term, group in zip(terms, owner, strict=True):
        if not term:
            assert group == -1
            continue
        assert all(bases[group][q] == p for q, p in term.items())
    assert len(bases) <= len({tuple(sorted(t.items())) for t in terms if t})
