"""Issue 15, "Must show": Qiskit's own workflow on the twins (``line10``, ``dongling``, ``grid36`` served by a live
Xihe server) matches Qiskit Aer run under a noise model that this test builds from the same calibration.

The model is :mod:`tests.integration.twin_model`: the shipped chip files read as ``docs/devices.md`` documents,
Aer's own ``thermal_relaxation_error``/``depolarizing_error``/``ReadoutError``, applied to the physical circuit each
result reports it ran (``compiled_qasm``), re-scheduled ASAP from the calibration's durations. For every path --
``transpile`` + ``backend.run``, Qiskit's ``BackendSamplerV2`` and ``BackendEstimatorV2``, Xihe's ``SamplerV2`` and
``EstimatorV2`` -- counts must fit Aer's exact distribution by chi-square (p > 1e-3) and expectation values must lie
within 4 of their reported standard errors of Aer's exact value (and their z-scores together pass a chi-square at
p > 1e-3). Seeded circuits and seeds: the figures are reproducible.

The test can fail: a Ramsey circuit (a 4 us delay in superposition on the chip's qubit with the shortest T2* against
its T2echo) and a Hahn echo on the same qubit must be rejected (p < 1e-6) by the model with the other qubit's idle
rule, so the comparison tells T2* from T2echo; every idle gap must be written as a ``delay`` in the reported circuit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2
from qiskit.quantum_info import SparsePauliOp, average_gate_fidelity
from qiskit_aer.noise import thermal_relaxation_error
from scipy.stats import chi2

import xihe
from tests.client.live import WAIT_S, new_user_token
from tests.integration.twin_model import (
    MEASURE_NS,
    ONE_QUBIT_ERROR,
    TWO_QUBIT_NS,
    VIRTUAL,
    Calibration,
    chi_square_pvalue,
    components,
    gate_error,
    load_calibration,
    marginal,
    outcome_probabilities,
    parity_expectation,
)
from tests.service.helpers import Server, server_env
from xihe.client import Client
from xihe.qiskit import EstimatorV2, SamplerV2, XiheBackend, XiheProvider, fits_target

CHIPS = Path(xihe.__file__).parent / "devices" / "chips"
TWINS = ("line10", "dongling", "grid36")
SHOTS = 4000
WIDE_SHOTS = 1500  # the trajectories engine pays per shot
P_MIN = 1e-3
RAMSEY_NS = 4000.0


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XiheProvider]:
    """A server of its own whose worker serves the three twins."""
    data_dir = tmp_path_factory.mktemp("xihe-twins-aer")
    served = '["' + '", "'.join(TWINS) + '"]'
    server = Server(data_dir, server_env(data_dir, WORKERS="1", WORKER_BACKENDS=served)).start(timeout=WAIT_S)
    try:
        with Client(server.url, new_user_token(server, "twins-vs-aer")) as client:
            yield XiheProvider(client)
    finally:
        server.stop()


def calibration(backend: XiheBackend) -> Calibration:
    """The chip file's numbers, read as docs/devices.md says; the server's public view of the device (its
    numbering, readout errors, gate errors and durations) must say the same."""
    cal = load_calibration(CHIPS / f"{backend.name}.json")
    properties = backend.info.raw["properties"]
    assert properties["measure_duration_ns"] == MEASURE_NS
    for item in properties["qubits"]:
        q = int(item["qubit"])
        assert cal.labels[q] == item["label"]
        if item.get("readout_error") is not None:
            assert item["readout_error"] == pytest.approx(cal.readout[q], abs=1e-12)
    for name, rows in properties["gates"].items():
        for qubits, duration_ns, error in rows:
            if name in VIRTUAL:
                assert (duration_ns, error) == (0.0, 0.0)
            elif len(qubits) == 1:
                assert (duration_ns, error) == pytest.approx((cal.one_qubit_ns[qubits[0]], ONE_QUBIT_ERROR))
            else:
                fidelity = cal.two_qubit_fidelity[tuple(qubits)]
                assert (duration_ns, error) == pytest.approx((TWO_QUBIT_NS, 1.0 - fidelity), abs=1e-12)
    return cal


@pytest.mark.parametrize("twin", TWINS)
def test_the_models_gate_channels_have_the_files_fidelities(twin: str) -> None:
    """The test's own model: relaxation then the solved depolarizing has exactly the file's average fidelity, or
    relaxation's alone where that is already worse (no depolarizing part then, as documented)."""
    cal = load_calibration(CHIPS / f"{twin}.json")
    checked = 0
    for pair, fidelity in list(cal.two_qubit_fidelity.items())[:20]:
        error = gate_error(cal, "cz", pair)
        assert error is not None
        relax = thermal_relaxation_error(cal.t1[pair[0]], cal.t2echo[pair[0]], TWO_QUBIT_NS).expand(
            thermal_relaxation_error(cal.t1[pair[1]], cal.t2echo[pair[1]], TWO_QUBIT_NS))
        expected = min(fidelity, average_gate_fidelity(relax.to_quantumchannel()))
        assert average_gate_fidelity(error.to_quantumchannel()) == pytest.approx(expected, abs=1e-9)
        checked += 1
    for q in cal.t1:
        error = gate_error(cal, "rx", (q,))
        assert error is not None
        relax = thermal_relaxation_error(cal.t1[q], cal.t2echo[q], cal.one_qubit_ns[q])
        expected = min(1 - ONE_QUBIT_ERROR, average_gate_fidelity(relax.to_quantumchannel()))
        assert average_gate_fidelity(error.to_quantumchannel()) == pytest.approx(expected, abs=1e-9)
        assert gate_error(cal, "rz", (q,)) is None
        checked += 1
    assert checked >= len(cal.t1) + min(len(cal.two_qubit_fidelity), 20)


