"""``xihe.qiskit.EstimatorV2``/``SamplerV2`` through a live server, against Qiskit's ``StatevectorEstimator`` and
``StatevectorSampler`` (same PUBs, same broadcasting, same result containers) and exact values."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import ClassicalRegister, Parameter, ParameterVector, QuantumRegister
from qiskit.primitives import BitArray, StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import SparsePauliOp, Statevector
from scipy.stats import chisquare

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.service.helpers import Server
from xihe.client import Client
from xihe.qiskit import EstimatorV2, SamplerV2, XiheBackend, XiheProvider

RNG = np.random.default_rng(1234)


def ansatz() -> QuantumCircuit:
    """Three qubits, parameters named as Qiskit's library does (``θ[i]``: not OpenQASM identifiers)."""
    theta = ParameterVector("θ", 3)
    qc = QuantumCircuit(3)
    qc.ry(theta[0], 0)
    qc.rx(2 * theta[1] + 0.3, 1)
    qc.cx(0, 2)
    qc.rz(theta[2], 2)
    qc.h(1)
    qc.cx(1, 0)
    qc.ry(theta[0] - theta[2], 2)
    return qc


OBSERVABLES = [[SparsePauliOp.from_list([("XZI", 0.5), ("IIZ", 1.0), ("III", -0.2)])],
               [SparsePauliOp.from_list([("YIX", 0.8), ("ZZZ", -0.4)])]]  # shape (2, 1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return Client(server.url, token=new_user_token(server, "qiskit-primitives-user"))


@pytest.fixture(scope="module")
def sim(client: Client) -> XiheBackend:
    return XiheProvider(client).get_backend("sim")


def test_estimator_v2_broadcasts_as_qiskit_and_gives_exact_values_in_one_job(sim: XiheBackend,
                                                                            client: Client) -> None:
    values = RNG.uniform(-np.pi, np.pi, size=(3, 3))  # parameter array shape (3,) x (2, 1) observables -> (2, 3)
    bare = QuantumCircuit(2)
    bare.h(0)
    bare.cx(0, 1)
    pubs = [(ansatz(), OBSERVABLES, values), (bare, ["ZZ", "XX", "ZI"])]
    job = EstimatorV2(mode=sim).run(pubs, precision=0.0)
    result = job.result(timeout=WAIT_S)
    reference = StatevectorEstimator().run(pubs).result()
    assert len(result) == 2 and result.metadata["xihe_job_id"] == job.job_id()
    for ours, theirs in zip(result, reference, strict=True):
        assert ours.data.evs.shape == theirs.data.evs.shape == ours.data.shape
        np.testing.assert_allclose(ours.data.evs, theirs.data.evs, atol=1e-9)
        assert np.all(ours.data.stds == 0.0)
    assert result[0].data.shape == (2, 3) and result[1].data.shape == (3,)
    info = client.job(job.job_id()).info
    assert info.kind == "estimate" and info.num_circuits == 3 + 1  # exact: one item per binding, one job


def test_estimator_v2_sampled_values_are_within_their_std(sim: XiheBackend) -> None:
    values = RNG.uniform(-np.pi, np.pi, size=(4, 3))
    estimator = EstimatorV2(mode=sim, options={"default_precision": 0.02, "seed_estimator": 8})
    [ours] = estimator.run([(ansatz(), OBSERVABLES, values)]).result(timeout=WAIT_S)
    [exact] = StatevectorEstimator().run([(ansatz(), OBSERVABLES, values)]).result()
    assert ours.metadata["target_precision"] == 0.02 and ours.metadata["shots"] == 2500
    assert np.all(ours.data.stds > 0) and np.all(ours.data.stds < 0.05)
    assert np.all(np.abs(ours.data.evs - exact.data.evs) <= 5 * ours.data.stds)  # seeded: one fixed draw


def test_estimator_v2_options_are_checked(sim: XiheBackend) -> None:
    with pytest.raises(ValueError, match=r"unknown option 'resilience\.zne\.order'"):
        EstimatorV2(mode=sim, options={"resilience": {"zne": {"order": 2}}})
    estimator = EstimatorV2(mode=sim, options={"resilience_level": 2})
    assert estimator.mitigation() is None  # an ideal simulator has no noise to mitigate
    # default_shots wins over default_precision, as in qiskit-ibm-runtime: exactly that many shots per circuit.
    shots = EstimatorV2(mode=sim, options={"default_shots": 1000, "default_precision": 0.5})
    [pub] = shots.run([(QuantumCircuit(1), "Z")]).result(timeout=WAIT_S)
    assert pub.metadata["shots"] == 1000 and float(pub.data.evs) == 1.0


