"""QASMBench against Qiskit Aer: final states of unitary circuits, counts of dynamic ones.

Every QASMBench circuit up to ``XIHE_QASMBENCH_MAX_QUBITS`` qubits (default 16, to keep the suite within its time
budget; ``XIHE_QASMBENCH_MAX_QUBITS=24`` runs all of them, see docs/benchmarks.md) is parsed with ``xihe.qasm``.
If it is unitary once its final measurements are removed, Xihe's final state must have fidelity >= 1 - 1e-9 with
Aer's; otherwise (mid-circuit measurement, reset, ``if``) Xihe's counts and Aer's must pass a chi-square test
(p >= 1e-6) with fixed seeds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from _qasmbench import aer_counts, aer_statevector, qasm_files, repair, two_sample_chi2_pvalue

from xihe import qasm
from xihe.engines import simulate
from xihe.engines.program import lower

MAX_QUBITS = int(os.environ.get("XIHE_QASMBENCH_MAX_QUBITS", "16"))
FILES = qasm_files(MAX_QUBITS)
SHOTS = 4000


def test_qasmbench_selection_is_not_empty() -> None:
    assert len(FILES) >= 90


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_qasmbench_circuit_agrees_with_aer(path: Path) -> None:
    text = repair(path.read_text())
    circuit = qasm.loads(text)
    if lower(circuit).is_dynamic:
        ours = simulate(circuit, shots=SHOTS, seed=1234, engine="statevector").counts
        theirs = aer_counts(text, SHOTS, seed=4321)
        assert two_sample_chi2_pvalue(ours, theirs) >= 1e-6, (ours, theirs)
    else:
        state = simulate(circuit, shots=0, engine="statevector").statevector
        assert state is not None
        fidelity = abs(np.vdot(aer_statevector(text), state)) ** 2
        assert fidelity >= 1 - 1e-9