def random_circuit(num_qubits: int, layers: int, seed: int, *, parameter: Parameter | None = None,
                   measure: bool = True) -> QuantumCircuit:
    """Seeded layers of random one-qubit gates (some pi pulses among them) and CX/CZ on random pairs, after an
    ``ry(parameter)`` on qubit 0 if one is given."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(num_qubits)
    if parameter is not None:
        qc.ry(parameter, 0)
    for _ in range(layers):
        for q in range(num_qubits):
            kind = rng.choice(["rx", "ry", "rz", "h", "t", "sx", "x"])
            if kind in ("rx", "ry", "rz"):
                getattr(qc, kind)(rng.uniform(0, 2 * np.pi), q)
            else:
                getattr(qc, kind)(q)
        order = rng.permutation(num_qubits)
        for a, b in zip(order[::2], order[1::2], strict=False):
            (qc.cx if rng.random() < 0.5 else qc.cz)(int(a), int(b))
    if measure:
        qc.measure_all()
    return qc


def slow_dephasing_qubit(cal: Calibration) -> int:
    """The working qubit whose T2* is shortest against its T2echo (where the idle rule matters most)."""
    return max(cal.t1, key=lambda q: cal.t2echo[q] / cal.t2star[q])


def idle_circuits(backend: XiheBackend, cal: Calibration) -> tuple[QuantumCircuit, QuantumCircuit]:
    """A Ramsey (h, delay, h) and a Hahn echo (h, delay/2, x, delay/2, h), on one qubit, transpiled onto it."""
    q = slow_dephasing_qubit(cal)
    ramsey = QuantumCircuit(1, name="ramsey")
    ramsey.h(0)
    ramsey.delay(RAMSEY_NS, 0, unit="ns")
    ramsey.h(0)
    ramsey.measure_all()
    echo = QuantumCircuit(1, name="echo")
    echo.h(0)
    echo.delay(RAMSEY_NS / 2, 0, unit="ns")
    echo.x(0)
    echo.delay(RAMSEY_NS / 2, 0, unit="ns")
    echo.h(0)
    echo.measure_all()
    return tuple(transpile(c, backend, initial_layout=[q], optimization_level=0, seed_transpiler=1)  # type: ignore[return-value]
                 for c in (ramsey, echo))


def records(client: Client, job_id: str) -> list[dict[str, Any]]:
    """The stored per-circuit results of a job, each with the physical circuit it ran (``compiled_qasm``)."""
    raw = client.job(job_id).refresh().raw
    return list(raw.get("results") or [raw["result"]])


def latest_job_id(client: Client) -> str:
    """The newest job of this test's user (Qiskit's Backend primitives do not hand out their jobs)."""
    return client.jobs(limit=1).items[0].id


def fits(counts: dict[str, int], record: dict[str, Any], cal: Calibration, label: str) -> float:
    """Chi-square p-value of ``counts`` against the model of the circuit ``record`` ran; every idle is written."""
    probabilities, timeline = outcome_probabilities(record["compiled_qasm"], cal)
    assert timeline.unwritten_idle_ns == pytest.approx(0.0, abs=1e-6), \
        f"{label}: idle time the reported circuit does not show as a delay"
    assert sum(counts.values()) == SHOTS
    p = chi_square_pvalue(counts, probabilities)
    print(f"{label}: p = {p:.4g}")
    return p


@pytest.mark.parametrize("twin", TWINS)
def test_transpile_and_run_matches_aer(provider: XiheProvider, twin: str) -> None:
    backend = provider.get_backend(twin)
    cal = calibration(backend)
    circuits = [transpile(random_circuit(3, 3, seed), backend, optimization_level=1, seed_transpiler=seed)
                for seed in (11, 12)]
    circuits += idle_circuits(backend, cal)
    assert all(fits_target(c, backend.target) for c in circuits)  # ISA circuits: they run verbatim
    job = backend.run(circuits, shots=SHOTS, seed_simulator=21)
    result = job.result(timeout=WAIT_S)
    stored = records(provider.client, job.xihe_job.id)
    for i, (circuit, record) in enumerate(zip(circuits, stored, strict=True)):
        assert fits(result.get_counts(i), record, cal, f"{twin} run {circuit.name}") > P_MIN
    # The comparison tells the idle rules apart: T2* for the Ramsey, T2echo for the echo.
    for index, wrong in ((2, "always_t2echo"), (3, "always_t2star")):
        probabilities, _ = outcome_probabilities(stored[index]["compiled_qasm"], cal, idle_rule=wrong)
        p_wrong = chi_square_pvalue(result.get_counts(index), probabilities)
        print(f"{twin} {circuits[index].name} under {wrong}: p = {p_wrong:.3g}")
        assert p_wrong < 1e-6


def wide_circuit(pairs: int, seed: int) -> QuantumCircuit:
    """Entangled pairs side by side and one Ramsey qubit: wider than the density-matrix engine takes (12 qubits),
    yet each pair's distribution is exact in Aer (no gate joins two pairs)."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(2 * pairs + 1, name="wide")
    for i in range(pairs):
        a, b = 2 * i, 2 * i + 1
        qc.ry(rng.uniform(0, np.pi), a)
        qc.rx(rng.uniform(0, np.pi), b)
        qc.cx(a, b)
        qc.ry(rng.uniform(0, np.pi), b)
    qc.h(2 * pairs)
    qc.delay(3000, 2 * pairs, unit="ns")
    qc.h(2 * pairs)
    qc.measure_all()
    return qc


