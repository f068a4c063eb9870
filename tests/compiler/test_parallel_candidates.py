"""Issue 19, fifth pass: the routing candidates are finished (their first optimisation round, schedule and estimate)
on the layout trials' threads, and the compile is the one a single thread makes."""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler.transpile import _transpile

# The module (the package's ``transpile`` attribute is the function).
transpile_module = importlib.import_module("xihe.compiler.transpile")


def _random_circuit(n: int, gates: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for _ in range(gates):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        qc.ry(float(rng.uniform(0, 3)), a).cx(a, b)
    for q in range(n):
        qc.measure(q, q)
    return qc


@pytest.fixture
def estimate_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every candidate's estimate (one call per candidate), in call order."""
    calls: list[int] = []
    real = transpile_module.log_success_probability

    def recorded(*args):  # type: ignore[no-untyped-def]
        calls.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(transpile_module, "log_success_probability", recorded)
    return calls


@pytest.mark.parametrize(("name", "seed"), [("grid36", 3), ("dongling", 5)])
def test_candidates_finished_on_two_threads_compile_as_on_one(estimate_threads: list[int], name: str,
                                                              seed: int) -> None:
    target = devices.get(name).target
    circuit = _random_circuit(10, 60, seed)
    one = _transpile(circuit, target, 3, seed, threads=1)
    assert len(estimate_threads) == 4 and set(estimate_threads) == {threading.get_ident()}  # four candidates
    estimate_threads.clear()
    two = _transpile(circuit, target, 3, seed, threads=2)
    assert len(estimate_threads) == 4 and len(set(estimate_threads)) == 2  # this thread and one more
    assert two.circuit.operations == one.circuit.operations
    assert (two.initial_layout, two.final_layout) == (one.initial_layout, one.final_layout)
