"""The per-compile fixed costs of small circuits (issue 19): kept helper threads, the targets' memoised coupler
errors, the fan-out placement's skipped shut-in qubits. Each must leave every result as it was."""

from __future__ import annotations

import os
import random
import signal
import threading

import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import Target
from xihe.compiler import threads as threads_module
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes import fanout
from xihe.compiler.passes.fanout import FanOutLayout
from xihe.compiler.preset import THREADED_FROM
from xihe.compiler.target import InstructionProperties
from xihe.compiler.threads import run_striped
from xihe.compiler.transpile import transpile


def test_run_striped_keeps_its_helper_threads_between_calls() -> None:
    """A compile hands out shares four or five times; a thread started for each made the caller wait for it."""
    first: dict[int, threading.Thread] = {}
    second: dict[int, threading.Thread] = {}

    def note(into: dict[int, threading.Thread]) -> object:
        return lambda i: into.setdefault(i, threading.current_thread())

    run_striped(note(first), 2, threads=2)
    kept = set(threading.enumerate())
    run_striped(note(second), 2, threads=2)
    assert first[1] is not threading.current_thread()
    # A kept helper (the first call's, or one an earlier test left idle), not a thread started for the call.
    assert second[1] in kept and second[1] is not threading.current_thread()


def test_nested_and_concurrent_run_striped_finish_in_order() -> None:
    """A share that hands out shares itself, and two compiles at once, each get helpers of their own."""
    out: list[list[list[int]]] = [[], []]

    def outer(slot: int) -> None:
        out[slot] = run_striped(lambda i: run_striped(lambda k: 10 * i + k + slot, 3, threads=2), 4, threads=3)

    callers = [threading.Thread(target=outer, args=(slot,)) for slot in (0, 1)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    assert out == [[[10 * i + k + slot for k in range(3)] for i in range(4)] for slot in (0, 1)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_helpers_of_its_own() -> None:
    """The parent's kept helpers do not exist in a forked child (a service's workers are forked)."""
    run_striped(lambda i: i, 2, threads=2)  # the parent keeps a helper
    pid = os.fork()
    if pid == 0:  # the child: a hang would be the stale helper's; the alarm ends it
        signal.alarm(20)
        ok = run_striped(lambda i: i * i, 4, threads=2) == [0, 1, 4, 9]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("name", ["dongling", "grid36", "line10"])
def test_memoised_two_qubit_error_is_the_computed_one_on_every_pair(name: str) -> None:
    target = devices.get(name).target
    for view in (target, target.restricted(max_error=0.02)):
        for a in range(view.num_qubits):
            for b in range(view.num_qubits):
                assert view.two_qubit_error(a, b) == view._pair_error(a, b)
    assert Target.ideal(4).two_qubit_error(0, 3) == 0.0


def test_memoised_two_qubit_error_takes_the_better_direction() -> None:
    one = {(q,): InstructionProperties(30.0, 0.0) for q in range(3)}
    cx = {(0, 1): InstructionProperties(60.0, 0.02), (1, 0): InstructionProperties(60.0, 0.01),
          (1, 2): InstructionProperties(60.0, 0.03)}
    target = Target(3, {"rz": one, "ry": one, "cx": cx})
    assert target.two_qubit_error(1, 0) == target.two_qubit_error(0, 1) == 0.01
    assert target.two_qubit_error(2, 1) == 0.03 and target.two_qubit_error(0, 2) == 1.0


class _EveryQubit(fanout._Grower):
    """The placement before the shut-in qubits were skipped: every placed option is looked at."""

    def _put(self, v: int, p: int) -> None:
        self.place[v] = p
        self.used.add(p)


def _fan_out(n: int, rng: random.Random) -> Circuit:
    qc = Circuit(n, n).h(0)
    for k in range(1, n):
        qc.cx(rng.randrange(k), k)  # any earlier member controls: a random tree
        if rng.random() < 0.2:
            qc.rz(rng.uniform(0, 3), rng.randrange(k + 1))
    qc.measure(list(range(n)), list(range(n)))
    return qc


@pytest.mark.parametrize("name", ["dongling", "grid36"])
def test_fan_out_placement_is_the_same_without_the_shut_in_qubits(name: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    target = devices.get(name).target
    rng = random.Random(7)
    for n in (5, 12, 20, 33):
        for _ in range(3):
            dag = DAGCircuit.from_circuit(_fan_out(min(n, len(target.components[0])), rng))
            new: dict[str, object] = {}
            ops_new = FanOutLayout(target).run(dag, new).ops
            with monkeypatch.context() as patch:
                patch.setattr(fanout, "_Grower", _EveryQubit)
                old: dict[str, object] = {}
                ops_old = FanOutLayout(target).run(dag, old).ops
            assert new == old and ops_new == ops_old


def test_the_shut_in_set_holds_exactly_the_used_qubits_without_a_free_neighbour() -> None:
    target = devices.get("dongling").target
    grower = fanout._Grower(target, target.working_qubits[0], fanout.step_durations(target))
    rng = random.Random(3)
    for v, p in enumerate(rng.sample(list(target.working_qubits), 40)):
        grower._put(v, p)
        assert grower.closed == {q for q in grower.used if all(r in grower.used for r in target.neighbors[q])}


def _hand_overs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the shares :func:`run_striped` hands to helper threads."""
    handed: list[int] = []
    real = threads_module._hand_over

    def counting(run_share, j):  # type: ignore[no-untyped-def]
        handed.append(j)
        return real(run_share, j)

    monkeypatch.setattr(threads_module, "_hand_over", counting)
    return handed


def test_a_small_compile_runs_on_its_calling_thread_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below ``THREADED_FROM`` two-qubit gates a compile hands nothing to helper threads (two threads taking turns at
    the GIL made QASMBench's small compiles 1.26x slower); above it the trials are shared."""
    monkeypatch.setenv("XIHE_COMPILE_THREADS", "2")
    handed = _hand_overs(monkeypatch)
    grid = devices.get("grid36").target
    rng = random.Random(5)
    small = Circuit(6)
    for _ in range(40):
        a, b = rng.sample(range(6), 2)
        small.ry(rng.uniform(0, 3), a).cx(a, b)
    transpile(small, grid, optimization_level=3, seed=3)
    assert handed == []
    large = Circuit(12)
    for _ in range(THREADED_FROM + 20):
        a, b = rng.sample(range(12), 2)
        large.rz(rng.uniform(0, 3), b).cx(a, b)
    transpile(large, grid, optimization_level=3, seed=3)
    assert handed  # (the same output for any thread count: tests/compiler/test_parallel_*.py)
