"""Issue 19, seventh pass: the routing candidates' finishing. The rest of the optimisation loop starts from the
first round's own arrays (left in the winner's property set), not from a conversion of that round's output, and
writes the same circuit."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from xihe import devices
from xihe.circuit import Circuit, Gate, Operation
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes import NativeOptimizeLoop
from xihe.compiler.transpile import _transpile

loop_module = importlib.import_module("xihe.compiler.passes.loop")


def _native_ish_ops(device: str, seed: int) -> list[Operation]:
    """Rotations and cx / cz / swap on a few of the device's couplers: work for several rounds of the loop."""
    target = devices.get(device).target
    edges = sorted(target.edges)[:6]
    rng = np.random.default_rng(seed)
    ops: list[Operation] = []
    for _ in range(120):
        a, b = edges[int(rng.integers(len(edges)))]
        kind = int(rng.integers(6))
        if kind < 3:
            ops.append(Operation(Gate(("rx", "ry", "rz")[kind], (float(rng.uniform(-3, 3)),)), (a,)))
        else:
            ops.append(Operation(Gate(("cx", "cz", "swap")[kind - 3]), (a, b) if rng.integers(2) else (b, a)))
    return ops


@pytest.mark.parametrize("device", ["grid36", "dongling"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_resumed_loop_from_the_first_rounds_rows_as_from_its_output(device: str, seed: int,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    target = devices.get(device).target
    ops = _native_ish_ops(device, seed)
    dag = DAGCircuit.from_circuit(Circuit(max(q for op in ops for q in op.qubits) + 1))
    dag = dag.copy_with(ops)
    loop = NativeOptimizeLoop(target)
    props: dict[str, object] = {}
    middle = loop.first_round().run(dag, props)
    assert props[loop_module._FIRST_ROUND_ROWS][0] is middle
    fresh = {k: v for k, v in props.items() if k != loop_module._FIRST_ROUND_ROWS}
    old = loop.resumed().run(middle, fresh)  # the old way: ``to_rows`` of the first round's output
    conversions: list[int] = []
    real = loop_module.to_rows
    monkeypatch.setattr(loop_module, "to_rows", lambda *a, **k: conversions.append(1) or real(*a, **k))
    new = loop.resumed().run(middle, props)
    assert conversions == []
    assert loop_module._FIRST_ROUND_ROWS not in props
    assert (new is middle) == (old is middle)
    assert new.ops == old.ops


def _random_circuit(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for _ in range(gates):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        qc.ry(float(rng.uniform(0, 3)), a).cx(a, b).rz(float(rng.uniform(0, 3)), b)
    for q in range(n):
        qc.measure(q, q)
    return qc


@pytest.mark.parametrize(("device", "seed"), [("grid36", 3), ("dongling", 5), ("grid36", 8)])
def test_compile_with_the_first_rounds_rows_as_without(device: str, seed: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = devices.get(device).target
    circuit = _random_circuit(10, 60, seed)
    new = _transpile(circuit, target, 3, seed, threads=1)
    real = NativeOptimizeLoop.first_round

    def without_rows(self: NativeOptimizeLoop) -> NativeOptimizeLoop:
        cut = real(self)
        cut._ranking = False  # leaves no rows: the resumed loop converts the output, as before
        return cut

    monkeypatch.setattr(NativeOptimizeLoop, "first_round", without_rows)
    old = _transpile(circuit, target, 3, seed, threads=1)
    assert new.circuit.operations == old.circuit.operations
    assert new.initial_layout == old.initial_layout and new.final_layout == old.final_layout
