"""Issue 19: swaps between virtual qubits are elided before layout (Qiskit's ElidePermutations) and folded into the
final layout: a swap, or one written out as three CX, costs no two-qubit gate, and the result stays equivalent."""

from __future__ import annotations

import math

import pytest

from tests.compiler.helpers import layout_fidelity
from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import transpile
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes.permutations import ElidePermutations, swap_triples


def _spread(n: int) -> Circuit:
    qc = Circuit(n)
    for q in range(n):
        qc.u3(0.3 + 0.2 * q, 0.1 * q, -0.4 * q, q)
    return qc


@pytest.mark.parametrize("written_out", [False, True])
@pytest.mark.parametrize("level", [2, 3])
def test_a_swap_costs_no_two_qubit_gate(written_out: bool, level: int) -> None:
    qc = _spread(3)
    if written_out:
        qc.cx(0, 2).cx(2, 0).cx(0, 2)
    else:
        qc.swap(0, 2)
    qc.rz(0.7, 0).ry(0.2, 2)
    result = transpile(qc, devices.get("dongling").target, optimization_level=level, seed=3)
    assert result.circuit.num_nonlocal_gates() == 0
    assert layout_fidelity(qc, result.circuit, result.initial_layout, result.final_layout) >= 1 - 1e-9


def test_qft_with_its_closing_swaps_written_out_stays_equivalent_and_saves_them() -> None:
    n = 8
    qc = _spread(n)
    for a in range(n):
        qc.h(a)
        for b in range(a + 1, n):
            qc.cp(math.pi / 2 ** (b - a), b, a)
    for a in range(n // 2):
        b = n - 1 - a
        qc.cx(a, b).cx(b, a).cx(a, b)
    qc.measure_all()
    target = devices.get("grid36").target
    result = transpile(qc, target, optimization_level=3, seed=5)
    assert result.properties["elided_permutation"] == [n - 1 - q for q in range(n)]
    assert layout_fidelity(qc, result.circuit, result.initial_layout, result.final_layout) >= 1 - 1e-9
    # The measurements read the qubits where each source qubit's state ended.
    measured = {op.clbits[0]: op.qubits[0] for op in result.circuit.operations if op.gate.name == "measure"}
    assert measured == {v: result.final_layout[v] for v in range(n)}


def test_only_adjacent_alternating_triples_count_as_swaps() -> None:
    qc = Circuit(3).cx(0, 1).rz(0.3, 1).cx(1, 0).cx(0, 1)  # broken by the rz
    qc.cx(1, 2).cx(2, 1).cx(1, 2)  # a swap
    qc.cx(0, 2).cx(0, 2).cx(0, 2)  # not alternating
    dag = DAGCircuit.from_circuit(qc)
    assert swap_triples(dag.ops) == {4: (4, 5, 6)}
    properties: dict[str, object] = {}
    out = ElidePermutations().run(dag, properties)
    assert properties["elided_permutation"] == [0, 2, 1]
    assert [op.qubits for op in out.ops][-3:] == [(0, 1), (0, 1), (0, 1)]  # the later cx(0, 2) now act on wire 1
