"""Issue 15 from Qiskit's side, against a live Xihe server: a faithful Target (qubit properties, measure and gate
errors, dt, max_circuits, reset / if_else / delay), dynamic circuits, loose clbits and ``initialize`` exported,
numpy values in the SDK, and Qiskit's own ``BackendSamplerV2`` / ``BackendEstimatorV2`` over a Xihe backend.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit, Parameter
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2
from qiskit.quantum_info import SparsePauliOp, Statevector

import xihe
from tests.client.live import new_user_token, shared_server
from tests.integration.test_qiskit_adapter import aer_counts, two_sample_pvalue
from tests.service.helpers import Server, server_env
from xihe.client import Client
from xihe.qiskit import ExportError, XiheBackend, XiheProvider, export_circuit, fits_target

CHIPS = Path(xihe.__file__).parent / "devices" / "chips"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[Client]:
    with Client(server.url, new_user_token(server, "qiskit-faithful")) as client:
        yield client


@pytest.fixture(scope="module")
def provider(client: Client) -> XiheProvider:
    return XiheProvider(client)


def test_line10_target_has_calibrated_qubit_properties_and_errors(provider: XiheProvider) -> None:
    backend = provider.get_backend("line10")
    target = backend.target
    chip = json.loads((CHIPS / "line10.json").read_text())["qubits_info"]
    labels = {item["qubit"]: item["label"] for item in backend.info.raw["properties"]["qubits"]}
    assert labels, "the server describes the device's qubits"
    for qubit, label in labels.items():
        props = backend.qubit_properties(qubit)
        assert props.t1 == pytest.approx(chip[label]["T1"] * 1e-6)
        assert props.frequency == pytest.approx(chip[label]["qubit_frequency"] * 1e9)
        assert props.t2 is not None and 0 < props.t2 <= 2 * props.t1
        measure = target["measure"][(qubit,)]
        assert measure is not None and measure.error is not None and 0 < measure.error < 0.5
        assert measure.duration is not None and measure.duration > 0
        rx = target["rx"][(qubit,)]
        assert rx is not None and rx.error is not None and rx.error > 0
        assert rx.duration == pytest.approx(chip[label]["single_qubit_gate_duration"] * 1e-9)
    assert all(props is not None and props.error for props in target["cx"].values())
    assert backend.dt == 1e-9
    assert backend.max_circuits == 1000
    assert {"reset", "if_else", "delay", "measure"} <= set(target.operation_names)


def dynamic_circuit() -> QuantumCircuit:
    """Deterministic on an ideal device: q0 -> 1, q1 flipped by a bit condition, q2 reset mid-circuit."""
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "m"), ClassicalRegister(1, "r"))
    qc.x(0)
    qc.x(2)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)) as otherwise:
        qc.x(1)
    with otherwise:
        qc.h(1)
    qc.reset(2)
    with qc.if_test((qc.cregs[0], 1)):
        qc.x(2)
    qc.measure(1, 1)
    qc.measure(2, 2)
    return qc


def test_transpile_keeps_reset_and_if_else_and_runs_on_the_simulator(provider: XiheProvider) -> None:
    backend = provider.get_backend("sim")
    isa = transpile(dynamic_circuit(), backend, seed_transpiler=2)
    assert {"if_else", "reset"} <= set(isa.count_ops())
    counts = backend.run(isa, shots=200, seed_simulator=1).result().get_counts()
    assert aer_counts(dynamic_circuit(), shots=200) == {"1 11": 200}
    assert counts == {"1 11": 200}


def test_dynamic_circuit_transpiled_for_line10_runs_verbatim(provider: XiheProvider) -> None:
    backend = provider.get_backend("line10")
    isa = transpile(dynamic_circuit(), backend, optimization_level=1, seed_transpiler=3)
    assert fits_target(isa, backend.target)  # so it runs verbatim
    counts = backend.run(isa, shots=1000, seed_simulator=4).result().get_counts()
    # A noisy twin: the ideal outcome dominates.
    assert counts.get("1 11", 0) > 0.75 * 1000


def test_delay_with_units_reaches_the_device(provider: XiheProvider) -> None:
    backend = provider.get_backend("line10")
    results = {}
    for delay_us in (0, 40):
        qc = QuantumCircuit(1, 1)
        qc.x(0)
        if delay_us:
            qc.delay(delay_us, 0, unit="us")
        qc.measure(0, 0)
        isa = transpile(qc, backend, optimization_level=0, initial_layout=[2], seed_transpiler=1)
        assert "opaque" not in export_circuit(isa).qasm
        counts = backend.run(isa, shots=2000, seed_simulator=7).result().get_counts()
        results[delay_us] = counts.get("1", 0) / 2000
    t1 = backend.qubit_properties(2).t1
    assert t1 is not None
    # Relaxation over 40 us must show: P(1) drops by about exp(-40 us / T1), far beyond shot noise.
    expected_drop = results[0] * (1 - math.exp(-40e-6 / t1))
    assert results[0] - results[40] > 0.5 * expected_drop
    assert expected_drop > 10 * math.sqrt(0.25 / 2000)


def test_loose_clbits_convert_after_the_run(provider: XiheProvider) -> None:
    loose = [Clbit(), Clbit()]
    qc = QuantumCircuit(QuantumRegister(3, "q"), loose[:1], ClassicalRegister(1, "r"), loose[1:])
    qc.x(1)
    qc.x(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    result = provider.get_backend("sim").run(qc, shots=50).result()
    assert result.results[0].data.counts == {"0x6": 50}


def test_initialize_matches_aer(provider: XiheProvider) -> None:
    qc = QuantumCircuit(2, 2)
    qc.initialize([0.6, 0.0, 0.0, 0.8], [0, 1])
    qc.measure([0, 1], [0, 1])
    counts = provider.get_backend("sim").run(qc, shots=4000, seed_simulator=5).result().get_counts()
    assert set(counts) == {"00", "11"}
    assert two_sample_pvalue(counts, aer_counts(qc, shots=4000)) > 1e-3


def test_unsupported_circuit_is_refused_before_anything_is_submitted(provider: XiheProvider, client: Client) -> None:
    qc = QuantumCircuit(1, 1)
    with qc.while_loop((qc.clbits[0], 0)):
        qc.h(0)
        qc.measure(0, 0)
    before = client.jobs(limit=1).total
    with pytest.raises(ExportError, match="while_loop"):
        provider.get_backend("sim").run(qc, shots=10)
    assert client.jobs(limit=1).total == before


def test_numpy_seed_and_values_and_parameter_keys_in_the_sdk(provider: XiheProvider, client: Client) -> None:
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    counts = provider.get_backend("sim").run(qc, shots=np.int64(20), seed_simulator=np.int64(5)).result()
    assert counts.get_counts() == {"1": 20}
    theta = xihe.Parameter("theta")
    circuit = xihe.Circuit(1)
    circuit.rx(theta, 0)
    circuit.measure_all()
    job = client.run(circuit, backend="sim", shots=200, seed=np.int64(5),
                     parameters=[{theta: np.float32(0.0)}, {"theta": np.float64(np.pi)}])
    results = job.result(timeout=60)
    assert [r.counts for r in results] == [{"0": 200}, {"1": 200}]
    with pytest.raises(TypeError, match="real number"):
        client.run(circuit, backend="sim", parameters=[{theta: 1j}])


def test_backend_sampler_v2_sweep_beyond_max_circuits_is_split(provider: XiheProvider) -> None:
    backend = provider.get_backend("sim")
    theta = Parameter("theta")
    qc = QuantumCircuit(1)
    qc.ry(theta, 0)
    qc.measure_all()
    values = np.linspace(0.0, np.pi, 1500).reshape(-1, 1)
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 3})
    result = sampler.run([(transpile(qc, backend), values)], shots=64).result()[0]
    bits = result.data.meas
    assert bits.shape == (1500,)
    assert bits.get_counts(0) == {"0": 64} and bits.get_counts(1499) == {"1": 64}
    ones = bits.bitcount().mean(axis=-1)
    exact = np.sin(values[:, 0] / 2) ** 2
    # Every point within 5 sigma of exact (binomial, 64 shots; sigma floored for p near 0 or 1).
    sigma = np.sqrt(np.maximum(exact * (1 - exact), 0.01) / 64)
    assert np.all(np.abs(ones - exact) < 5 * sigma)


def test_backend_estimator_v2_matches_exact_values(provider: XiheProvider) -> None:
    backend = provider.get_backend("sim")
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(3)
    qc.ry(a, 0)
    qc.cx(0, 1)
    qc.rx(b, 2)
    qc.cz(1, 2)
    observables = [SparsePauliOp.from_list([("ZZI", 1.0), ("IIX", 0.5)]), SparsePauliOp("XYZ"),
                   SparsePauliOp.from_list([("IZI", -0.7), ("ZII", 0.3)])]
    values = [[0.3, 1.2], [2.1, -0.4]]
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 9, "default_precision": 0.01})
    isa = transpile(qc, backend, seed_transpiler=1)
    pub = (isa, [[o] for o in observables], values)
    result = estimator.run([pub]).result()[0]
    evs, stds = result.data.evs, result.data.stds
    assert evs.shape == (3, 2)
    for i, observable in enumerate(observables):
        for j, value in enumerate(values):
            exact = Statevector(qc.assign_parameters(value)).expectation_value(observable).real
            assert abs(evs[i, j] - exact) < 4 * stds[i, j] + 1e-9, (i, j, evs[i, j], exact, stds[i, j])


@pytest.fixture(scope="module")
def grid_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XiheProvider]:
    """A server of its own whose worker serves grid36 (the shared server leaves grid36 unserved on purpose)."""
    data_dir = tmp_path_factory.mktemp("xihe-grid36")
    server = Server(data_dir, server_env(data_dir, WORKERS="1", WORKER_BACKENDS='["grid36"]')).start(timeout=300)
    try:
        with Client(server.url, new_user_token(server, "qiskit-grid")) as client:
            yield XiheProvider(client)
    finally:
        server.stop()


def _run_non_clifford(backend: XiheBackend) -> None:
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.t(0)
    qc.cx(0, 1)
    qc.ry(0.3, 2)
    qc.cx(1, 2)
    qc.measure(range(3), range(3))
    isa = transpile(qc, backend, optimization_level=1, seed_transpiler=4)
    assert isa.num_qubits == backend.num_qubits and fits_target(isa, backend.target)
    counts = backend.run(isa, shots=500, seed_simulator=6).result().get_counts()
    assert sum(counts.values()) == 500
    ideal = aer_counts(qc, shots=4000)
    # The twin's noise blurs the distribution; the ideal support still holds most shots.
    assert sum(n for key, n in counts.items() if key in ideal) > 0.7 * 500


def test_transpiled_non_clifford_circuit_runs_on_dongling(provider: XiheProvider) -> None:
    """The submit-time budget prices the qubits a transpiled circuit touches, not the device's width."""
    _run_non_clifford(provider.get_backend("dongling"))


