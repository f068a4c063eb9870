"""``device.plan``: compile, touched qubits, compact circuit, noise, engine, memory and threads, decided once."""

from __future__ import annotations

import pytest

from xihe import devices, qasm
from xihe.circuit import Circuit
from xihe.devices.plan import PlanOptions, ResultStorage, result_bytes
from xihe.errors import ResourceError


def t_ghz(n: int, declared: int | None = None) -> Circuit:
    qc = Circuit(declared or n, n).h(0).t(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    return qc.measure(list(range(n)), list(range(n)))


def test_plan_of_a_twin_job_holds_compiled_compact_noise_and_engine() -> None:
    device = devices.get("dongling")
    plan = device.plan([t_ghz(3)], 300, PlanOptions(seeds=(4,)))
    planned = plan.circuits[0]
    assert planned.compiled is not None and planned.native is planned.compiled.circuit
    assert list(planned.physical_qubits) == sorted(planned.compiled.initial_layout[:3])
    assert planned.compact.num_qubits == 3 and planned.noise is not None
    assert planned.engine == "density_matrix" and planned.memory_bytes < 2**20 and planned.threads == 1
    assert plan.memory_bytes == planned.memory_bytes + planned.result_bytes  # the state, plus the counts held


def test_executing_a_plan_gives_the_counts_of_device_run() -> None:
    device = devices.get("dongling")
    plan = device.plan([t_ghz(3)], 300, PlanOptions(seeds=(4,)))
    compiled = plan.circuits[0].compiled
    assert compiled is not None
    by_plan = device.execute(plan)[0]
    by_run = device.run(compiled.circuit, 300, seed=4, compiled=compiled)
    assert by_plan.counts == by_run.counts
    assert by_plan.metadata["physical_qubits"] == list(plan.circuits[0].physical_qubits)


def test_declared_width_does_not_price_a_twin_circuit() -> None:
    device = devices.get("grid36")
    plan = device.plan([t_ghz(3, declared=36)], 100, PlanOptions(defer_compile=True))
    assert plan.circuits[0].physical_qubits == (0, 1, 2)
    assert plan.circuits[0].engine == "density_matrix"


def test_too_large_plan_is_refused_naming_engine_and_touched_qubits() -> None:
    qc = Circuit(30, 30)
    for q in range(30):
        qc.h(q).t(q)
    for q in range(15):  # each qubit entangled with its mirror: far beyond any small MPS
        qc.cx(q, 29 - q)
    qc.measure(list(range(30)), list(range(30)))
    plan = devices.get("grid36").plan([qc], 10, PlanOptions(defer_compile=True, memory_limit=2**30))
    assert plan.circuits[0].engine == "trajectories"
    with pytest.raises(ResourceError, match=r"trajectories engine .* 30 touched qubits"):
        plan.check_memory()


def test_simulator_plan_keeps_the_ideal_engine_choice() -> None:
    qc = Circuit(34, 34).h(0)
    for i in range(33):
        qc.cx(i, i + 1)
    qc.measure(list(range(34)), list(range(34)))
    planned = devices.get("sim").plan([qc], 10, PlanOptions(compile=False)).circuits[0]
    assert planned.engine == "stabilizer" and planned.noise is None


def test_the_plan_prices_results_and_a_refusal_names_them() -> None:
    # Issue 18: 12 circuits x 20 measured bits x 10^6 shots with per-shot memory once took 737 MB stored and 4 GiB
    # in the API; the plan priced only the engine's state (32 MiB here).
    wide = qasm.loads('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[20];\ncreg c[20];\nh q;\nmeasure q -> c;\n')
    sim = devices.get("sim")
    plain = sim.plan([wide] * 12, 1_000_000, PlanOptions(memory=False, defer_compile=True))
    per_shot = sim.plan([wide] * 12, 1_000_000, PlanOptions(memory=True, defer_compile=True))
    state = plain.largest.memory_bytes
    assert plain.memory_bytes == state + 12 * result_bytes(1_000_000, 20, False)
    assert per_shot.memory_bytes - plain.memory_bytes == 12 * 1_000_000 * (2 * 20 + 68)  # shots x bits x memory
    with pytest.raises(ResourceError) as refused:
        sim.plan([wide] * 12, 1_000_000, PlanOptions(memory=True, memory_limit=2**30, defer_compile=True)) \
            .check_memory()
    message = str(refused.value)
    assert "1,000,000 shots x 20 bits, per-shot memory" in message
    assert "the job's 12 results together about 2.77 GiB" in message
    assert "1 GiB allowed" in message
    # An ordinary job is priced as before, give or take its small counts.
    small = sim.plan([wide], 1000, PlanOptions(defer_compile=True))
    assert small.memory_bytes - small.largest.memory_bytes < 1 << 20


def test_per_shot_results_stored_in_groups_are_priced_as_held_at_once() -> None:
    # Issue 18: the worker stores per-shot results group by group as they finish (at most 16,384 shots a group, a
    # larger circuit alone), keeping a summary of at most 16,384 counts per circuit: a 12-circuit job holds one
    # circuit's whole result and 12 summaries, not 12 whole results.
    wide = qasm.loads('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[20];\ncreg c[20];\nh q;\nmeasure q -> c;\n')
    sim = devices.get("sim")
    storage = ResultStorage(shots=16384, outcomes=16384)
    together = sim.plan([wide] * 12, 100_000, PlanOptions(memory=True, defer_compile=True))
    grouped = sim.plan([wide] * 12, 100_000, PlanOptions(memory=True, defer_compile=True, stored_in_groups=storage))
    assert together.result_bytes == 12 * result_bytes(100_000, 20, True)
    assert grouped.result_bytes == result_bytes(100_000, 20, True) + 12 * result_bytes(16384, 20, False)
    # Small circuits share a group: 4,000 shots each, four to a group.
    small = sim.plan([wide] * 12, 4000, PlanOptions(memory=True, defer_compile=True, stored_in_groups=storage))
    assert small.result_bytes == 4 * result_bytes(4000, 20, True) + 12 * result_bytes(4000, 20, False)
    # Counts-only results are held until the job ends whatever the storage.
    counts = sim.plan([wide] * 12, 100_000, PlanOptions(defer_compile=True, stored_in_groups=storage))
    assert counts.result_bytes == 12 * result_bytes(100_000, 20, False)
    large = sim.plan([wide] * 12, 1_000_000, PlanOptions(memory=True, defer_compile=True, stored_in_groups=storage))
    assert "the job's 12 results held at once, stored as they finish, about 0.257 GiB" in large.largest.describe()


def _mid_circuit(num_qubits: int, measurements: int) -> Circuit:
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', f"qreg q[{num_qubits}];", f"creg m[{max(1, measurements)}];",
             f"creg c[{num_qubits}];", "h q;"]
    for i in range(measurements):
        lines += [f"cx q[{i}],q[{i + 1}];", f"measure q[{i}] -> m[{i}];", f"h q[{i}];"]
    return qasm.loads("\n".join([*lines, "measure q -> c;\n"]))


def test_mid_circuit_measurements_are_priced_per_leaf_of_the_outcome_tree() -> None:
    # Issue 18: 18 qubits, 12 mid-circuit measurements, 10^5 shots were priced at 24 MiB and took 3.5 GiB
    # (run_dynamic keeps each leaf's final state). At most min(shots, 2^12) = 4,096 leaves of 4 MiB now.
    sim = devices.get("sim")
    plan = sim.plan([_mid_circuit(18, 12)], 100_000, PlanOptions(defer_compile=True))
    state = (1 << 18) * 16
    assert plan.largest.engine == "statevector"
    assert plan.largest.memory_bytes >= 4096 * state
    with pytest.raises(ResourceError, match="16 GiB"):
        plan.check_memory(4 << 30)
    # Fewer shots than leaves: one leaf per shot at most.
    few = sim.plan([_mid_circuit(18, 12)], 100, PlanOptions(defer_compile=True)).largest.memory_bytes
    assert few < 200 * state
    # Only terminal measurements: no tree, priced as before.
    terminal = sim.plan([_mid_circuit(18, 0)], 100_000, PlanOptions(defer_compile=True)).largest.memory_bytes
    assert terminal < 3 * state
