"""Issue 19: layout trials run on several threads (the routing kernel releases the GIL) and choose exactly what they
choose on one; ``XIHE_COMPILE_THREADS`` keeps a compile on one."""

from __future__ import annotations

import os
import threading

import numba
import numpy as np
import pytest

import xihe.compiler.passes.sabre as sabre_module
from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes import SabreLayout
from xihe.compiler.threads import COMPILE_THREADS_ENV, compile_threads, run_striped
from xihe.compiler.transpile import _transpile


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
def kernel_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every call of the real routing kernel, in call order."""
    calls: list[int] = []
    real = sabre_module.sabre_route_kernel

    def recorded(*args):  # type: ignore[no-untyped-def]
        calls.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(sabre_module, "sabre_route_kernel", recorded)
    return calls


def _kept(threads: int | None, name: str = "grid36", seed: int = 3) -> list[tuple[object, ...]]:
    dag = DAGCircuit.from_circuit(_random_circuit(12, 100, seed))
    layout = SabreLayout(devices.get(name).target, trials=8, iterations=2, seed=seed, swap_trials=4, candidates=3,
                         threads=threads)
    return [(props["layout"], props["final_layout"], props["swaps"], routed.ops)
            for routed, props in layout.routings(dag, {})]


@pytest.mark.parametrize(("name", "seed"), [("grid36", 3), ("dongling", 4)])
def test_two_threads_keep_the_routings_one_thread_keeps(kernel_threads: list[int], name: str, seed: int) -> None:
    one = _kept(1, name, seed)
    assert set(kernel_threads) == {threading.get_ident()}
    kernel_threads.clear()
    two = _kept(2, name, seed)
    # The trials ran on this thread and one more (the kept routings' replay on a helper of its own).
    assert threading.get_ident() in kernel_threads and len(set(kernel_threads)) >= 2
    assert len(one) == 3
    assert two == one


def test_a_compile_on_two_threads_is_the_compile_on_one(kernel_threads: list[int]) -> None:
    target = devices.get("dongling").target
    circuit = _random_circuit(10, 60, 7)
    one, two = (_transpile(circuit, target, 3, 5, threads=t) for t in (1, 2))
    # This thread and, for threads=2, more (the trials' helper, then the replay's).
    assert threading.get_ident() in kernel_threads and len(set(kernel_threads)) >= 2
    assert two.circuit.operations == one.circuit.operations
    assert (two.initial_layout, two.final_layout) == (one.initial_layout, one.final_layout)


def test_the_setting_keeps_trials_on_the_calling_thread(kernel_threads: list[int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COMPILE_THREADS_ENV, "1")
    _kept(None)
    assert set(kernel_threads) == {threading.get_ident()}


def test_compile_threads_reads_the_setting_else_the_cores() -> None:
    assert compile_threads({COMPILE_THREADS_ENV: "3"}) == 3
    assert compile_threads({COMPILE_THREADS_ENV: "0"}) == 1
    assert 1 <= compile_threads({}) <= len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match=COMPILE_THREADS_ENV):
        compile_threads({COMPILE_THREADS_ENV: "many"})


def test_a_worker_with_a_one_thread_share_compiles_on_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service worker caps numba's threads to its share before numba loads (``worker.limit_threads``)."""
    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 1)
    assert compile_threads({}) == 1
    assert compile_threads({COMPILE_THREADS_ENV: "2"}) == 2  # the operator's setting wins


def test_run_striped_gives_each_thread_a_fixed_share_and_results_in_order() -> None:
    ran: dict[int, threading.Thread] = {}  # thread objects: a finished thread's ident may be given to the next

    def task(i: int) -> int:
        ran[i] = threading.current_thread()
        return i * i

    assert run_striped(task, 7, threads=3) == [i * i for i in range(7)]
    assert all(ran[i] is ran[i % 3] for i in range(7))
    assert ran[0] is threading.current_thread()
    assert len({id(thread) for thread in ran.values()}) == 3


def test_run_striped_raises_a_tasks_error_after_every_thread_is_done() -> None:
    done: list[int] = []

    def task(i: int) -> int:
        if i == 1:
            raise KeyError(i)
        done.append(i)
        return i

    with pytest.raises(KeyError):
        run_striped(task, 6, threads=2)
    assert sorted(done) == [0, 2, 4]  # share 1 stopped at its first task; share 0 ran to the end
