"""The Sampler primitive through a live server (``POST /api/v1/sample``, ``client.sample``/``sample_pubs``): PUBs
of (circuit, parameter bindings, shots) in one job, answered per classical register, checked against Qiskit's
``Statevector`` probabilities."""

from __future__ import annotations

import asyncio
from collections import Counter

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector
from scipy.stats import chisquare

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.service.helpers import Server
from xihe.circuit import Circuit, ClassicalRegister, Parameter, QuantumRegister
from xihe.client import AsyncClient, Client, SamplerPub
from xihe.client.errors import ValidationError

BINDINGS = [{"t": 0.4}, {"t": 1.9}, {"t": -2.6}]


def two_register_circuit() -> Circuit:
    """ry(t) on q0, entangled onto q1; q0, q1 -> a[0], a[1]; q2 (x) -> b[0]."""
    qc = Circuit(QuantumRegister("q", 3), ClassicalRegister("a", 2), ClassicalRegister("b", 1))
    qc.ry(Parameter("t"), 0).cx(0, 1).h(1).x(2)
    return qc.measure([0, 1, 2], [0, 1, 2])


def exact_a_distribution(t: float) -> dict[int, float]:
    """P(register a = v), v's bit i = a[i] = qubit i (Qiskit: qubit 0 is the least significant bit)."""
    qc = QuantumCircuit(2)
    qc.ry(t, 0)
    qc.cx(0, 1)
    qc.h(1)
    probs = Statevector(qc).probabilities()
    return {v: float(p) for v, p in enumerate(probs)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return Client(server.url, token=new_user_token(server, "sampler-user"))


def test_two_pubs_in_one_job_give_per_register_shots_that_follow_exact_probabilities(client: Client) -> None:
    ghz = Circuit(3, 3).h(0).cx(0, 1).cx(1, 2).measure([0, 1, 2], [0, 1, 2])
    job = client.sample_pubs([SamplerPub(two_register_circuit(), BINDINGS, shots=3000), SamplerPub(ghz)],
                             backend="sim", shots=500, seed=11)
    first, second = job.samples(timeout=WAIT_S)
    info = job.refresh()
    assert info.kind == "sample" and info.num_circuits == len(BINDINGS) + 1
    assert first.num_bits == {"a": 2, "b": 1} and first.shots == 3000 and second.shots == 500
    assert [len(row) for row in first.registers["a"]] == [3000] * len(BINDINGS)
    assert all(v == 1 for row in first.registers["b"] for v in row)  # q2 was flipped: b[0] = 1 every shot
    for binding, row in zip(BINDINGS, first.registers["a"], strict=True):
        exact = exact_a_distribution(binding["t"])
        seen = Counter(row)
        observed = [seen.get(v, 0) for v in range(4)]
        expected = [exact[v] * 3000 for v in range(4)]
        support = [i for i in range(4) if expected[i] > 0]
        assert sum(observed[i] for i in range(4) if i not in support) == 0
        assert chisquare([observed[i] for i in support], [expected[i] for i in support]).pvalue > 1e-3
    assert set(second.registers["c"][0]) <= {0, 7} and len(set(second.registers["c"][0])) == 2
    assert second.counts("c") == dict(Counter(format(v, "03b") for v in second.registers["c"][0]))


def test_register_bit_i_is_bit_i_of_the_value(client: Client) -> None:
    qc = Circuit(QuantumRegister("q", 3), ClassicalRegister("r", 3)).x(0).x(2).measure([0, 1, 2], [0, 2, 1])
    [pub] = client.sample(qc, backend="sim", shots=8, seed=1).samples(timeout=WAIT_S)
    # r[0] <- q0 = 1, r[2] <- q1 = 0, r[1] <- q2 = 1: the value 0b011.
    assert pub.registers["r"] == [[0b011] * 8]
    assert pub.counts("r") == {"011": 8}


def test_the_same_seed_gives_the_same_shots_from_the_async_client(server: Server, client: Client) -> None:
    sync = client.sample(two_register_circuit(), backend="sim", parameter_values=BINDINGS[:2], shots=200,
                         seed=5).samples(timeout=WAIT_S)

    async def run() -> list[list[int]]:
        async with AsyncClient(server.url, token=client.token) as aclient:
            job = await aclient.sample(two_register_circuit(), backend="sim", parameter_values=BINDINGS[:2],
                                       shots=200, seed=5)
            [pub] = await job.samples(timeout=WAIT_S)
            return pub.registers["a"]

    assert asyncio.run(run()) == sync[0].registers["a"]


def test_a_pub_on_the_line10_twin_is_compiled_and_noisy(client: Client) -> None:
    qc = Circuit(2, 2).x(0).measure([0, 1], [0, 1])
    [pub] = client.sample(qc, backend="line10", shots=2000, seed=4).samples(timeout=WAIT_S)
    values = np.array(pub.registers["c"][0])
    share = float(np.mean(values == 0b01))
    assert 0.85 < share < 1.0  # mostly the prepared 01, with the twin's readout and gate errors


@pytest.mark.parametrize(("circuit", "params", "message"), [
    (Circuit(1, 1).h(0), None, "measures nothing"),
    (two_register_circuit(), None, "free parameters"),
    (two_register_circuit(), [{"s": 1.0}], "binds"),
])
def test_bad_sampler_pubs_are_a_422_that_says_why(client: Client, circuit: Circuit,
                                                   params: list[dict[str, float]] | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        client.sample(circuit, backend="sim", parameter_values=params)


def test_native_api_answers_hex_per_register(server: Server, client: Client) -> None:
    body = {"backend": "sim", "shots": 4, "seed": 3, "pubs": [
        {"circuit": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[1];\nmeasure q -> c;\n'}]}
    with server.client(client.token) as http:
        created = http.post("/sample", json=body)
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        http.get(f"/jobs/{job_id}", params={"wait": 60})
        answer = http.get(f"/sample/{job_id}").json()
    assert answer["bit_order"] == "register_bit0_lsb"
    assert answer["pubs"][0]["registers"] == [{"name": "c", "num_bits": 2, "samples": [["0x2"] * 4]}]
