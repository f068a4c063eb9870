"""The Clifford group tables: sizes, CNOT counts, and exact inverses checked with matrices."""

from __future__ import annotations

from collections import Counter

import numpy as np

from xihe.characterize.clifford import clifford_group
from xihe.characterize.native import clifford_index
from xihe.characterize.rb import emit_clifford
from xihe.circuit import Circuit

from .helpers import circuit_matrix, equal_up_to_phase


def test_group_sizes_and_cnot_distribution() -> None:
    assert len(clifford_group(1)) == 24
    two = clifford_group(2)
    assert len(two) == 11520
    # 576 local, 5184 with one CNOT, 5184 with two, 576 with three (SWAP-like): 1.5 CNOTs on average.
    assert Counter(two.cx_count(i) for i in range(len(two))) == {0: 576, 1: 5184, 2: 5184, 3: 576}


def test_words_are_distinct_unitaries() -> None:
    mats = []
    for i in range(24):
        qc = Circuit(1)
        emit_clifford(qc, (0,), clifford_group(1), i, "hs")
        mats.append(circuit_matrix(qc))
    for i in range(24):
        assert clifford_index(mats[i]) == i
        assert sum(equal_up_to_phase(mats[i], m) for m in mats) == 1


def test_inverse_undoes_a_random_two_qubit_sequence_in_both_forms() -> None:
    group = clifford_group(2)
    rng = np.random.default_rng(5)
    seq = [int(e) for e in rng.integers(len(group), size=12)]
    for form in ("u3", "hs"):
        qc = Circuit(3)
        for e in [*seq, group.inverse_of(seq)]:
            emit_clifford(qc, (2, 0), group, e, form)
        assert equal_up_to_phase(circuit_matrix(qc), np.eye(8))
        if form == "hs":
            assert set(qc.count_ops()) <= {"h", "s", "cx"}


def test_u3_form_matches_the_word() -> None:
    group = clifford_group(2)
    for e in (0, 17, 600, 6000, 11519):
        a, b = Circuit(2), Circuit(2)
        emit_clifford(a, (0, 1), group, e, "u3")
        emit_clifford(b, (0, 1), group, e, "hs")
        assert equal_up_to_phase(circuit_matrix(a), circuit_matrix(b))
        assert a.count_ops().get("cx", 0) == group.cx_count(e)
