"""Noise-aware layout (issue 19): bad couplers left out when the chip allows, priority_qubits honoured, trials
ranked by estimated success; compiled circuits stay equivalent to their sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from tests.compiler.helpers import layout_fidelity
from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import InstructionProperties, Target, TranspileResult, transpile
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes.layout import layout_target
from xihe.compiler.passes.sabre import SabreRouter
from xihe.devices import quafu

BAD = 0.075


def equivalent_up_to_layouts(source: Circuit, result: TranspileResult) -> bool:
    return layout_fidelity(source, result.circuit, result.initial_layout, result.final_layout) >= 1 - 1e-9


def _two_qubit_pairs(circuit: Circuit) -> list[tuple[int, int]]:
    return [(min(op.qubits), max(op.qubits)) for op in circuit.operations
            if op.gate.is_unitary and len(op.qubits) == 2]


def _random_circuit(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n)
    for _ in range(gates):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        qc.ry(float(rng.uniform(0, 3)), a).cx(a, b)
    return qc


def _qft_like(n: int) -> Circuit:
    qc = Circuit(n)
    for i in range(n):
        qc.h(i)
        for j in range(i + 1, n):
            qc.cp(np.pi / 2 ** (j - i), j, i)
    return qc


def _qaoa_ring(n: int) -> Circuit:
    qc = Circuit(n)
    for q in range(n):
        qc.h(q)
    for gamma, beta in ((0.7, 0.3), (1.1, 0.9)):
        for q in range(n):
            qc.rzz(gamma, q, (q + 1) % n)
        for q in range(n):
            qc.rx(beta, q)
    return qc


def test_dongling_circuits_never_use_its_ten_percent_couplers() -> None:
    target = devices.get("dongling").target
    bad = {e for e in target.edges if target.two_qubit_error(*e) > BAD}
    assert len(bad) >= 3  # dongling has several ~10 % couplers
    for circuit in (_qaoa_ring(30), _qft_like(24), _random_circuit(16, 120, seed=4)):
        result = transpile(circuit, target, optimization_level=3, seed=7)
        used = set(_two_qubit_pairs(result.circuit))
        assert used and not used & bad, sorted(used & bad)


def _ring_with_one_bad_coupler() -> Target:
    """A ring of 8 where (0, 1) has 10 % error, the rest 1 %: routing around (0, 1) is always possible."""
    gates: dict[str, dict[tuple[int, ...], InstructionProperties]] = {
        "rx": {(q,): InstructionProperties(30, 1e-4) for q in range(8)},
        "ry": {(q,): InstructionProperties(30, 1e-4) for q in range(8)},
        "rz": {(q,): InstructionProperties(0, 0.0) for q in range(8)},
        "cz": {},
    }
    for q in range(8):
        a, b = q, (q + 1) % 8
        props = InstructionProperties(60, 0.10 if {a, b} == {0, 1} else 0.01)
        gates["cz"][(a, b)] = gates["cz"][(b, a)] = props
    return Target(8, gates)


def test_routing_goes_around_a_bad_coupler_and_stays_equivalent() -> None:
    target = _ring_with_one_bad_coupler()
    assert layout_target(target, 6).edges != target.edges
    for seed in range(3):
        circuit = _random_circuit(6, 30, seed)
        result = transpile(circuit, target, optimization_level=3, seed=seed)
        assert (0, 1) not in set(_two_qubit_pairs(result.circuit))
        assert equivalent_up_to_layouts(circuit, result)


def test_a_bad_coupler_that_is_the_only_bridge_is_used_only_when_the_circuit_needs_it() -> None:
    gates: dict[str, dict[tuple[int, ...], InstructionProperties]] = {"cz": {}}
    for q in range(7):  # a line of 8 whose middle coupler (3, 4) has 10 % error
        props = InstructionProperties(60, 0.10 if q == 3 else 0.01)
        gates["cz"][(q, q + 1)] = gates["cz"][(q + 1, q)] = props
    gates.update({g: {(q,): InstructionProperties(30, 1e-4) for q in range(8)} for g in ("rx", "ry", "rz")})
    target = Target(8, gates)
    assert layout_target(target, 8) is target  # no alternative: the whole chip is needed
    assert (3, 4) not in layout_target(target, 3).edges
    wide, narrow = _random_circuit(8, 30, 1), _random_circuit(3, 30, 1)
    assert equivalent_up_to_layouts(wide, transpile(wide, target, optimization_level=3, seed=1))
    result = transpile(narrow, target, optimization_level=3, seed=1)
    assert (3, 4) not in set(_two_qubit_pairs(result.circuit))
    assert equivalent_up_to_layouts(narrow, result)


def test_chip_file_priority_qubits_are_read_in_pyquafu_numbering_and_written_back() -> None:
    device = devices.get("dongling")
    target = device.target
    assert len(target.priority_qubits) >= 5
    data = json.loads(json.dumps(quafu.chip_info_from_target(target, system_id=1, time=datetime.now(UTC))))
    assert data["priority_qubits"] not in ([], "[]")
    again = quafu.target_from_chip_info(data)
    assert again.priority_qubits == target.priority_qubits
    for group in target.priority_qubits:  # every group is connected by working couplers
        assert all(q in target.working_qubits for q in group)


def test_a_circuit_as_wide_as_a_priority_group_is_placed_on_it() -> None:
    target = devices.get("dongling").target
    widths = {len(g) for g in target.priority_qubits}
    for n in (5, 8, 10):
        assert n in widths
        group = next(g for g in target.priority_qubits if len(g) == n)
        for circuit in (_random_circuit(n, 20, n), _qft_like(n)):
            result = transpile(circuit, target, optimization_level=3, seed=3)
            assert set(result.initial_layout) == set(group)
            assert {q for pair in _two_qubit_pairs(result.circuit) for q in pair} <= set(group)
            assert equivalent_up_to_layouts(circuit, result)


def test_priority_groups_with_dead_or_unconnected_qubits_are_dropped() -> None:
    t = Target(4, {"cz": {(0, 1): InstructionProperties(60, 0.01), (1, 0): InstructionProperties(60, 0.01),
                          (2, 3): InstructionProperties(60, 0.01), (3, 2): InstructionProperties(60, 0.01)}},
               working_qubits=[0, 1, 2, 3], priority_qubits=[(0, 1), (1, 2), (0, 5)])
    assert t.priority_qubits == ((0, 1),)


def test_same_seed_same_result() -> None:
    target = devices.get("dongling").target
    circuit = _qft_like(14)
    a = transpile(circuit, target, optimization_level=3, seed=5)
    b = transpile(circuit, target, optimization_level=3, seed=5)
    assert a.initial_layout == b.initial_layout
    assert [(op.gate.name, op.qubits) for op in a.circuit] == [(op.gate.name, op.qubits) for op in b.circuit]


def test_level_zero_routes_a_breadth_first_layout_that_crosses_pruned_couplers() -> None:
    """Level 0 places qubits breadth first on the whole chip; where that placement crosses a coupler the pruned
    layout view dropped, routing uses the whole chip (it used to swap forever, the kernel's buffer growing to GiBs)."""
    target = devices.get("dongling").target
    for n in (11, 24):
        ghz = Circuit(n, n).h(0)
        for i in range(n - 1):
            ghz.cx(i, i + 1)
        for i in range(n):
            ghz.measure(i, i)
        result = transpile(ghz, target, optimization_level=0, seed=3)
        # The 24-qubit state is checked with the statevector engine (tested against Qiskit elsewhere): the plain
        # numpy oracle took 52 s of the suite for it; 11 qubits stay on the numpy oracle.
        fidelity = layout_fidelity(ghz, result.circuit, result.initial_layout, result.final_layout, engine=n > 11)
        assert fidelity >= 1 - 1e-9


def test_routing_refuses_a_layout_whose_pairs_are_not_connected() -> None:
    """A caller's layout that puts a 2q gate's qubits in different connected groups is a bug, not a long loop."""
    split = Target.line(6).restricted(qubits=[0, 1, 3, 4])  # {0, 1} and {3, 4}
    dag = DAGCircuit.from_circuit(Circuit(2).cx(0, 1))
    with pytest.raises(ValueError, match="different connected groups"):
        SabreRouter(split).route(dag, [0, 4], np.random.default_rng(1))
