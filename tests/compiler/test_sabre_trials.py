"""Issue 19, fifth pass: cheaper SABRE layout trials with the same routings.

The kernel routes exactly as the one it replaced (kept in :mod:`tests.compiler.reference_sabre`), and so do dense
regions and placements; a swap trial abandoned part way could not have been kept (the kept candidates are those of
routing every trial to the end).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.compiler.reference_sabre import (
    reference_dense_region,
    reference_place_on_region,
    reference_route_kernel,
)
from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes.layout import (
    Interactions,
    SabreLayout,
    dense_region,
    layout_target,
    place_on_region,
)
from xihe.compiler.passes.sabre import SabreRouter
from xihe.compiler.passes.sabre_kernel import ERROR_WEIGHT, sabre_route_kernel
from xihe.compiler.target import Target


def _random_circuit(n: int, gates: int, seed: int, measure: bool = True) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n) if measure else Circuit(n)
    for _ in range(gates):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        qc.ry(float(rng.uniform(0, 3)), a).cx(a, b)
    if measure:
        for q in range(n):
            qc.measure(q, q)
    return qc


def _region_target(name: str, n: int) -> Target:
    return layout_target(devices.get(name).target, n)


@pytest.mark.parametrize("name", ["dongling", "grid36"])
def test_kernel_routes_as_the_reference(name: str) -> None:
    """Events, final layout, swaps and log-fidelity bit for bit, with and without the calibrated tie-break."""
    target = _region_target(name, 12)
    router = SabreRouter(target)
    rng = np.random.default_rng(3)
    for case in range(6):
        problem = router.prepare(DAGCircuit.from_circuit(_random_circuit(12, 60 + 20 * case, case)))
        layout = np.array(rng.permutation(target.components[0])[:12], dtype=np.int64)
        for weight in (ERROR_WEIGHT, 0.0):
            args = (problem.succ_ptr, problem.succ_idx, problem.indeg, problem.q0, problem.q1, problem.is_measure,
                    router.dist, router.nbr_ptr, router.nbr_idx, router.swap_err, layout, router.valve, 100 + case,
                    True, weight)
            events, final, swaps, log_fid, finished = sabre_route_kernel(*args, -np.inf, router.best_gate_log, 0)
            ref_events, ref_final, ref_swaps, ref_log_fid = reference_route_kernel(*args)
            assert finished
            assert swaps == ref_swaps > 0
            assert log_fid == ref_log_fid
            assert np.array_equal(events, ref_events)
            assert np.array_equal(final, ref_final)


@pytest.mark.parametrize("name", ["dongling", "grid36"])
def test_regions_and_placements_as_the_reference(name: str) -> None:
    target = _region_target(name, 10)
    home = devices.get(name).target
    dag = DAGCircuit.from_circuit(_random_circuit(10, 40, 7))
    facts = Interactions.of(dag)
    for seed in range(8):
        start = target.components[0][seed]
        noise = 0.5 if seed % 2 else 0.0
        region = dense_region(target, start, 10, np.random.default_rng(seed), noise)
        assert region == reference_dense_region(target, start, 10, np.random.default_rng(seed), noise)
        shuffle = seed % 3 == 0
        placed = place_on_region(dag, region, target, np.random.default_rng(seed), shuffle, home=home, facts=facts)
        assert placed == reference_place_on_region(dag, region, target, np.random.default_rng(seed), shuffle, home)


def test_abandoned_routing_could_not_reach_the_bar() -> None:
    """A bar above a routing's whole log-fidelity stops it part way; a bar below it, or a swap floor at its swap
    count, lets it finish exactly as without one."""
    target = _region_target("dongling", 12)
    router = SabreRouter(target)
    problem = router.prepare(DAGCircuit.from_circuit(_random_circuit(12, 120, 1)))
    layout = list(target.components[0][:12])
    whole = router.route(problem, layout, np.random.default_rng(5), emit=False)
    assert whole.finished and whole.swaps > 10
    stopped = router.route(problem, layout, np.random.default_rng(5), emit=False, give_up=(whole.log_fidelity + 0.5, 0))
    assert not stopped.finished
    assert 0 < stopped.swaps < whole.swaps
    for give_up in ((whole.log_fidelity - 1e-3, 0), (whole.log_fidelity + 0.5, whole.swaps)):
        again = router.route(problem, layout, np.random.default_rng(5), emit=False, give_up=give_up)
        assert again.finished
        assert (again.swaps, again.log_fidelity, again.final_layout) == (whole.swaps, whole.log_fidelity,
                                                                         whole.final_layout)


@pytest.mark.parametrize(("name", "seed", "candidates"), [("dongling", 2, 3), ("grid36", 4, 4), ("dongling", 6, 1)])
def test_abandoning_trials_keeps_the_same_candidates(name: str, seed: int, candidates: int) -> None:
    """Every kept routing (layout, swaps, operations) is the one that routing every trial to the end keeps."""
    target = devices.get(name).target
    dag = DAGCircuit.from_circuit(_random_circuit(14, 150, seed))
    kept = []
    for abandon in (True, False):
        layout = SabreLayout(target, trials=24, iterations=2, seed=seed, swap_trials=4, candidates=candidates,
                             abandon=abandon)
        kept.append([(props["layout"], props["final_layout"], props["swaps"], routed.ops)
                     for routed, props in layout.routings(dag, {})])
    assert len(kept[0]) == candidates
    assert kept[0] == kept[1]
