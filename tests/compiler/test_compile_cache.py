"""The compile cache (issue 19): the same circuit, target, level and seed compile once; each caller gets a copy."""

from __future__ import annotations

import sys

import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import Target, transpile

# ``xihe.compiler.transpile`` names the function in the package; the module is where the pass list is looked up.
transpile_module = sys.modules["xihe.compiler.transpile"]


def _circuit() -> Circuit:
    qc = Circuit(5, 5)
    for a, b in [(0, 4), (1, 3), (2, 4), (0, 3), (1, 4)]:
        qc.h(a).cx(a, b)
    return qc.measure(0, 0).measure(4, 4)


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the pass list is built, i.e. how many real compiles ran."""
    calls: list[int] = []
    real = transpile_module.preset_passes

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(transpile_module, "preset_passes", counted)
    return calls


def test_the_same_compile_runs_once_and_callers_get_copies(compiles: list[int]) -> None:
    target = Target.line(6)
    first = transpile(_circuit(), target, optimization_level=3, seed=4)
    second = transpile(_circuit(), target, optimization_level=3, seed=4)
    assert len(compiles) == 1
    assert second.circuit == first.circuit and second.circuit is not first.circuit
    assert (second.initial_layout, second.final_layout) == (first.initial_layout, first.final_layout)
    second.circuit.operations.clear()
    second.initial_layout.clear()
    third = transpile(_circuit(), target, optimization_level=3, seed=4)
    assert third.circuit == first.circuit and third.initial_layout == first.initial_layout


def test_another_seed_level_circuit_or_calibration_compiles_again(compiles: list[int]) -> None:
    device = devices.get("line10")
    target = device.target
    transpile(_circuit(), target, optimization_level=3, seed=4)
    transpile(_circuit(), target, optimization_level=3, seed=5)
    transpile(_circuit(), target, optimization_level=2, seed=4)
    transpile(_circuit().x(2), target, optimization_level=3, seed=4)
    assert len(compiles) == 4
    recalibrated = target.restricted()  # a new Target, as a new calibration makes
    transpile(_circuit(), recalibrated, optimization_level=3, seed=4)
    assert len(compiles) == 5


def test_without_a_seed_nothing_is_cached(compiles: list[int]) -> None:
    target = Target.line(6)
    transpile(_circuit(), target, optimization_level=1)
    transpile(_circuit(), target, optimization_level=1)
    assert len(compiles) == 2
