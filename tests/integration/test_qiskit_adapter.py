"""Qiskit circuits through ``xihe.qiskit`` against a live Xihe server, compared with Qiskit Aer.

Counts are compared with a two-sample chi-square test (seeded on both sides, so each run is deterministic); bit
order is checked exactly on circuits with a single possible outcome spread over several registers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus
from qiskit_aer import AerSimulator
from scipy.stats import chi2

from tests.client.live import new_user_token, shared_server
from tests.service.helpers import Server
from xihe.client import Client
from xihe.qiskit import XiheBackend, XiheProvider, fits_target

SHOTS = 4000


def two_sample_pvalue(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """p-value of 'same distribution' for two count dicts (chi-square on the pooled table)."""
    na, nb = sum(a.values()), sum(b.values())
    keys = [k for k in set(a) | set(b) if a.get(k, 0) + b.get(k, 0) > 0]
    stat = 0.0
    for key in keys:
        pooled = (a.get(key, 0) + b.get(key, 0)) / (na + nb)
        for counts, n in ((a, na), (b, nb)):
            expected = pooled * n
            stat += (counts.get(key, 0) - expected) ** 2 / expected
    return float(chi2.sf(stat, max(1, len(keys) - 1)))


def aer_counts(circuit: QuantumCircuit, shots: int = SHOTS, seed: int = 11) -> dict[str, int]:
    simulator = AerSimulator(seed_simulator=seed)
    return dict(simulator.run(transpile(circuit, simulator), shots=shots).result().get_counts())


def entangled_circuit() -> QuantumCircuit:
    """A non-uniform 3-qubit distribution over two classical registers."""
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "lo"), ClassicalRegister(1, "hi"))
    qc.ry(1.1, 0)
    qc.cx(0, 1)
    qc.rx(0.7, 2)
    qc.cz(1, 2)
    qc.h(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def provider(server: Server) -> Iterator[XiheProvider]:
    with Client(server.url, new_user_token(server, "qiskit-user")) as client:
        yield XiheProvider(client)


def test_backend_target_comes_from_the_device(provider: XiheProvider) -> None:
    line = provider.get_backend("line10")
    assert isinstance(line, XiheBackend) and line.num_qubits == 10
    assert {"cx", "rx", "ry", "rz", "h", "measure"} <= set(line.target.operation_names)
    coupling = set(line.target["cx"])
    assert coupling == {tuple(pair) for pair in line.info.coupling_map or ()}
    assert any(props is not None and props.error for props in line.target["cx"].values())
    sim = provider.get_backend("sim")
    assert sim.target.instruction_supported("cx", (0, 33)) and sim.num_qubits == 34


def test_backend_repr_names_the_backend_its_size_and_server(provider: XiheProvider) -> None:
    """Like Qiskit's ``<IBMBackend('ibm_brisbane')>``; it was the default ``<...XiheBackend object at ...>``."""
    line = provider.get_backend("line10")
    assert repr(line) == f"<XiheBackend('line10', 10 qubits, {line.info.kind}, {provider.client.url})>"
    assert repr(provider.get_backend("sim")).startswith("<XiheBackend('sim', 34 qubits, ")


def test_counts_match_aer_on_the_ideal_simulator(provider: XiheProvider) -> None:
    backend = provider.get_backend("sim")
    circuit = entangled_circuit()
    job = backend.run(circuit, shots=SHOTS, seed_simulator=3)
    counts = job.result().get_counts()
    assert job.status() == JobStatus.DONE
    reference = aer_counts(circuit)
    assert all(" " in key and len(key) == 4 for key in counts)  # "hi lo1lo0", Qiskit's order
    assert two_sample_pvalue(counts, reference) > 1e-3


@pytest.mark.parametrize(
    ("flips", "expected"),
    [((0,), "0 01"), ((1,), "0 10"), ((2,), "1 00"), ((0, 2), "1 01")],
)
def test_bit_order_is_qiskits_across_registers(provider: XiheProvider, flips: tuple[int, ...], expected: str) -> None:
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "lo"), ClassicalRegister(1, "hi"))
    for qubit in flips:
        qc.x(qubit)
    qc.measure([0, 1, 2], [0, 1, 2])
    assert aer_counts(qc, shots=10) == {expected: 10}
    assert provider.get_backend("sim").run(qc, shots=10).result().get_counts() == {expected: 10}


def test_transpiled_circuit_runs_verbatim_on_the_noisy_twin(provider: XiheProvider) -> None:
    backend = provider.get_backend("line10")
    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure(range(3), range(3))
    isa = transpile(circuit, backend, optimization_level=1, seed_transpiler=5)
    assert fits_target(isa, backend.target)
    result = backend.run(isa, shots=2000, seed_simulator=9).result()
    counts = result.get_counts()
    ideal = aer_counts(circuit, shots=2000)
    assert set(ideal) == {"000", "111"}
    # A noisy chip: the GHZ outcomes dominate, balanced between themselves within 5 sigma.
    good = counts.get("000", 0) + counts.get("111", 0)
    assert good > 0.8 * 2000
    assert abs(counts.get("000", 0) - good / 2) < 5 * math.sqrt(good / 4)


def test_untranspiled_circuit_is_compiled_by_xihe(provider: XiheProvider) -> None:
    backend = provider.get_backend("line10")
    circuit = QuantumCircuit(2, 2)
    circuit.x(0)
    circuit.swap(0, 1)
    circuit.measure([0, 1], [0, 1])
    assert not fits_target(circuit, backend.target)
    counts = backend.run(circuit, shots=1000, seed_simulator=2).result().get_counts()
    assert max(counts, key=lambda k: counts[k]) == "10" and counts["10"] > 850


def test_batch_of_circuits_is_one_job(provider: XiheProvider) -> None:
    backend = provider.get_backend("sim")
    circuits = []
    for flips in ((0,), (1,), ()):
        qc = QuantumCircuit(2, 2)
        for qubit in flips:
            qc.x(qubit)
        qc.measure([0, 1], [0, 1])
        circuits.append(qc)
    result = backend.run(circuits, shots=20).result()
    assert [result.get_counts(i) for i in range(3)] == [{"01": 20}, {"10": 20}, {"00": 20}]


def test_backend_sampler_v2_matches_aer(provider: XiheProvider) -> None:
    backend = provider.get_backend("sim")
    theta = Parameter("theta")
    qc = QuantumCircuit(2, name="sampled")
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.measure_all()
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 4})
    isa = transpile(qc, backend, seed_transpiler=1)
    values = [[0.4], [2.0]]
    pub_result = sampler.run([(isa, values)], shots=SHOTS).result()[0]
    for index, value in enumerate(values):
        counts = pub_result.data.meas.get_counts(index)
        assert sum(counts.values()) == SHOTS
        reference = aer_counts(qc.assign_parameters({theta: value[0]}), seed=20 + index)
        assert set(counts) <= {"00", "11"}
        assert two_sample_pvalue(counts, reference) > 1e-3
