"""The cyclic garbage collector is paused while a compile runs and restored after it (issue 19: the collections
that the compile's short-lived gates triggered were a tenth of its CPU time)."""

from __future__ import annotations

import gc
import threading
import traceback
from typing import Any

import numpy as np
import pytest

from xihe.circuit import Circuit
from xihe.compiler.target import Target
from xihe.compiler.transpile import transpile
from xihe.errors import CompileError


def random_circuit(num_qubits: int, layers: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(num_qubits)
    for _ in range(layers):
        for q in range(num_qubits):
            qc.ry(float(rng.uniform(0, 6.3)), q)
        order = rng.permutation(num_qubits)
        for a, b in zip(order[::2], order[1::2], strict=False):
            qc.cx(int(a), int(b))
    return qc


def test_no_collection_runs_inside_a_compiler_pass() -> None:
    circuit = random_circuit(8, 12, seed=3)
    inside: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        # A collection the compile's own allocations triggered has a pass's frame on the stack (the one that may
        # come right after the compile, once the collector is back on, has not).
        if phase == "start" and any("xihe/compiler/passes" in frame.filename.replace("\\", "/")
                                    for frame in traceback.extract_stack()):
            inside.append(info["generation"])

    gc.callbacks.append(count)
    try:
        transpile(circuit, Target.line(8), optimization_level=3, seed=None)
    finally:
        gc.callbacks.remove(count)
    assert inside == []
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        transpile(random_circuit(4, 3, seed=1), Target.line(4), optimization_level=3, seed=None)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_back_on_after_a_failed_compile() -> None:
    with pytest.raises(CompileError):
        transpile(random_circuit(6, 2, seed=2), Target.line(4), optimization_level=3)
    assert gc.isenabled()


def test_overlapping_compiles_in_threads_leave_it_on() -> None:
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for k in range(3):
                transpile(random_circuit(6, 6, seed=seed + k), Target.line(6), optimization_level=3, seed=None)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(10 * i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    assert gc.isenabled()
