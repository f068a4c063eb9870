"""Issue 19, fifth pass: Clifford resynthesis runs its two independent paths (the source through the KAK stage, and
the resynthesised circuit through it) side by side, with the result of running them one after the other."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from xihe.circuit import Circuit
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes import ConsolidateBlocks, OptimizeLoop
from xihe.compiler.passes.clifford import CliffordResynthesis
from xihe.compiler.preset import VIRTUAL_BASIS


def _clifford_heavy(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n)
    for k in range(gates):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        qc.cx(a, b)
        if k % 3 == 0:
            qc.h(a).s(b)
        if k % 7 == 0:
            qc.rz(float(rng.uniform(0, 3)), a)  # a rotation between Clifford regions
    return qc


@pytest.fixture
def path_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every region scan (the second path's start), in call order."""
    calls: list[int] = []
    real = CliffordResynthesis.resynthesise

    def recorded(self, dag, properties):  # type: ignore[no-untyped-def]
        calls.append(threading.get_ident())
        return real(self, dag, properties)

    monkeypatch.setattr(CliffordResynthesis, "resynthesise", recorded)
    return calls


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_both_paths_on_two_threads_give_the_one_thread_result(path_threads: list[int], seed: int) -> None:
    dag = DAGCircuit.from_circuit(_clifford_heavy(6, 60, seed))
    results = []
    for threads in (1, 2):
        stage = CliffordResynthesis([ConsolidateBlocks(), OptimizeLoop(VIRTUAL_BASIS)], threads=threads)
        properties: dict[str, object] = {}
        out = stage.run(dag, properties)
        results.append((out.ops, properties))
    assert results[1] == results[0]
    assert path_threads[0] == threading.get_ident()  # one thread: both paths here
    assert path_threads[1] != threading.get_ident()  # two: the scan on the other


def test_a_circuit_the_regions_cut_keeps_their_relabelling() -> None:
    """The resynthesised path wins here (so both paths ran to the end), on two threads as on one."""
    dag = DAGCircuit.from_circuit(_clifford_heavy(6, 60, 1))
    outs = []
    for threads in (1, 2):
        properties: dict[str, object] = {}
        out = CliffordResynthesis([ConsolidateBlocks(), OptimizeLoop(VIRTUAL_BASIS)], threads=threads).run(
            dag, properties)
        outs.append((out.ops, properties))
    assert outs[0][1].get("clifford_regions", 0) > 0
    assert outs[1] == outs[0]
