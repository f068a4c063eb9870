"""Issue 19, sixth pass: layout and routing cheaper with the same choices.

VF2Layout scores its mappings in one compiled call instead of one Python loop per mapping; it must choose the layout
the Python scoring chose (:func:`tests.compiler.reference_sabre.reference_vf2_layout`), ties included.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.compiler.reference_sabre import reference_vf2_layout
from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes.layout import VF2Layout, _best_mapping
from xihe.compiler.passes.sabre import SabreRouter
from xihe.compiler.target import Target


def _sparse_circuit(n: int, seed: int) -> Circuit:
    """A chain of CX with gaps, a few extra pairs and some measurements: many swap-free mappings, some ties."""
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for q in range(n - 1):
        if rng.random() < 0.85:
            qc.cx(q, q + 1)
        if rng.random() < 0.5:
            qc.rz(float(rng.uniform(0, 3)), q)
    if n > 4 and rng.random() < 0.5:
        qc.cx(0, 2)
    for q in rng.choice(n, int(rng.integers(0, n)), replace=False).tolist():
        qc.measure(q, q)
    return qc


@pytest.mark.parametrize("name", ["dongling", "grid36", "line10"])
def test_vf2_layout_chooses_as_the_python_scoring(name: str) -> None:
    target = devices.get(name).target
    chosen = 0
    for seed in range(12):
        n = 3 + seed % 8 if name == "line10" else 4 + 2 * seed
        dag = DAGCircuit.from_circuit(_sparse_circuit(n, seed))
        properties: dict[str, object] = {}
        VF2Layout(target, max_mappings=500).run(dag, properties)
        expected = reference_vf2_layout(dag, target, max_mappings=500)
        assert properties.get("layout") == expected
        chosen += expected is not None
    assert chosen >= 6  # most of them embed without swaps


def test_best_mapping_takes_the_first_of_equal_scores() -> None:
    """Two mappings of one pair onto mirror couplers of equal error score the same: the first found is kept, as the
    Python loop's strict ``<`` kept it."""
    coupler = np.zeros((3, 3))
    coupler[0, 1] = coupler[1, 0] = coupler[1, 2] = coupler[2, 1] = np.log1p(-0.01)
    coupler[0, 2] = coupler[2, 0] = np.log1p(-0.001)
    keys = np.array([[1, 2], [0, 1], [2, 0], [2, 0]], dtype=np.int64)  # physical nodes
    values = np.array([[0, 1], [0, 1], [0, 1], [1, 0]], dtype=np.int64)  # virtual nodes, in each mapping's order
    pair = (np.array([0]), np.array([1]), np.array([3.0]))
    no_cost = np.zeros(3)
    no_wait = np.zeros(2)
    assert _best_mapping(keys, values, *pair, coupler, np.zeros(2), np.zeros(2), no_cost, no_wait, no_cost) == 2
    # Measured, virtual qubit 0 costs its physical qubit's readout: mapping 2 puts it on node 2 (worst), 3 on node 0.
    assert _best_mapping(keys, values, *pair, coupler, np.array([1.0, 0.0]), np.zeros(2),
                         np.array([0.01, 0.02, 0.05]), no_wait, no_cost) == 3
    # Virtual qubit 0 waits 1 us: on node 2, which decays fast (issue 19's idle term), mapping 2 loses to 3.
    assert _best_mapping(keys, values, *pair, coupler, np.zeros(2), np.zeros(2), no_cost, np.array([1000.0, 0.0]),
                         np.array([0.0, 0.0, 1e-3])) == 3


def test_a_checked_layout_is_routed_without_checking_again() -> None:
    """Layout trials check a trial's start once (``SabreRouter.check``) and route thousands of times from it and
    from the layouts routings end with, which swaps keep connected; ``route`` checks only an unchecked layout."""
    split = Target.line(6).restricted(qubits=[0, 1, 3, 4])  # {0, 1} and {3, 4}
    router = SabreRouter(split)
    problem = router.prepare(DAGCircuit.from_circuit(Circuit(2).cx(0, 1)))
    router.check(problem, [0, 1])
    with pytest.raises(ValueError, match="different connected groups"):
        router.check(problem, [0, 4])
    with pytest.raises(ValueError, match="different connected groups"):
        router.route(problem, [0, 4], np.random.default_rng(1))
    routed = router.route(problem, [1, 0], np.random.default_rng(1), checked=True)
    assert routed.swaps == 0 and routed.final_layout == [1, 0]
