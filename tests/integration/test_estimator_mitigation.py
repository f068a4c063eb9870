"""Server-side error mitigation of the Estimator (``mitigation`` in ``POST /api/v1/estimate``, ``client.estimate(...,
mitigation=Mitigation(...))``) on the ``line10`` twin, against exact values from Qiskit's ``Statevector``.

Measure: the root-mean-square error over 4 seeded parameter points x 3 observables of a 4-qubit, 9-CX circuit,
each configuration one job with seed 5 and precision 0.01. Readout mitigation must at least halve the raw error;
readout + ZNE (factors 1, 3, 5, Richardson) must beat readout alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.service.helpers import Server
from xihe.circuit import Circuit, Parameter
from xihe.client import Client, Mitigation, PubEstimate
from xihe.client.errors import ValidationError

OBSERVABLES = [{"ZZII": 1.0, "IZZI": 1.0, "IIZZ": 1.0}, {"XXXX": 1.0}, {"ZIIZ": 0.5, "IIIZ": 0.5}]
POINTS = np.random.default_rng(0).uniform(-1, 1, size=(4, 12))


def circuit() -> Circuit:
    qc = Circuit(4)
    for layer in range(3):
        for q in range(4):
            qc.ry(Parameter(f"t{4 * layer + q}"), q)
        qc.cx(0, 1).cx(1, 2).cx(2, 3)
    return qc


def exact(point: np.ndarray) -> list[float]:
    qc = QuantumCircuit(4)
    for layer in range(3):
        for q in range(4):
            qc.ry(point[4 * layer + q], q)
        for q in range(3):
            qc.cx(q, q + 1)
    state = Statevector(qc)
    return [state.expectation_value(SparsePauliOp.from_list(list(o.items()))).real for o in OBSERVABLES]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return Client(server.url, token=new_user_token(server, "mitigation-user"))


def rms_error(client: Client, mitigation: Mitigation | None) -> tuple[float, PubEstimate]:
    bindings = [{f"t{i}": float(v) for i, v in enumerate(point)} for point in POINTS]
    [pub] = client.estimate(circuit(), OBSERVABLES, backend="line10", parameter_values=bindings, precision=0.01,
                            seed=5, mitigation=mitigation).estimates(timeout=WAIT_S)
    errors = np.array(pub.values) - np.array([exact(point) for point in POINTS])
    return float(np.sqrt(np.mean(errors**2))), pub


def test_readout_and_zne_bring_twin_values_closer_to_exact(client: Client) -> None:
    raw, raw_pub = rms_error(client, None)
    readout, readout_pub = rms_error(client, Mitigation(readout=True))
    both, zne_pub = rms_error(client, Mitigation(readout=True, zne_factors=(1, 3, 5)))
    assert readout < 0.5 * raw and both < readout, (raw, readout, both)
    assert readout_pub.readout_mitigated and not raw_pub.readout_mitigated
    assert zne_pub.noise_factors == [1, 3, 5] and zne_pub.extrapolation == "richardson"
    # Each binding's values per factor drift away from exact as the noise grows; the stds grow with mitigation.
    factor_values = np.array(zne_pub.factor_values)
    assert factor_values.shape == (len(POINTS), 3, len(OBSERVABLES))
    assert np.all(np.array(zne_pub.stds) > np.array(readout_pub.stds))


def test_readout_confusion_measured_in_the_same_job_mitigates_as_well(client: Client) -> None:
    """``readout_calibration="measured"``: two more circuits at the end of the job (all |0>, all |1> on every qubit
    the job measured) give the confusion; the same measure (RMS error, same seed) at most half the raw one."""
    raw, _ = rms_error(client, None)
    measured, pub = rms_error(client, Mitigation(readout=True, readout_calibration="measured"))
    assert pub.readout_mitigated
    assert measured < 0.5 * raw, (raw, measured)
    job = client.estimate(circuit(), OBSERVABLES, backend="line10", parameter_values=[{f"t{i}": 0.1 for i in
                          range(12)}], precision=0.05, seed=5,
                          mitigation=Mitigation(readout=True, readout_calibration="measured"))
    job.estimates(timeout=WAIT_S)
    results = job.result()
    assert isinstance(results, list) and job.info.num_circuits == 2 + 2  # Z and X groups, then the calibrations
    zeros, ones = results[-2:]
    assert zeros.metadata["readout_calibration"]["prepared"] == 0 and ones.metadata["readout_calibration"]["prepared"]
    assert len(zeros.metadata["readout_calibration"]["qubits"]) == 4
    assert max(zeros.counts, key=zeros.counts.__getitem__) == "0000"
    assert max(ones.counts, key=ones.counts.__getitem__) == "1111"


def test_zne_job_holds_one_measured_circuit_per_group_and_factor(client: Client) -> None:
    job = client.estimate(Circuit(2).h(0).cx(0, 1), [{"ZZ": 1.0}, {"XX": 1.0}], backend="line10", precision=0.05,
                          seed=2, mitigation=Mitigation(zne_factors=(1, 3), extrapolator="exponential"))
    [pub] = job.estimates(timeout=WAIT_S)
    assert job.refresh().num_circuits == 2 * 2  # {ZZ}, {XX} groups x 2 factors
    assert pub.extrapolation == "exponential" and 0.8 < pub.values[0][0] <= 1.2


def test_mitigation_of_exact_values_is_refused(client: Client) -> None:
    with pytest.raises(ValidationError, match="no noise to mitigate"):
        client.estimate(Circuit(1).h(0), {"X": 1.0}, backend="sim", precision=0.0, mitigation=Mitigation(readout=True))
    with pytest.raises(ValidationError, match="odd"):
        client.estimate(Circuit(1).h(0), {"X": 1.0}, backend="line10", mitigation=Mitigation(zne_factors=(1, 2)))


def test_readout_mitigation_on_an_ideal_variant_leaves_perfect_readout_alone(client: Client) -> None:
    """``line10-ideal`` runs without noise, so its readout is perfect: mitigation must not invert line10's calibrated
    confusion there (it did, and |10>'s ZZ came back as -1/((1 - e0)(1 - e1)), past -1; Qiskit's EstimatorV2 asks
    for readout mitigation by default, resilience level 1). Every shot gives the same outcome, so the values are
    exact whatever the seed."""
    observables = [{"ZZ": 1.0}, {"IZ": 1.0}, {"ZI": 1.0}]
    [pub] = client.estimate(Circuit(2).x(0), observables, backend="line10-ideal", precision=0.05, seed=3,
                            mitigation=Mitigation(readout=True)).estimates(timeout=WAIT_S)
    assert pub.values[0] == pytest.approx([-1.0, -1.0, 1.0], abs=1e-12)
