"""Twirled readout error extinction (TREX) in the Estimator job kind on the ``line10`` twin, through a live server:
``client.estimate(..., mitigation=Mitigation(readout=True, readout_calibration="twirled"))``,
``xihe.qiskit.EstimatorV2`` with qiskit-ibm-runtime's ``twirling.enable_measure`` and ``xihe estimate``.

Measure: the RMS error against Qiskit's ``Statevector`` over the 4 seeded points x 3 observables of
``test_estimator_mitigation`` (seed 5, precision 0.01): TREX must at least halve the raw error.

Factor: on a verbatim circuit on physical qubits 0 and 9 (no routing, so the qubits are known), the factor the
server divided each Z string by must be the closed form of the twin's tensored readout confusion,
``prod (1 - p10 - p01)`` from the backend's calibration, within 4 standard errors of the calibration's shots plus
0.008 for the error of the twirl's own X gates; qubit 0's confusion is asymmetric enough that an untwirled
calibration (``1 - 2 p10``) would fall outside that band.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.integration.test_cli_user import xihe
from tests.integration.test_estimator_mitigation import OBSERVABLES, POINTS, exact, rms_error
from tests.service.helpers import Server
from xihe import devices, qasm
from xihe.circuit import Circuit
from xihe.client import Client, Mitigation
from xihe.client.errors import ValidationError
from xihe.errors import XiheError
from xihe.qiskit import EstimatorV2, XiheProvider
from xihe.service.catalog import DeviceCatalog
from xihe.service.cluster.agents import compile_plan
from xihe.service.estimate import prepare_estimate
from xihe.service.estimate_schemas import EstimateCreate, EstimatePub, MitigationOptions
from xihe.service.settings import Settings

TREX = Mitigation(readout=True, readout_calibration="twirled")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def client(server: Server) -> Client:
    return Client(server.url, token=new_user_token(server, "trex-user"))


def test_trex_brings_twin_values_closer_to_exact(client: Client) -> None:
    raw, raw_pub = rms_error(client, None)
    calibrated, _ = rms_error(client, Mitigation(readout=True))
    trex, pub = rms_error(client, TREX)
    print(f"line10 RMS error, 4 points x 3 observables, seed 5: raw {raw:.4f}, calibrated readout "
          f"{calibrated:.4f}, TREX {trex:.4f}")
    assert trex < 0.5 * raw, (raw, trex)
    assert pub.readout_mitigated and pub.measure_twirling == [32, 313]  # runtime's "auto" for 10,000 shots
    assert pub.shots == 32 * 313 and raw_pub.measure_twirling is None and raw_pub.trex_factors is None
    assert pub.trex_factors is not None and len(pub.trex_factors) == len(POINTS)
    assert all(0.5 < f < 1.0 for row in pub.trex_factors for f in row)
    # ZNE on top of TREX: folded circuits twirled alike; still closer to exact than raw.
    both, zne_pub = rms_error(client, Mitigation(readout=True, readout_calibration="twirled", zne_factors=(1, 3),
                                                 num_randomizations=8))
    assert zne_pub.noise_factors == [1, 3] and zne_pub.measure_twirling == [8, 1250]
    assert both < 0.5 * raw, (raw, both)


def test_trex_factor_is_the_closed_form_of_the_readout_confusion(client: Client) -> None:
    qc = Circuit(10).ry(0.4, 0).ry(1.1, 9)
    z0, z9 = "I" * 9 + "Z", "Z" + "I" * 9
    z09 = "Z" + "I" * 8 + "Z"
    job = client.estimate(qc, [{z0: 1.0}, {z9: 1.0}, {z09: 1.0}], backend="line10", precision=0.005, seed=8,
                          compile=False, mitigation=TREX)
    [pub] = job.estimates(timeout=WAIT_S)
    records = job.result()
    assert isinstance(records, list)
    calibration = records[-1]
    assert calibration.metadata["readout_calibration"]["qubits"] == [0, 9]
    assert calibration.metadata["measure_twirling"] == {"randomizations": 32, "shots_per_randomization": 1250}
    properties = client.backend("line10").raw["properties"]["qubits"]  # the calibration's [P(1|0), P(0|1)]
    readout = {int(item["qubit"]): tuple(map(float, item["readout_error"])) for item in properties
               if int(item["qubit"]) in (0, 9)}
    shots = calibration.shots
    assert pub.trex_factors is not None
    for t, qubits in enumerate(([0], [9], [0, 9])):
        closed = math.prod(1 - readout[q][0] - readout[q][1] for q in qubits)
        band = 4 * math.sqrt((1 - closed**2) / shots) + 0.008
        assert abs(pub.trex_factors[0][t] - closed) < band, (qubits, pub.trex_factors[0][t], closed, band)
    untwirled = 1 - 2 * readout[0][0]
    assert abs(untwirled - (1 - sum(readout[0]))) > 4 * math.sqrt(1 / shots) + 0.008  # the check can tell
    ideal = [math.cos(0.4), math.cos(1.1), math.cos(0.4) * math.cos(1.1)]
    for value, std, want in zip(pub.values[0], pub.stds[0], ideal, strict=True):
        assert abs(value - want) < 4 * std + 0.01, (value, want, std)


def test_estimator_v2_twirling_options_select_trex(client: Client) -> None:
    theta = ParameterVector("t", 12)  # ordered t[0], t[1], ..., t[11] as the columns of POINTS
    qc = QuantumCircuit(4)
    for layer in range(3):
        for q in range(4):
            qc.ry(theta[4 * layer + q], q)
        for q in range(3):
            qc.cx(q, q + 1)
    observables = [SparsePauliOp.from_list(list(o.items())) for o in OBSERVABLES]
    values = POINTS[:2]
    backend = XiheProvider(client).get_backend("line10")
    want = np.array([exact(point) for point in values])
    errors = {}
    for name, options in (("raw", {"resilience_level": 0}),
                          ("trex", {"resilience_level": 1, "twirling": {"enable_measure": True,
                                                                         "num_randomizations": 16}})):
        estimator = EstimatorV2(mode=backend, options={**options, "default_precision": 0.01,
                                                       "seed_estimator": 5})
        result = estimator.run([(qc, [[o] for o in observables], values)]).result()[0]
        errors[name] = float(np.sqrt(np.mean((result.data.evs.T - want) ** 2)))
        if name == "trex":
            assert result.metadata["twirling"] == {"num_randomizations": 16, "shots_per_randomization": 625}
            assert result.metadata["readout_mitigated"] and len(result.metadata["trex_factors"]) == 2
    assert errors["trex"] < 0.5 * errors["raw"], errors
    with pytest.raises(ValueError, match="measurements only"):
        EstimatorV2(mode=backend, options={"twirling": {"enable_gates": True}}).mitigation()
    mitigation = EstimatorV2(mode=backend, options={"twirling": {"enable_measure": True}}).mitigation()
    assert mitigation is not None and mitigation.readout_calibration == "twirled"


def test_cli_estimate_readout_twirled(server: Server, client: Client, tmp_path: Path) -> None:
    token = new_user_token(server, "trex-cli-user")
    program = tmp_path / "bell.qasm"
    program.write_text(qasm.dumps(Circuit(2).h(0).cx(0, 1)))
    done = xihe(tmp_path, "estimate", str(program), "-b", "line10", "-o", "ZZ", "-o", "XX", "--precision", "0.02",
                "--seed", "3", "--readout-calibration", "twirled", "--randomizations", "10", "--json",
                "--url", server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["readout_mitigated"] and answer["measure_twirling"] == [10, 250]
    assert len(answer["trex_factors"][0]) == 2
    assert all(abs(v - 1.0) < 0.1 for v in answer["values"][0]), answer["values"]


def test_twirling_alone_is_not_rescaled_and_twirling_with_a_confusion_is_refused(client: Client) -> None:
    job = client.estimate(Circuit(2).h(0).cx(0, 1), [{"ZZ": 1.0}], backend="line10", precision=0.05, seed=2,
                          mitigation=Mitigation(measure_twirling=True, num_randomizations=4))
    [pub] = job.estimates(timeout=WAIT_S)
    assert pub.measure_twirling == [4, 100] and pub.trex_factors is None and not pub.readout_mitigated
    assert job.refresh().num_circuits == 1 and 0.6 < pub.values[0][0] < 1.0  # one merged record, biased low
    with pytest.raises(ValidationError, match="symmetric flip"):
        client.estimate(Circuit(1).h(0), {"X": 1.0}, backend="line10",
                        mitigation=Mitigation(readout=True, measure_twirling=True))
    with pytest.raises(ValidationError, match="no noise to mitigate"):
        client.estimate(Circuit(1).h(0), {"X": 1.0}, backend="sim", precision=0.0, mitigation=TREX)



def test_an_agent_does_not_take_a_trex_job(tmp_path: Path) -> None:
    """Twirled randomizations are merged and rescaled by the service's workers: an agent's claim refuses the job
    (it fails at compile with that reason) instead of returning unmerged records."""
    request = EstimateCreate(pubs=[EstimatePub(circuit=qasm.dumps(Circuit(2).h(0).cx(0, 1)),
                                               observables=[{"ZZ": 1.0}])],
                             backend="line10", precision=0.05, mitigation=MitigationOptions(
                                 readout=True, readout_calibration="twirled"))
    prepared = prepare_estimate(Settings(data_dir=tmp_path), DeviceCatalog(), request)
    assert prepared.payload["estimate"]["pubs"][0]["twirl"] == [7, 64]  # runtime's auto rule for 400 shots
    with pytest.raises(XiheError, match="service's own workers"):
        compile_plan(devices.get("line10"), {**prepared.payload, "seed": 1}, prepared.shots)
