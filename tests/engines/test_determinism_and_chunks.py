"""Same seed, same result on every engine; chunked runs depend only on (seed, chunk size); engine choice."""

from __future__ import annotations

import pytest

from xihe.circuit import Circuit
from xihe.engines import NoiseModel, choose_engine, get_engine, simulate
from xihe.engines.channels import amplitude_damping, depolarizing
from xihe.engines.chunks import chunk_seeds, merge_results, plan_chunks, run_chunk
from xihe.engines.trajectories import TrajectoriesEngine
from xihe.errors import ExecutionError


def noisy_model() -> NoiseModel:
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.05, 1), ["h", "t", "x"])
    nm.add_gate_error(depolarizing(0.05, 2), "cx")
    nm.add_gate_error(amplitude_damping(0.1), "h")
    nm.add_readout_error(0.02, 0.04, 0)
    return nm


def small_circuit(n: int = 4) -> Circuit:
    qc = Circuit(n, n)
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.t(1).h(2)
    qc.measure(list(range(n)), list(range(n)))
    return qc


@pytest.mark.parametrize("engine", ["statevector", "density_matrix", "trajectories", "stabilizer"])
def test_each_engine_twice_gives_the_same_result(engine: str) -> None:
    qc = small_circuit()
    if engine == "stabilizer":
        qc = Circuit(4, 4)
        qc.h(0).cx(0, 1).s(1).h(2).cz(2, 3).measure([0, 1, 2, 3], [0, 1, 2, 3])
    noise = noisy_model() if engine in ("density_matrix", "trajectories") else None
    a = simulate(qc, shots=700, seed=42, noise=noise, engine=engine, memory=True)
    b = simulate(qc, shots=700, seed=42, noise=noise, engine=engine, memory=True)
    assert a.counts == b.counts and a.memory == b.memory
    assert sum(a.counts.values()) == 700
    assert a.metadata["engine"] == engine and a.metadata["seed"] == 42
    assert a.metadata["xihe_version"] and a.metadata["time_s"] >= 0


def test_plan_chunks() -> None:
    assert plan_chunks(1000, 256) == [256, 256, 256, 232]
    assert plan_chunks(0, 10) == []
    with pytest.raises(ExecutionError):
        plan_chunks(10, 0)


def test_chunked_trajectories_equal_a_local_run_whatever_the_worker_count() -> None:
    qc = small_circuit()
    nm = noisy_model()
    local = simulate(qc, shots=600, seed=7, noise=nm, engine="trajectories")
    plan = plan_chunks(600, 256)
    seeds = chunk_seeds(7, len(plan))
    # Chunks run in any order (as workers would) and merged in chunk order.
    parts = {i: run_chunk(qc, plan[i], seeds[i], nm, "trajectories") for i in reversed(range(len(plan)))}
    merged = merge_results([parts[i] for i in range(len(plan))])
    assert merged.counts == local.counts and merged.shots == 600


def test_trajectories_counts_do_not_depend_on_process_count() -> None:
    qc = small_circuit(12)
    nm = noisy_model()
    one = TrajectoriesEngine(chunk_shots=64, processes=1).run(qc, 128, seed=3, noise=nm)
    two = TrajectoriesEngine(chunk_shots=64, processes=2).run(qc, 128, seed=3, noise=nm)
    assert one.counts == two.counts


def test_auto_choice() -> None:
    assert choose_engine(small_circuit()) == "statevector"
    assert choose_engine(small_circuit(), noisy_model()) == "density_matrix"
    assert choose_engine(small_circuit(14), noisy_model()) == "trajectories"
    readout_only = NoiseModel()
    readout_only.add_readout_error(0.1, 0.1, 0)
    assert choose_engine(small_circuit(), readout_only) == "statevector"
    wide = Circuit(60, 60)
    wide.h(0).cx(0, 1)
    assert choose_engine(wide) == "stabilizer"


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(ExecutionError, match="unknown engine"):
        get_engine("tensor_network")


def test_engine_protocol_memory_estimates() -> None:
    qc = small_circuit(10)
    assert get_engine("statevector").estimate_memory(qc) >= 16 << 10
    assert get_engine("density_matrix").estimate_memory(qc) >= 16 << 20
