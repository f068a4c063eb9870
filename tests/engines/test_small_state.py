"""The small-state path of the statevector engine (issue 13, service load) against its general path: random
circuits of every table gate (dense blocks up to 5 qubits, diagonals, multi-controlled gates wider than a dense
block) give the same state both ways, in double and single precision; and the engine takes the small path only
where it applies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xihe.circuit import Circuit
from xihe.engines import simulate, small_state
from xihe.engines.program import lower
from xihe.engines.statevector import apply_fused, final_state, zero_state
from xihe.testing import random_circuit

_TOLERANCE = {np.complex128: 1e-10, np.complex64: 2e-5}


@settings(max_examples=60, deadline=None)
@given(num_qubits=st.integers(1, 8), depth=st.integers(1, 6), seed=st.integers(0, 2**31 - 1),
       dtype=st.sampled_from([np.complex128, np.complex64]))
def test_small_path_equals_fused_path(num_qubits: int, depth: int, seed: int, dtype: type) -> None:
    circuit = random_circuit(num_qubits, depth, seed, max_arity=min(num_qubits, 7))
    prog = lower(circuit)
    assert small_state.takes(prog.num_qubits, prog.body)
    small = zero_state(num_qubits, dtype)
    small_state.apply_body(small, num_qubits, prog.body)
    general = zero_state(num_qubits, dtype)
    apply_fused(general, prog)
    np.testing.assert_allclose(small, general, atol=_TOLERANCE[dtype], rtol=0)


def test_every_instruction_kind_is_exercised() -> None:
    """The kinds the small path packs: a dense block on non-adjacent qubits in reversed order, a diagonal, a
    controlled gate wider than a dense block (``mcx`` on 7 qubits), each checked against the fused path."""
    circuit = Circuit(8).h(0).ry(0.3, 5).rz(0.7, 2)
    circuit.append("swap", [6, 1]).append("ccx", [7, 2, 4]).append("cp", [3, 0], params=[0.4])
    circuit.append("mcx", [0, 1, 2, 3, 5, 6, 4]).append("rzz", [4, 7], params=[1.1])
    prog = lower(circuit)
    assert {ins.kind for ins in prog.body} == {"unitary", "diagonal", "controlled"}
    small = zero_state(8)
    small_state.apply_body(small, 8, prog.body)
    general = zero_state(8)
    apply_fused(general, prog)
    np.testing.assert_allclose(small, general, atol=1e-12, rtol=0)


def test_engine_takes_small_path_only_for_small_unconditioned_bodies() -> None:
    small = lower(random_circuit(small_state.SMALL_STATE_QUBITS, 3, seed=5))
    wide = lower(random_circuit(small_state.SMALL_STATE_QUBITS + 1, 3, seed=5))
    dynamic = lower(random_circuit(4, 4, seed=5, measure=True, conditional=True))
    assert small_state.takes(small.num_qubits, small.body)
    assert not small_state.takes(wide.num_qubits, wide.body)
    assert not small_state.takes(dynamic.num_qubits, dynamic.body)
    stats: dict[str, int] = {}
    final_state(small, stats=stats)
    assert stats["kernel_passes"] == stats["gates"]  # unfused: one pass per gate
    final_state(wide, stats=stats)
    assert stats["kernel_passes"] < stats["gates"]  # the general path fuses


@pytest.mark.parametrize("precision", ["double", "single"])
def test_small_job_counts_follow_the_exact_distribution(precision: str) -> None:
    """A whole run on the small path: a GHZ state with a T layer (the service benchmark's job) samples only its two
    outcomes, about half each."""
    circuit = Circuit(5, 5).h(0)
    for q in range(4):
        circuit.cx(q, q + 1)
    for q in range(5):
        circuit.t(q)
    circuit.measure(list(range(5)), list(range(5)))
    counts = simulate(circuit, shots=4000, seed=3, engine="statevector", precision=precision).counts
    assert set(counts) == {"00000", "11111"}
    assert abs(counts["00000"] - 2000) < 200
