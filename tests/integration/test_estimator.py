"""The Estimator primitive through a live server (``POST /api/v1/estimate``, ``client.estimate``), against Qiskit's
``Statevector`` as the oracle, labels in Qiskit's ``SparsePauliOp`` order (qubit 0 rightmost)."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter as QiskitParameter
from qiskit.quantum_info import SparsePauliOp, Statevector

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.service.helpers import Server
from xihe import qasm
from xihe.circuit import Circuit, Parameter
from xihe.client import AsyncClient, Client
from xihe.client.errors import ValidationError

# Labels chosen so that reading them leftmost-first gives other values (the circuit is not symmetric).
OBSERVABLES = [
    {"XZI": 0.5, "IIZ": 1.0, "ZZZ": -0.3, "III": 0.2},
    {"YIX": 1.0, "IXX": 0.7},
    {"IIX": 1.0},
]
BINDINGS = [{"a": 0.3, "b": -1.1}, {"a": 1.7, "b": 0.4}, {"a": -2.5, "b": 2.9}]


def xihe_circuit() -> Circuit:
    a, b = Parameter("a"), Parameter("b")
    qc = Circuit(3)
    qc.ry(a, 0).cx(0, 1).rx(b, 2).h(1).s(2).cx(2, 0).rz(a, 1)
    return qc


def qiskit_circuit(binding: dict[str, float]) -> QuantumCircuit:
    a, b = QiskitParameter("a"), QiskitParameter("b")
    qc = QuantumCircuit(3)
    qc.ry(a, 0)
    qc.cx(0, 1)
    qc.rx(b, 2)
    qc.h(1)
    qc.s(2)
    qc.cx(2, 0)
    qc.rz(a, 1)
    return qc.assign_parameters({a: binding["a"], b: binding["b"]})


def exact_values() -> np.ndarray:
    return np.array([[Statevector(qiskit_circuit(b)).expectation_value(SparsePauliOp.from_list(list(o.items()))).real
                      for o in OBSERVABLES] for b in BINDINGS])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return Client(server.url, token=new_user_token(server, "estimator-user"))


def test_precision_zero_gives_exact_values_in_sparse_pauli_op_order(client: Client) -> None:
    job = client.estimate(xihe_circuit(), OBSERVABLES, backend="sim", parameter_values=BINDINGS, precision=0.0)
    [pub] = job.estimates(timeout=WAIT_S)
    assert pub.exact and pub.shots == 0
    np.testing.assert_allclose(pub.values, exact_values(), atol=1e-9)
    assert np.all(np.array(pub.stds) == 0.0)
    assert job.refresh().kind == "estimate" and job.info.num_circuits == len(BINDINGS)


def test_sparse_pauli_op_is_accepted_as_an_observable(client: Client) -> None:
    observable = SparsePauliOp.from_list([("XZI", 0.5), ("IYY", -1.5 + 0j)])
    [pub] = client.estimate(xihe_circuit(), [observable], backend="sim", parameter_values=BINDINGS[:1],
                            precision=0.0).estimates(timeout=WAIT_S)
    expected = Statevector(qiskit_circuit(BINDINGS[0])).expectation_value(observable).real
    assert pub.values[0][0] == pytest.approx(expected, abs=1e-9)


def test_sampled_values_are_within_their_std_of_exact_with_one_circuit_per_group(client: Client) -> None:
    job = client.estimate(xihe_circuit(), OBSERVABLES, backend="sim", parameter_values=BINDINGS, precision=0.02,
                          seed=7)
    [pub] = job.estimates(timeout=WAIT_S)
    values, stds = np.array(pub.values), np.array(pub.stds)
    assert pub.shots == math.ceil(1 / 0.02**2) and not pub.exact
    # XZI, YIX and ZZZ clash pairwise on some qubit, so no grouping has fewer than 3 bases; the other terms join
    # them. Every (binding, group) pair is one measured circuit of the one job.
    assert pub.groups == 3
    assert job.refresh().num_circuits == len(BINDINGS) * pub.groups
    assert np.all(stds > 0)
    # Each value is a sum of bounded shot averages: std <= sum|c| / sqrt(shots) per group, and 5 std covers
    # exact (seeded, so this is one fixed draw, not a flaky one).
    norms = np.array([sum(abs(c) for label, c in o.items() if set(label) != {"I"}) for o in OBSERVABLES])
    assert np.all(stds <= norms * math.sqrt(pub.groups) / math.sqrt(pub.shots) + 1e-12)
    assert np.all(np.abs(values - exact_values()) <= 5 * stds)


def test_values_on_the_line10_twin_are_the_parity_averages_of_the_jobs_own_counts(client: Client) -> None:
    bell = Circuit(2).h(0).cx(0, 1)
    job = client.estimate(bell, [{"ZZ": 1.0}, {"IZ": 1.0}, {"XX": 1.0}], backend="line10", precision=0.03, seed=3)
    [pub] = job.estimates(timeout=WAIT_S)
    results = job.result()
    assert isinstance(results, list) and len(results) == pub.groups == 2  # {ZZ, IZ} share one circuit, XX another
    z_counts, x_counts = results[0].counts, results[1].counts
    assert sum(z_counts.values()) == sum(x_counts.values()) == pub.shots == math.ceil(1 / 0.03**2)

    def mean(counts: dict[str, int], bits: list[int]) -> float:
        return sum(n * (-1) ** sum(int(key[i]) for i in bits) for key, n in counts.items()) / pub.shots

    # Bit i of the measured register holds qubit i (the group's qubits in order): "IZ" is Z on qubit 0 -> bit 0.
    expected = [mean(z_counts, [0, 1]), mean(z_counts, [0]), mean(x_counts, [0, 1])]
    np.testing.assert_allclose(pub.values[0], expected, atol=1e-12)
    np.testing.assert_allclose(pub.stds[0], [math.sqrt((1 - m * m) / pub.shots) for m in expected], atol=1e-12)
    # A noisy Bell pair: strongly correlated in Z and in X; the twin's noise shrinks these, it does not flip them.
    assert expected[0] > 0.5 and expected[2] > 0.5


def test_exact_values_are_refused_on_a_twin(client: Client) -> None:
    with pytest.raises(ValidationError, match="ideal simulator"):
        client.estimate(Circuit(2).h(0), {"ZI": 1.0}, backend="line10", precision=0.0)


@pytest.mark.parametrize(("observable", "params", "message"), [
    ({"ZZZZ": 1.0}, BINDINGS[:1], "must be 3 letters"),
    ({"ZAZ": 1.0}, BINDINGS[:1], "must be 3 letters"),
    ({"ZZZ": 1.0}, None, "free parameters"),
    ({"ZZZ": 1.0}, [{"a": 1.0}], "binds"),
])
def test_bad_pubs_are_a_422_that_says_why(client: Client, observable: dict[str, float],
                                           params: list[dict[str, float]] | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        client.estimate(xihe_circuit(), observable, backend="sim", parameter_values=params, precision=0.0)


def test_an_if_block_is_refused_like_a_condition(client: Client) -> None:
    circuit = Circuit(2, 1).h(0).measure(0, 0)
    with circuit.if_test((0, 1)):
        circuit.x(1)
    with pytest.raises(ValidationError, match="classically conditioned"):
        client.estimate(circuit, {"ZI": 1.0}, backend="sim", precision=0.0)


def test_native_api_body_with_qasm_text(server: Server, client: Client) -> None:
    body = {"backend": "sim", "precision": 0, "pubs": [
        {"circuit": qasm.dumps(Circuit(2).x(0)), "observables": [{"IZ": 1.0}, {"ZI": 1.0}]}]}
    with server.client(client.token) as http:
        created = http.post("/estimate", json=body)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        http.get(f"/jobs/{job_id}", params={"wait": 60})
        answer = http.get(f"/estimate/{job_id}").json()
    # X on qubit 0: Z0 = -1 (label "IZ": qubit 0 is the rightmost character), Z1 = +1.
    assert answer["label_order"] == "qubit0_rightmost"
    assert answer["pubs"][0]["values"] == [[-1.0, 1.0]]


def test_async_client_estimate_gives_the_same_exact_values(server: Server, client: Client) -> None:
    async def run() -> list[list[float]]:
        async with AsyncClient(server.url, token=client.token) as aclient:
            job = await aclient.estimate(xihe_circuit(), OBSERVABLES, backend="sim", parameter_values=BINDINGS,
                                         precision=0.0)
            [pub] = await job.estimates(timeout=WAIT_S)
            return pub.values

    np.testing.assert_allclose(asyncio.run(run()), exact_values(), atol=1e-9)


def test_exact_values_need_the_statevector_engine(client: Client) -> None:
    with pytest.raises(ValidationError, match="statevector"):
        client.estimate(Circuit(2).h(0).cx(0, 1), {"ZZ": 1.0}, backend="sim-clifford", precision=0.0)
    [pub] = client.estimate(Circuit(2).h(0).cx(0, 1), {"ZZ": 1.0}, backend="sim-clifford", precision=0.05,
                            seed=1).estimates(timeout=WAIT_S)
    assert pub.values == [[1.0]] and pub.stds == [[0.0]]  # a Bell pair's ZZ parity is +1 on every shot
