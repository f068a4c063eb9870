"""Issue 16's must-show on the dongling twin: the 40-qubit GHZ with a layer of ``t`` gates, compiled and run with
the chip's own noise, gives its two GHZ outcomes as the two most frequent, and its result names the engine, bond
dimension and truncation error. Compiled as a chain with swaps (95-100 CZs) all-zeros tied with stray outcomes."""

from __future__ import annotations

from collections import Counter

import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.devices.plan import PlanOptions


@pytest.mark.parametrize("t_layer", [True, False], ids=["t-layer", "t-on-0"])
def test_ghz40_with_t_on_the_dongling_twin_has_both_ghz_outcomes_on_top(t_layer: bool) -> None:
    """``t-on-0`` is ``benchmarks/noisy.py``'s twin case; ``t-layer`` was refused before (its bond-dimension bound,
    512 for the routed chain, passed the cap)."""
    n, shots = 40, 1000
    circuit = Circuit(n, n).h(0)
    if not t_layer:
        circuit.t(0)
    for i in range(n - 1):
        circuit.cx(i, i + 1)
    for i in range(n if t_layer else 0):
        circuit.t(i)
    circuit.measure(list(range(n)), list(range(n)))
    device = devices.get("dongling")
    plan = device.plan([circuit], shots, PlanOptions(seeds=(5,)))
    [result] = device.execute(plan)
    top = [key for key, _ in Counter(result.counts).most_common(2)]
    assert sorted(top) == ["0" * n, "1" * n], Counter(result.counts).most_common(4)
    assert result.metadata["engine"] == "mps"
    assert result.metadata["bond_dimension"] >= 2
    assert 0.0 <= result.metadata["truncation_error"] < 1e-9