def test_transpiled_non_clifford_circuit_runs_on_grid36(grid_provider: XiheProvider) -> None:
    _run_non_clifford(grid_provider.get_backend("grid36"))


def _primitives_on_twin(backend: XiheBackend) -> None:
    """Qiskit's own BackendSamplerV2 and BackendEstimatorV2 on a large twin: accepted, run, close to exact."""
    theta = Parameter("theta")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.t(0)
    qc.cx(0, 1)
    isa = transpile(qc, backend, optimization_level=1, seed_transpiler=2)
    measured = qc.copy()
    measured.measure_all()
    isa_measured = transpile(measured, backend, optimization_level=1, seed_transpiler=2)
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 5})
    bits = sampler.run([(isa_measured, [[0.0], [np.pi]])], shots=400).result()[0].data.meas
    assert bits.get_counts(0).get("00", 0) > 0.8 * 400 and bits.get_counts(1).get("11", 0) > 0.8 * 400
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 5, "default_precision": 0.03})
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)
    evs = estimator.run([(isa, observable, [[0.4], [1.9]])]).result()[0].data.evs
    # ZZ is 1 for this circuit at every theta; readout and gate noise pull it down by well under 0.3.
    assert np.all(evs > 0.7) and np.all(evs <= 1.0 + 1e-9)


def test_qiskit_primitives_on_dongling(provider: XiheProvider) -> None:
    _primitives_on_twin(provider.get_backend("dongling"))


def test_qiskit_primitives_on_grid36(grid_provider: XiheProvider) -> None:
    _primitives_on_twin(grid_provider.get_backend("grid36"))


def test_job_metrics_and_queue_position_as_in_qiskit_ibm_runtime(provider: XiheProvider) -> None:
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    job = provider.get_backend("sim").run([qc, qc], shots=10)
    job.result()
    assert job.queue_position() is None
    metrics = job.metrics()
    assert metrics["num_circuits"] == 2
    stamps = metrics["timestamps"]
    assert stamps["created"] <= stamps["running"] <= stamps["finished"]
    assert metrics["usage"]["seconds"] >= 0
