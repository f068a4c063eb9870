"""Issue 19: routing trials explore (random tie-breaks besides the calibration's), and transpile keeps the finished
candidate with the best estimated success less a median-gate charge per two-qubit gate."""

from __future__ import annotations

import math

import numpy as np

from xihe import devices, qasm
from xihe.circuit import Circuit
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.estimate import log_success_probability
from xihe.compiler.passes import NativeOptimizeLoop, SabreLayout
from xihe.compiler.passes.layout import layout_target
from xihe.compiler.passes.sabre import SabreRouter
from xihe.compiler.preset import estimated_two_qubit_gates, preset_passes
from xihe.compiler.transpile import _transpile, two_qubit_charge


def _all_to_all(n: int) -> Circuit:
    qc = Circuit(n)
    for a in range(n):
        for b in range(a + 1, n):
            qc.cx(a, b).rz(0.1 * (a + b), b)
    return qc


def test_random_tie_breaks_give_different_routings_from_one_layout() -> None:
    target = layout_target(devices.get("dongling").target, 10)
    router = SabreRouter(target)
    problem = router.prepare(DAGCircuit.from_circuit(_all_to_all(10)))
    layout = list(target.components[0][:10])
    random_ties = {router.route(problem, layout, np.random.default_rng(s), emit=False, error_weight=0.0).swaps
                   for s in range(8)}
    assert len(random_ties) > 1  # with the calibration breaking every tie, all eight were alike


def test_charge_is_the_median_couplers_log_error() -> None:
    target = devices.get("dongling").target
    errors = sorted(target.two_qubit_error(a, b) for a, b in target.edges)
    assert two_qubit_charge(target) == -math.log1p(-errors[len(errors) // 2])


def test_transpile_keeps_the_candidate_with_the_best_charged_success() -> None:
    """Candidates are ranked after the optimisation loop's first round; the winner alone gets the whole loop."""
    target = devices.get("dongling").target
    circuit = _all_to_all(12)
    dag = DAGCircuit.from_circuit(circuit)
    passes = preset_passes(target, 3, 5, estimated_two_qubit_gates(dag.ops))
    properties: dict[str, object] = {}
    index = next(i for i, p in enumerate(passes) if isinstance(p, SabreLayout))
    for p in passes[:index]:
        dag = p.run(dag, properties)
    rest = passes[index + 1:]
    loop_at = next(i for i, p in enumerate(rest) if isinstance(p, NativeOptimizeLoop))
    ranked = []
    for routed, props in passes[index].routings(dag, properties):  # type: ignore[attr-defined]
        middle = routed
        for p in [*rest[:loop_at], rest[loop_at].first_round()]:  # type: ignore[attr-defined]
            middle = p.run(middle, props)
        out = middle
        for p in rest[loop_at + 1:]:
            out = p.run(out, props)
        score = log_success_probability(out.to_circuit(), target) - two_qubit_charge(target) * out.count_two_qubit()
        ranked.append((score, middle, props))
    assert len(ranked) >= 2
    _, middle, props = max(ranked, key=lambda item: item[0])
    for p in rest[loop_at:]:
        middle = p.run(middle, props)
    chosen = _transpile(circuit, target, 3, 5).circuit
    assert qasm.dumps(chosen) == qasm.dumps(middle.to_circuit())


def test_level_3_finishes_two_candidates_above_200_two_qubit_gates() -> None:
    """Issue 19, seventh pass: above 200 two-qubit gates two routings are finished, not three (on two threads each
    thread finishes one; the third rarely won and cost a tenth of a large compile); 4 below, 1 above 2,000; the
    layout trials' effort is the same at every size up to 5,000."""
    target = devices.get("grid36").target
    counts = {150: 4, 201: 2, 600: 2, 2001: 1}
    for gates, kept in counts.items():
        layout = next(p for p in preset_passes(target, 3, 5, gates) if isinstance(p, SabreLayout))
        assert layout.candidates == kept, gates
        assert (layout.trials, layout.iterations, layout.swap_trials) == (24, 4, 4)
