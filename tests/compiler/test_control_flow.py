"""If/else blocks through the compiler (issue 15): every level keeps the blocks, unrolls, routes and translates
inside them, and the compiled circuit is equivalent: its exact distribution of classical bits equals the source's
(density matrix engine, both ideal), whatever layout was chosen, because each body restores the layout it found.
"""

from __future__ import annotations

import math
import random

import pytest

import xihe.devices as devices
from xihe.circuit import Circuit, IfElse, walk
from xihe.compiler import transpile
from xihe.compiler.check import check_native
from xihe.compiler.estimate import estimated_success_probability
from xihe.compiler.passes.control import route_block
from xihe.compiler.passes.schedule import schedule_circuit
from xihe.compiler.target import Target
from xihe.devices.plan import compact_circuit
from xihe.engines.simulate import simulate


def dynamic_circuit() -> Circuit:
    qc = Circuit(4, 3)
    qc.h(0).cx(0, 3).measure(0, 0)
    with qc.if_test((0, 1)) as block:
        qc.cx(0, 2).ry(0.3, 3).measure(2, 1)
    with block.else_():
        qc.ccx(0, 1, 3)
        with qc.if_test(("c", 0)):
            qc.h(3).cz(3, 1)
    qc.cx(1, 2).reset(0).h(0)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def random_dynamic_circuit(seed: int, n: int = 4) -> Circuit:
    rng = random.Random(seed)
    qc = Circuit(n, 3)

    def fill(count: int, depth: int) -> None:
        for _ in range(count):
            kind = rng.choice(["1q", "1q", "2q", "2q", "3q", "measure", "reset"] + (["if"] if depth < 2 else []))
            a, b, c = rng.sample(range(n), 3)
            if kind == "1q":
                getattr(qc, rng.choice(["h", "t", "sx"]))(a)
                qc.ry(round(rng.uniform(-3, 3), 3), b)
            elif kind == "2q":
                getattr(qc, rng.choice(["cx", "cz", "swap"]))(a, b)
            elif kind == "3q":
                qc.ccx(a, b, c)
            elif kind == "measure":
                qc.measure(a, rng.randrange(3))
            elif kind == "reset":
                qc.reset(a)
            else:
                condition = ("c", rng.randrange(8)) if rng.random() < 0.4 else (rng.randrange(3), rng.randrange(2))
                with qc.if_test(condition) as block:
                    fill(rng.randint(1, 3), depth + 1)
                if rng.random() < 0.5:
                    with block.else_():
                        fill(rng.randint(1, 3), depth + 1)

    qc.h(0).measure(0, 0)
    fill(8, 0)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def exact(circuit: Circuit) -> dict[str, float]:
    used = sorted({q for op in walk(circuit.operations) for q in op.qubits})
    probabilities = simulate(compact_circuit(circuit, used), shots=1, seed=1,
                             engine="density_matrix").exact_probabilities
    assert probabilities is not None
    return probabilities


def assert_same_distribution(a: dict[str, float], b: dict[str, float]) -> None:
    assert max(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)) < 1e-9


@pytest.mark.parametrize("device", ["line10", "grid36"])
@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_compiled_blocks_are_native_and_give_the_same_distribution(device: str, level: int) -> None:
    target = devices.get(device).target
    source = dynamic_circuit()
    compiled = transpile(source, target, optimization_level=level, seed=3).circuit
    check_native(compiled, target)  # looks inside the blocks
    blocks = [op for op in compiled.operations if isinstance(op, IfElse)]
    assert len(blocks) == 1 and any(isinstance(op, IfElse) for op in blocks[0].false_body)
    assert_same_distribution(exact(compiled), exact(source))


@pytest.mark.parametrize("seed", range(6))
def test_random_dynamic_circuits_compile_equivalently_on_a_line(seed: int) -> None:
    target = Target.line(5)
    source = random_dynamic_circuit(seed)
    for level in (1, 3):
        compiled = transpile(source, target, optimization_level=level, seed=seed).circuit
        check_native(compiled, target)
        assert_same_distribution(exact(compiled), exact(source))


def test_a_body_gate_on_far_qubits_is_routed_inside_and_the_layout_restored() -> None:
    target = Target.line(5)
    qc = Circuit(5, 2)
    qc.x(0).measure(0, 0)
    with qc.if_test((0, 1)):
        qc.cx(0, 4)
    qc.measure(4, 1)
    block = qc.operations[2]
    assert isinstance(block, IfElse)
    routed = route_block(block, target)
    names = [op.gate.name for op in routed.true_body]
    assert names == ["swap", "swap", "swap", "cx", "swap", "swap", "swap"]  # 0 walks to 3 and back
    assert all(target.distance[op.qubits[0], op.qubits[1]] == 1 for op in routed.true_body)
    assert routed.qubits == (0, 1, 2, 3, 4)
    physical = qc.copy_empty()
    physical.operations = [*qc.operations[:2], routed, qc.operations[3]]
    assert exact(physical) == pytest.approx({"11": 1.0})
    # The layout search sees the body's gate: compiled, the two qubits end up coupled and need no swap.
    compiled = transpile(qc, target, optimization_level=1, seed=1).circuit
    inner = next(op for op in compiled.operations if isinstance(op, IfElse))
    assert sum(1 for op in inner.true_body if len(op.qubits) == 2) == 1
    assert_same_distribution(exact(compiled), exact(qc))


def test_a_qubit_idle_inside_a_block_decays_as_it_would_outside() -> None:
    """Scheduling pads each body with delays to the block's end: a qubit the taken branch leaves alone relaxes for
    the block's duration, exactly as the same idle outside a block (before, it skipped the block's time)."""
    device = devices.get("line10")
    a, b = 3, 4

    def scheduled(inside: bool) -> Circuit:
        qc = Circuit(10, 2)
        qc.rx(math.pi, a).rx(math.pi, b).measure(a, 0)
        if inside:
            with qc.if_test((0, 1)):
                qc.delay(20, a, unit="us").barrier(b)
        else:
            qc.delay(20, a, unit="us")
        qc.measure(b, 1)
        check_native(qc, device.target)
        return schedule_circuit(qc, device.target)[0]

    def p_b_one(circuit: Circuit) -> float:
        used = sorted({q for op in walk(circuit.operations) for q in op.qubits})
        compact = compact_circuit(circuit, used)
        noise = device.noise_model(used)
        probabilities = simulate(compact, shots=1, seed=1, engine="density_matrix", noise=noise).exact_probabilities
        assert probabilities is not None
        return sum(p for key, p in probabilities.items() if key[1] == "1")

    inside, outside = scheduled(True), scheduled(False)
    block = next(op for op in inside.operations if isinstance(op, IfElse))
    assert any(op.gate.name == "delay" and op.qubits == (b,) for op in block.true_body)
    assert any(op.gate.name == "delay" and op.qubits == (a,) for op in block.false_body)
    assert p_b_one(inside) == pytest.approx(p_b_one(outside), abs=1e-9)
    assert p_b_one(outside) < 0.95  # 20 us is a visible part of line10's T1


def test_estimated_success_counts_the_gates_inside_blocks() -> None:
    target = devices.get("line10").target
    plain = Circuit(10, 1).measure(2, 0)
    with_block = plain.copy()
    with with_block.if_test((0, 1)):
        with_block.cx(2, 3).rx(0.3, 3)
    assert estimated_success_probability(with_block, target) < estimated_success_probability(plain, target)
