"""Memory estimates follow the engine a job will really use."""

from __future__ import annotations

from tests.service.helpers import basis_state_qasm, entangled_qasm
from xihe import devices, qasm
from xihe.devices.plan import result_bytes
from xihe.service.budget import BASE_BYTES, estimate_job_memory

BUDGET = 8 * 2**30


def ghz(n: int) -> object:
    chain = "".join(f"cx q[{i}],q[{i + 1}];\n" for i in range(n - 1))
    return qasm.loads(basis_state_qasm(0, n).replace("measure", "h q[0];\n" + chain + "measure"))


def t_layer(n: int) -> object:
    return qasm.loads(basis_state_qasm(0, n).replace("measure", "t q;\nmeasure"))


def test_wide_clifford_circuit_is_priced_as_a_tableau() -> None:
    assert estimate_job_memory(devices.get("sim"), [ghz(34)], BUDGET) < BASE_BYTES + 2**24


def test_wide_entangled_non_clifford_circuit_exceeds_any_budget() -> None:
    assert estimate_job_memory(devices.get("sim"), [qasm.loads(entangled_qasm(34))], BUDGET) > 2**38


def test_wide_product_state_is_priced_as_a_small_mps() -> None:
    """A layer of T gates on 34 qubits never entangles: the MPS engine runs it exactly in a few MB."""
    assert estimate_job_memory(devices.get("sim"), [t_layer(34)], BUDGET) < 2**30


def test_noisy_twin_uses_a_density_matrix_when_small() -> None:
    small = estimate_job_memory(devices.get("line10"), [t_layer(8)], BUDGET)
    assert small >= BASE_BYTES + 16 * 4**8


def test_largest_circuit_of_a_batch_counts() -> None:
    sim = devices.get("sim")
    # The largest state counts, not the sum of states; every circuit's (one-shot) counts are held, though.
    assert estimate_job_memory(sim, [t_layer(2), t_layer(20)], BUDGET) == estimate_job_memory(
        sim, [t_layer(20)], BUDGET) + result_bytes(1, 2, False)