def test_wide_circuit_on_the_trajectories_engine_matches_aer(provider: XiheProvider) -> None:
    """13 touched qubits: the twin runs them on its trajectories engine; each pair's counts (and the Ramsey
    qubit's) must fit Aer's exact distribution of that part, scheduled with the whole circuit."""
    backend = provider.get_backend("grid36")
    cal = calibration(backend)
    isa = transpile(wide_circuit(6, 5), backend, optimization_level=1, seed_transpiler=3)
    job = backend.run(isa, shots=WIDE_SHOTS, seed_simulator=9)
    counts = job.result(timeout=WAIT_S).get_counts()
    [record] = records(provider.client, job.xihe_job.id)
    assert record["metadata"]["engine"] == "trajectories"
    parts = components(record["compiled_qasm"])
    assert len(parts) == 7
    pvalues = []
    for part in parts:
        probabilities, timeline = outcome_probabilities(record["compiled_qasm"], cal, only=part)
        assert timeline.unwritten_idle_ns == pytest.approx(0.0, abs=1e-6)
        clbits = sorted(c for c, q in timeline.measured.items() if q in part)
        pvalues.append(chi_square_pvalue(marginal(counts, clbits), probabilities))
    print(f"grid36 wide (trajectories), per part: p = {np.round(pvalues, 4).tolist()}")
    assert min(pvalues) > P_MIN / len(pvalues)  # Bonferroni over the parts


@pytest.mark.parametrize("twin", TWINS)
def test_qiskit_backend_sampler_v2_matches_aer(provider: XiheProvider, twin: str) -> None:
    backend = provider.get_backend(twin)
    cal = calibration(backend)
    isa = transpile(random_circuit(3, 3, 31), backend, optimization_level=1, seed_transpiler=31)
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 32})
    counts = sampler.run([isa], shots=SHOTS).result()[0].data.meas.get_counts()
    [record] = records(provider.client, latest_job_id(provider.client))
    assert fits(counts, record, cal, f"{twin} BackendSamplerV2") > P_MIN


@pytest.mark.parametrize("twin", TWINS)
def test_xihe_sampler_v2_matches_aer(provider: XiheProvider, twin: str) -> None:
    backend = provider.get_backend(twin)
    cal = calibration(backend)
    theta = Parameter("theta")
    isa = transpile(random_circuit(3, 3, 41, parameter=theta), backend, optimization_level=1, seed_transpiler=41)
    sampler = SamplerV2(mode=backend, options={"seed": 42})
    result = sampler.run([(isa, [[0.4], [2.2]])], shots=SHOTS).result()
    stored = records(provider.client, result.metadata["xihe_job_id"])
    bits = result[0].data.meas
    assert len(stored) == 2
    for i, record in enumerate(stored):
        assert fits(bits.get_counts(i), record, cal, f"{twin} SamplerV2 binding {i}") > P_MIN


