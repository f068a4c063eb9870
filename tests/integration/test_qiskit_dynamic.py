"""Dynamic circuits end to end (issue 15): OpenQASM 3 with if/else blocks (on a bit and on a register, nested,
a measurement inside that overwrites the condition bit), mid-circuit reset and a for loop, sent through the native
API, the SDK and ``xihe.qiskit``'s ``backend.run`` after Qiskit's ``transpile``, on ``sim``, on ``line10-ideal``
(the twin's chip without noise: its compiled result must match Aer exactly) and on the noisy ``line10`` (a smoke
check: the ideal distribution's outcomes dominate). Aer is the oracle: two-sample chi-square on seeded counts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm3, transpile
from qiskit.primitives import BackendSamplerV2

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.integration.test_qiskit_adapter import aer_counts, two_sample_pvalue
from tests.service.helpers import Server
from xihe.circuit import Circuit
from xihe.client import Client
from xihe.qiskit import SamplerV2, XiheProvider, fits_target

SHOTS = 4000


def dynamic_circuit() -> QuantumCircuit:
    """A non-trivial distribution over two registers that only the block semantics give."""
    qc = QuantumCircuit(QuantumRegister(3, "q"), ClassicalRegister(2, "m"), ClassicalRegister(1, "r"))
    qc.h(0)
    qc.measure(0, 0)
    qc.ry(1.2, 1)
    with qc.if_test((qc.clbits[0], 1)) as otherwise:
        qc.x(2)
        qc.measure(2, 0)  # overwrites the condition bit: the else body must still not run
        qc.cx(2, 1)
    with otherwise:
        qc.ry(0.8, 2)
        with qc.if_test((qc.cregs[0], 0)):
            qc.cx(1, 2)
    qc.measure(1, 1)
    qc.reset(0)
    with qc.for_loop(range(2)) as i:
        qc.rx(0.6 * (i + 1), 0)
    qc.measure(2, 2)
    with qc.if_test((qc.clbits[2], 1)):
        qc.x(0)
    qc.measure(0, 0)
    return qc


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[Client]:
    with Client(server.url, new_user_token(server, "qiskit-dynamic")) as client:
        yield client


@pytest.fixture(scope="module")
def reference() -> dict[str, int]:
    return aer_counts(dynamic_circuit(), shots=SHOTS, seed=5)


def qiskit_keys(counts: dict[str, int]) -> dict[str, int]:
    """Xihe's keys (clbit 0 leftmost, no spaces) as Qiskit's (registers split, last register leftmost)."""
    out: dict[str, int] = {}
    for key, n in counts.items():
        qiskit = f"{key[2]} {key[1]}{key[0]}"
        out[qiskit] = out.get(qiskit, 0) + n
    return out


def test_native_api_runs_openqasm3_dynamic_circuits_as_aer_does(server: Server, client: Client,
                                                               reference: dict[str, int]) -> None:
    text = qasm3.dumps(dynamic_circuit())
    assert "if (m[0]) {" in text and "for int" in text
    result = client.run(text, backend="sim", shots=SHOTS, seed=3).result(timeout=WAIT_S)
    assert not isinstance(result, list)
    counts = qiskit_keys(result.counts)
    assert two_sample_pvalue(counts, reference) > 1e-4
    assert len(reference) >= 6  # a distribution with room to differ, not one outcome


def test_backend_run_after_transpile_matches_aer_on_sim(client: Client, reference: dict[str, int]) -> None:
    backend = XiheProvider(client).get_backend("sim")
    isa = transpile(dynamic_circuit(), backend, seed_transpiler=1)
    assert {"if_else", "reset", "for_loop"} <= set(isa.count_ops())
    counts = backend.run(isa, shots=SHOTS, seed_simulator=7).result().get_counts()
    assert two_sample_pvalue(counts, reference) > 1e-4


@pytest.mark.parametrize("compile_on_xihe", [False, True])
def test_the_twins_chip_without_noise_gives_aer_s_distribution(client: Client, reference: dict[str, int],
                                                              compile_on_xihe: bool) -> None:
    backend = XiheProvider(client).get_backend("line10-ideal")
    if compile_on_xihe:  # Xihe's compiler places, routes and translates the blocks
        job = backend.run(dynamic_circuit(), shots=SHOTS, seed_simulator=8, compile=True)
    else:  # Qiskit's transpile does, and the circuit runs verbatim
        isa = transpile(dynamic_circuit(), backend, optimization_level=2, seed_transpiler=4)
        assert fits_target(isa, backend.target)
        job = backend.run(isa, shots=SHOTS, seed_simulator=8)
    counts = job.result().get_counts()
    assert two_sample_pvalue(counts, reference) > 1e-4


def test_noisy_twin_smoke_check(client: Client, reference: dict[str, int]) -> None:
    backend = XiheProvider(client).get_backend("line10")
    isa = transpile(dynamic_circuit(), backend, optimization_level=1, seed_transpiler=2)
    counts = backend.run(isa, shots=2000, seed_simulator=9).result().get_counts()
    assert sum(counts.values()) == 2000
    top = sorted(reference, key=reference.__getitem__, reverse=True)[:4]
    # Noise spreads the counts, but the ideal distribution's four likeliest outcomes still hold most of them.
    assert sum(counts.get(k, 0) for k in top) > 0.5 * 2000


def test_sdk_sends_a_xihe_circuit_with_blocks_as_openqasm3(client: Client) -> None:
    qc = Circuit(2, 2)
    qc.x(0).measure(0, 0)
    with qc.if_test((0, 1)) as block:
        qc.x(1)
    with block.else_():
        qc.h(1)
    qc.measure(1, 1)
    result = client.run(qc, backend="sim", shots=100, seed=1).result(timeout=WAIT_S)
    assert not isinstance(result, list) and result.counts == {"11": 100}


def test_xihe_sampler_v2_runs_a_dynamic_circuit_as_aer_does(client: Client, reference: dict[str, int]) -> None:
    backend = XiheProvider(client).get_backend("sim")
    result = SamplerV2(mode=backend).run([dynamic_circuit()], shots=SHOTS).result()
    data = result[0].data
    m, r = data.m.get_counts(), data.r.get_counts()
    assert sum(m.values()) == SHOTS and sum(r.values()) == SHOTS
    joined = data.m.get_bitstrings(), data.r.get_bitstrings()
    counts: dict[str, int] = {}
    for mm, rr in zip(*joined, strict=True):
        counts[f"{rr} {mm}"] = counts.get(f"{rr} {mm}", 0) + 1
    assert two_sample_pvalue(counts, reference) > 1e-4


def test_a_transpiled_circuit_dumped_on_physical_qubits_runs_verbatim(client: Client,
                                                                     reference: dict[str, int]) -> None:
    """qiskit.qasm3.dumps writes a transpiled circuit on physical qubits ($3...): sent as is, compile off."""
    backend = XiheProvider(client).get_backend("line10-ideal")
    isa = transpile(dynamic_circuit(), backend, optimization_level=1, seed_transpiler=5)
    text = qasm3.dumps(isa)
    assert "$" in text and "qubit[" not in text
    result = client.run(text, backend="line10-ideal", shots=SHOTS, seed=6, compile=False).result(timeout=WAIT_S)
    assert not isinstance(result, list)
    assert two_sample_pvalue(qiskit_keys(result.counts), reference) > 1e-4


def test_qiskit_backend_sampler_v2_over_xihe_runs_a_dynamic_circuit(client: Client,
                                                                   reference: dict[str, int]) -> None:
    backend = XiheProvider(client).get_backend("sim")
    isa = transpile(dynamic_circuit(), backend, seed_transpiler=1)
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 12})
    data = sampler.run([isa], shots=SHOTS).result()[0].data
    counts: dict[str, int] = {}
    for m, r in zip(data.m.get_bitstrings(), data.r.get_bitstrings(), strict=True):
        counts[f"{r} {m}"] = counts.get(f"{r} {m}", 0) + 1
    assert two_sample_pvalue(counts, reference) > 1e-4