def sampler_circuit() -> QuantumCircuit:
    """Two registers measured out of order, a loose clbit, a parameter: the result maps back to Qiskit's bits."""
    t = Parameter("t")
    q, a, b = QuantumRegister(3, "q"), ClassicalRegister(2, "alpha"), ClassicalRegister(2, "beta")
    qc = QuantumCircuit(q, a, b)
    qc.ry(t, 0)
    qc.cx(0, 1)
    qc.x(2)
    qc.measure(0, b[1])
    qc.measure(1, a[0])
    qc.measure(2, b[0])
    return qc


def test_sampler_v2_bit_arrays_match_statevector_sampler(sim: XiheBackend, client: Client) -> None:
    values = np.array([[0.7], [2.2]])
    ghz = QuantumCircuit(3)
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(1, 2)
    ghz.measure_all()
    pubs = [(sampler_circuit(), values, 4000), (ghz,)]
    job = SamplerV2(mode=sim, options={"seed": 21}).run(pubs, shots=300)
    ours = job.result(timeout=WAIT_S)
    theirs = StatevectorSampler(seed=21).run(pubs, shots=300).result()
    assert client.job(job.job_id()).info.num_circuits == 3  # two bindings + one circuit, one job
    for mine, ref in zip(ours, theirs, strict=True):
        assert mine.data.shape == ref.data.shape
        assert sorted(mine.data.keys()) == sorted(ref.data.keys())
        for name in ref.data:
            a, b = mine.data[name], ref.data[name]
            assert isinstance(a, BitArray) and (a.shape, a.num_bits, a.num_shots) == (b.shape, b.num_bits, b.num_shots)
    # beta = (b1 = q0, b0 = q2 = 1), alpha = (a1 never written = 0, a0 = q1 = q0): beta is 0b01 or 0b11 with
    # alpha's a0 equal to beta's b1, on every shot.
    for index, (theta,) in enumerate(values):
        alpha = ours[0].data.alpha[index].get_int_counts()
        beta = ours[0].data.beta[index].array[:, 0]
        assert set(alpha) <= {0, 1} and set(beta.tolist()) <= {0b01, 0b11}
        p_one = float(np.sin(theta / 2) ** 2)
        seen = Counter(beta.tolist())
        assert chisquare([seen[0b01], seen[0b11]], [4000 * (1 - p_one), 4000 * p_one]).pvalue > 1e-3
        np.testing.assert_array_equal(ours[0].data.alpha[index].array[:, 0] & 1, (beta >> 1) & 1)
    assert set(ours[1].data.meas.get_counts()) == {"000", "111"}


def test_sampler_v2_probabilities_follow_the_statevector(sim: XiheBackend) -> None:
    qc = ansatz()
    qc.measure_all()
    values = RNG.uniform(-np.pi, np.pi, size=(2, 3))
    [pub] = SamplerV2(mode=sim, options={"seed": 3}).run([(qc, values)], shots=5000).result(timeout=WAIT_S)
    for index, row in enumerate(values):
        probs = Statevector(ansatz().assign_parameters(row)).probabilities_dict()
        counts = pub.data.meas[index].get_counts()
        keys = [k for k, p in probs.items() if p > 1e-12]
        assert set(counts) <= set(keys)
        observed = [counts.get(k, 0) for k in keys]
        expected = [probs[k] * 5000 for k in keys]
        assert chisquare(observed, expected).pvalue > 1e-3


@pytest.mark.parametrize("name", ["line10", "dongling"])  # the shared server's workers leave grid36 unserved
def test_isa_circuits_run_through_both_primitives_on_the_twins(client: Client, name: str) -> None:
    """``transpile(qc, backend)`` declares every qubit of the chip (130 on dongling, 24 of them broken): the
    estimator leaves the idle ones out (Xihe compiles its measured circuits), the sampler runs the ISA circuit
    verbatim, as ``backend.run`` does."""
    backend = XiheProvider(client).get_backend(name)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.t(0)
    qc.cx(0, 1)
    qc.ry(0.3, 2)
    qc.cx(1, 2)
    isa = transpile(qc, backend, optimization_level=1, seed_transpiler=2)
    assert isa.num_qubits == backend.target.num_qubits
    observable = SparsePauliOp.from_list([("ZZI", 1.0), ("XIX", 0.5)])
    estimator = EstimatorV2(mode=backend, options={"default_precision": 0.03, "seed_estimator": 1,
                                                   "resilience_level": 0})
    [estimate] = estimator.run([(isa, observable.apply_layout(isa.layout))]).result(timeout=WAIT_S)
    exact = Statevector(qc).expectation_value(observable).real
    assert abs(float(estimate.data.evs) - exact) < 0.15  # the twin's noise, not a wrong qubit or label
    measured = qc.copy()
    measured.measure_all()
    isa_measured = transpile(measured, backend, optimization_level=1, seed_transpiler=2)
    [sampled] = SamplerV2(mode=backend, options={"seed": 1}).run([isa_measured], shots=1000).result(timeout=WAIT_S)
    counts = sampled.data.meas.get_counts()
    assert sum(counts.values()) == 1000 and counts.get("000", 0) + counts.get("111", 0) > 700