def group_support(observable: SparsePauliOp) -> list[int]:
    """The qubits a one-group observable measures, ascending: clbit ``i`` of its circuit holds ``support[i]``
    (Qiskit's ``BackendEstimatorV2``; Xihe's estimator: "bit i holds qubit sorted(basis)[i]")."""
    labels = observable.paulis.to_labels()
    n = observable.num_qubits
    support = sorted({n - 1 - i for label in labels for i, ch in enumerate(label) if ch != "I"})
    bases = {q: {label[n - 1 - q] for label in labels} - {"I"} for q in support}
    assert all(len(b) == 1 for b in bases.values()), "the test's observables are one qubit-wise commuting group"
    return support


def model_value(observable: SparsePauliOp, record: dict[str, Any], cal: Calibration, *, readout: bool) -> float:
    """Aer's exact expectation of ``observable`` from the circuit ``record`` ran (its clbits hold the support)."""
    probabilities, timeline = outcome_probabilities(record["compiled_qasm"], cal, readout=readout)
    assert timeline.unwritten_idle_ns == pytest.approx(0.0, abs=1e-6)
    support = group_support(observable)
    n = observable.num_qubits
    value = 0.0
    for label, coeff in zip(observable.paulis.to_labels(), observable.coeffs, strict=True):
        bits = [i for i, q in enumerate(support) if label[n - 1 - q] != "I"]
        value += float(np.real(coeff)) * parity_expectation(probabilities, bits)
    return value


ESTIMATOR_SEED = 61  # its circuit has large expectations in each group below (ideal 1.0, 0.871, -0.492...)


def observables_for(isa: QuantumCircuit) -> list[SparsePauliOp]:
    """Three one-group observables on the circuit's 3 logical qubits, laid out on its physical qubits."""
    logical = [SparsePauliOp.from_list([("ZZI", 1.0), ("IIZ", -0.5), ("ZZZ", 0.7)]),
               SparsePauliOp.from_list([("XXI", 1.0), ("IIX", 0.6), ("XXX", -0.4)]),
               SparsePauliOp.from_list([("YYZ", 0.8), ("YYI", -0.4), ("IIZ", 0.3)])]
    return [o.apply_layout(isa.layout) for o in logical]


def assert_within_std(label: str, values: list[tuple[float, float, float]]) -> None:
    """(value, std, model) triples: each within 4 std of the model, and all z-scores together by chi-square."""
    z = [(v - m) / s for v, s, m in values]
    print(f"{label}: " + ", ".join(f"{v:.4f}+-{s:.4f} (model {m:.4f})" for v, s, m in values)
          + f"; z = {np.round(z, 2).tolist()}")
    assert all(abs(x) < 4 for x in z), z
    assert chi2.sf(sum(x * x for x in z), len(z)) > P_MIN


@pytest.mark.parametrize("twin", TWINS)
def test_qiskit_backend_estimator_v2_matches_aer(provider: XiheProvider, twin: str) -> None:
    backend = provider.get_backend(twin)
    cal = calibration(backend)
    isa = transpile(random_circuit(3, 3, ESTIMATOR_SEED, measure=False), backend, optimization_level=1,
                    seed_transpiler=51)
    observables = observables_for(isa)
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 52, "default_precision": 0.02})
    results = estimator.run([(isa, o) for o in observables]).result()
    stored = records(provider.client, latest_job_id(provider.client))
    assert len(stored) == len(observables)  # one measured circuit per PUB (each is one group), in PUB order
    values = [(float(r.data.evs), float(r.data.stds), model_value(o, record, cal, readout=True))
              for r, o, record in zip(results, observables, stored, strict=True)]
    assert_within_std(f"{twin} BackendEstimatorV2", values)


@pytest.mark.parametrize("twin", TWINS)
def test_xihe_estimator_v2_matches_aer(provider: XiheProvider, twin: str) -> None:
    """Raw values (resilience 0) against the model with readout error; readout-mitigated values (resilience 1,
    from the calibration) against the model without it."""
    backend = provider.get_backend(twin)
    cal = calibration(backend)
    isa = transpile(random_circuit(3, 3, ESTIMATOR_SEED, measure=False), backend, optimization_level=1,
                    seed_transpiler=61)
    observables = observables_for(isa)
    for level in (0, 1):
        estimator = EstimatorV2(mode=backend, options={"seed_estimator": 62 + level, "default_precision": 0.02,
                                                       "resilience_level": level})
        results = estimator.run([(isa, o) for o in observables]).result()
        stored = records(provider.client, results.metadata["xihe_job_id"])
        assert len(stored) == len(observables)
        values = [(float(r.data.evs), float(r.data.stds), model_value(o, record, cal, readout=level == 0))
                  for r, o, record in zip(results, observables, stored, strict=True)]
        assert_within_std(f"{twin} EstimatorV2 resilience {level}", values)
