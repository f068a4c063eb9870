"""If/else blocks in the engines (issue 15): each engine against Aer on the same dynamic circuit.

The density matrix engine gives exact key probabilities; Aer's samples must fit them (chi-square), and so must
each sampling engine's. The circuits overwrite a condition bit inside the true body (the condition is read once,
when the block starts), nest a register condition inside an else body, and reset mid-circuit.
"""

from __future__ import annotations

import pytest
from _qasmbench import chi2_pvalue
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator

import xihe.devices as devices
from xihe.circuit import Circuit, IfElse
from xihe.engines.channels import amplitude_damping
from xihe.engines.clifford import is_clifford
from xihe.engines.noise import NoiseModel
from xihe.engines.simulate import choose_engine, simulate
from xihe.errors import CircuitError, ExecutionError, ValidationError

SHOTS = 8_000


def xihe_circuit() -> Circuit:
    qc = Circuit(3, 3)
    qc.h(0).measure(0, 0).ry(1.1, 1).measure(1, 1)
    with qc.if_test((0, 1)) as block:
        qc.x(2).measure(2, 0)  # overwrites the condition bit: the else body must still not run
        qc.h(1)
    with block.else_():
        qc.ry(0.7, 2)
        with qc.if_test(("c", 2)):
            qc.x(0)
    qc.reset(1)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def qiskit_circuit() -> QuantumCircuit:
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.measure(0, 0)
    qc.ry(1.1, 1)
    qc.measure(1, 1)
    with qc.if_test((qc.clbits[0], 1)) as else_:
        qc.x(2)
        qc.measure(2, 0)
        qc.h(1)
    with else_:
        qc.ry(0.7, 2)
        with qc.if_test((qc.cregs[0], 2)):
            qc.x(0)
    qc.reset(1)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def aer_counts(qc: QuantumCircuit, shots: int = SHOTS, seed: int = 7) -> dict[str, int]:
    """Aer's counts with Xihe's key order (clbit 0 leftmost)."""
    counts = AerSimulator().run(qc, shots=shots, seed_simulator=seed).result().get_counts()
    return {key.replace(" ", "")[::-1]: n for key, n in counts.items()}


@pytest.fixture(scope="module")
def exact() -> dict[str, float]:
    probabilities = simulate(xihe_circuit(), shots=1, seed=1, engine="density_matrix").exact_probabilities
    assert probabilities is not None
    return probabilities


def test_aer_samples_fit_the_exact_distribution_of_an_if_else_circuit(exact: dict[str, float]) -> None:
    assert chi2_pvalue(aer_counts(qiskit_circuit()), exact) > 1e-4
    # Reading the condition after the body (the mistake the flags prevent) would give '010' and '011' too.
    assert set(exact) == {"000", "001", "100", "101"}


@pytest.mark.parametrize("engine", ["statevector", "trajectories", "density_matrix"])
def test_every_engine_samples_the_same_distribution(engine: str, exact: dict[str, float]) -> None:
    result = simulate(xihe_circuit(), shots=SHOTS, seed=11, engine=engine)
    assert sum(result.counts.values()) == SHOTS
    assert all(len(key) == 3 for key in result.counts)  # the hidden flag bits never show
    assert chi2_pvalue(result.counts, exact) > 1e-4


def test_noisy_blocks_match_between_the_density_matrix_and_trajectories() -> None:
    noise = NoiseModel()
    noise.add_gate_error(amplitude_damping(0.1), ["x", "h", "ry"])
    for q in range(3):
        noise.add_readout_error(0.03, 0.05, q)
    exact = simulate(xihe_circuit(), shots=1, seed=1, engine="density_matrix", noise=noise).exact_probabilities
    assert exact is not None
    sampled = simulate(xihe_circuit(), shots=SHOTS, seed=5, engine="trajectories", noise=noise)
    assert chi2_pvalue(sampled.counts, exact) > 1e-4
    ideal = simulate(xihe_circuit(), shots=1, seed=1, engine="density_matrix").exact_probabilities
    assert ideal is not None and set(exact) > set(ideal)  # the noise inside the blocks is applied


