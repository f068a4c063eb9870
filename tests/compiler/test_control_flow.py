"""If/else blocks through the compiler (issue 15): every level keeps the blocks, unrolls, routes and translates
inside them, and the compiled circuit is equivalent: its exact distribution of classical bits equals the source's
(density matrix engine, both ideal), whatever layout was chosen, because each body restores the layout it found.
"""

from __future__ import annotations

import random

import pytest

import xihe.devices as devices
from xihe.circuit import Circuit, IfElse, walk
from xihe.compiler import transpile
from xihe.compiler.check import check_native
from xihe.compiler.passes.control import route_block
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