def test_stabilizer_runs_pauli_feedback_blocks_as_aer_does() -> None:
    qc = Circuit(2, 2)
    qc.h(0).measure(0, 0)
    with qc.if_test((0, 0)) as block:
        qc.x(1)
    with block.else_():
        qc.z(1)
    qc.measure(1, 1)
    counts = simulate(qc, shots=4000, seed=2, engine="stabilizer").counts
    assert set(counts) == {"01", "10"}  # bit 0 = 0 -> x on qubit 1; bit 0 = 1 -> z leaves it 0
    qk = QuantumCircuit(2, 2)
    qk.h(0)
    qk.measure(0, 0)
    with qk.if_test((qk.clbits[0], 0)) as else_:
        qk.x(1)
    with else_:
        qk.z(1)
    qk.measure(1, 1)
    assert set(aer_counts(qk, 1000)) == set(counts)


def test_stabilizer_refuses_a_block_it_cannot_feed_forward() -> None:
    qc = Circuit(2, 2)
    qc.h(0).measure(0, 0)
    with qc.if_test((0, 1)):
        qc.h(1)
    qc.measure(1, 1)
    with pytest.raises(ExecutionError, match="if blocks only on one measured bit"):
        simulate(qc, shots=10, seed=1, engine="stabilizer")


def test_mps_refuses_blocks_and_the_statevector_refuses_shots_zero() -> None:
    with pytest.raises(ExecutionError, match="mid-circuit"):
        simulate(xihe_circuit(), shots=10, seed=1, engine="mps")
    with pytest.raises(ExecutionError, match="shots=0"):
        simulate(xihe_circuit(), shots=0, engine="statevector")


def test_blocks_are_values_renumbered_as_one_and_checked_when_built() -> None:
    qc = xihe_circuit()
    block = qc.operations[4]
    assert isinstance(block, IfElse)
    assert block.qubits == (0, 1, 2) and block.clbits == (0, 1, 2)
    moved = block.replace(qubits=(5, 6, 7))
    assert isinstance(moved, IfElse)
    assert moved.true_body[0].qubits == (7,) and moved.qubits == (5, 6, 7)
    nested = moved.false_body[1]
    assert isinstance(nested, IfElse) and nested.true_body[0].qubits == (5,)
    assert qc == xihe_circuit() and qc.copy() == qc
    with pytest.raises(CircuitError, match="does not fit"):
        qc.if_else(("c", 8), [])
    with pytest.raises(CircuitError, match="out of range"):
        Circuit(1, 1).if_else((0, 1), [block])


def test_auto_picks_the_stabilizer_only_for_blocks_it_can_feed_forward() -> None:
    wide = Circuit(40, 2)
    wide.h(0)
    for q in range(39):
        wide.cx(q, q + 1)
    wide.measure(0, 0)
    with wide.if_test((0, 1)):
        wide.x(39)
    wide.measure(39, 1)
    assert is_clifford(wide) and choose_engine(wide, max_memory_bytes=1 << 30) == "stabilizer"
    # A GHZ state: qubit 39 equals qubit 0, and the block flips it back to 0 whenever bit 0 reads 1.
    assert set(simulate(wide, shots=200, seed=3, max_memory_bytes=1 << 30).counts) == {"00", "10"}
    with wide.if_test((0, 1)):
        wide.h(5)  # not Pauli feedback: the circuit is not one the stabilizer can run
    assert not is_clifford(wide)


def test_the_clifford_simulator_refuses_at_submit_a_block_it_cannot_run() -> None:
    backend = devices.get("sim-clifford")
    feedback = Circuit(2, 2).h(0).measure(0, 0)
    with feedback.if_test((0, 1)):
        feedback.x(1)
    backend.validate(feedback)  # Pauli feedback: runs
    other = Circuit(2, 2).h(0).measure(0, 0)
    with other.if_test((0, 1)):
        other.h(1)
    with pytest.raises(ValidationError, match="Pauli x/y/z"):
        backend.validate(other)
