import json
from datetime import UTC, datetime

import pytest

from xihe import devices
from xihe.circuit import Circuit, gate_specs
from xihe.devices.calibration import CalibrationHistory
from xihe.devices.grid import generate_grid36
from xihe.devices.quafu import target_from_chip_info
from xihe.errors import ValidationError


def test_shipped_backends_are_listed() -> None:
    assert devices.names()[:5] == ["sim", "sim-clifford", "line10", "dongling", "grid36"]


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="unknown backend 'nope'"):
        devices.get("nope")


def test_dongling_numbers_130_qubits_of_which_106_work() -> None:
    d = devices.get("dongling")
    assert d.num_qubits == 130
    assert len(d.working_qubits) == 106
    assert d.kind == "twin" and d.exclusive and d.system_id == 7
    assert d.native_gates == ["cz", "h", "rx", "ry", "rz"]
    # pyquafu's numbering: qubit 0 is Q0103, the lowest-numbered qubit of a working coupler; Q0101 is dead.
    assert d.target.labels[0] == "Q0103" and 0 in d.working_qubits
    assert d.target.labels.index("Q0101") not in d.working_qubits
    assert all(a in d.working_qubits and b in d.working_qubits for a, b in d.coupling_map)
    assert len(d.target.edges) == 105


def test_line10_is_a_directed_cx_chain_with_its_uncoupled_qubit_last() -> None:
    d = devices.get("line10")
    assert d.coupling_map == [(i, i + 1) for i in range(8)]
    assert d.target.labels[9] == "Q0101"
    assert "cx" in d.native_gates


def test_cx_pair_direction_follows_the_file() -> None:
    target = devices.get("line10").target
    assert target.supports("cx", (0, 1)) and not target.supports("cx", (1, 0))
    assert target.error("cx", (0, 1)) == pytest.approx(1 - 0.996)


def test_defaults_fill_what_the_file_lacks() -> None:
    d = devices.get("line10")
    info = d.calibration.data["qubits_info"][d.target.labels[2]]
    assert d.target.readout_error[2] == d.defaults.readout_for(d.target.labels[2], info["qubit_frequency"],
                                                               d.target.t1[2])
    assert d.target.duration("cx", (0, 1)) == d.defaults.two_qubit_gate_duration_ns
    assert d.target.t1[1] == pytest.approx(65.33e3)  # Q0103
    assert d.target.t2[1] == pytest.approx(27.79e3)


def test_operator_overrides_change_defaults(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"line10": {"readout_p1_given_0": 0.1, "two_qubit_gate_duration_ns": 100,
                                           "readout_error": {"Q0104": [0.2, 0.3]}}}))
    monkeypatch.setenv("XIHE_DEVICE_OVERRIDES", str(path))
    d = devices.get("line10")
    assert d.target.readout_error[1][0] == 0.1
    assert d.target.readout_error[2] == (0.2, 0.3)  # Q0104
    assert d.target.duration("cx", (0, 1)) == 100


def test_unknown_override_key_is_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "overrides.json"
    path.write_text(json.dumps({"line10": {"readout_eror": 0.1}}))
    monkeypatch.setenv("XIHE_DEVICE_OVERRIDES", str(path))
    with pytest.raises(ValidationError, match="readout_eror"):
        devices.get("line10")


def test_operator_chip_folder_adds_a_twin(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data = devices.get("line10").to_quafu_chip_info()
    data.pop("system_id")  # line10's own id would clash; without one the file gets a stable id of its own
    (tmp_path / "mychip.json").write_text(json.dumps(data))
    monkeypatch.setenv("XIHE_DEVICES_DIR", str(tmp_path))
    assert "mychip" in devices.names()
    assert devices.get("mychip").coupling_map == devices.get("line10").coupling_map


def test_grid36_file_is_what_the_seeded_generator_makes() -> None:
    from importlib import resources

    shipped = json.loads(resources.files("xihe.devices.chips").joinpath("grid36.json").read_text())
    assert shipped == generate_grid36()
    d = devices.get("grid36")
    assert d.num_qubits == 36 and len(d.target.edges) == 60 and d.native_gates == ["cz", "h", "rx", "ry", "rz"]


def test_quafu_chip_info_round_trips_through_the_reader() -> None:
    for name in ("line10", "dongling", "grid36"):
        d = devices.get(name)
        again = target_from_chip_info(d.to_quafu_chip_info(), d.defaults)
        assert again.coupling_map == d.target.coupling_map
        assert again.working_qubits == d.target.working_qubits


def test_generated_chip_info_is_readable_by_the_reader() -> None:
    from xihe.devices.quafu import chip_info_from_target

    d = devices.get("grid36")
    info = chip_info_from_target(d.target, system_id=3, time=d.calibration.time)
    again = target_from_chip_info(info, d.defaults)
    assert again.coupling_map == d.target.coupling_map
    assert again.error("cz", (0, 1)) == pytest.approx(d.target.error("cz", (0, 1)))


def test_simulators_are_ideal_and_unconstrained() -> None:
    sim = devices.get("sim")
    assert sim.kind == "simulator" and not sim.exclusive and sim.coupling_map == []
    assert devices.get("sim-clifford").num_qubits == 1000
    assert sim.noise_model().is_ideal()


def test_calibration_history_finds_the_snapshot_in_force() -> None:
    d = devices.get("line10")
    newer = json.loads(json.dumps(d.calibration.data))
    newer["topological_structure"]["Q0102_Q0103"]["CX"]["fidelity"] = 0.85  # exactly 0.900 reads as a placeholder
    history = CalibrationHistory("line10", list(d.history))
    snap = history.add(newer, datetime(2025, 1, 1, tzinfo=UTC))
    assert snap.version == 2 and snap.id != d.calibration.id
    assert history.at(datetime(2024, 12, 1, tzinfo=UTC)).id == d.calibration.id  # type: ignore[union-attr]
    assert history.at(datetime(2025, 6, 1, tzinfo=UTC)).id == snap.id  # type: ignore[union-attr]
    assert history.at(datetime(2020, 1, 1, tzinfo=UTC)) is None
    recalibrated = d.with_calibration(snap)
    assert recalibrated.target.error("cx", (0, 1)) == pytest.approx(0.15)
    assert recalibrated.calibration.id == snap.id and len(recalibrated.history) == 2
    assert d.target.error("cx", (0, 1)) == pytest.approx(0.004)  # the original is unchanged


def test_sim_clifford_lists_exactly_the_gates_it_accepts() -> None:
    """Its native gates are the table's Clifford column, and those are the gates it runs (a new user's report)."""
    device = devices.get("sim-clifford")
    specs = gate_specs()
    assert device.native_gates == sorted(name for name, spec in specs.items() if spec.clifford)
    assert "t" not in device.native_gates and "ccx" not in device.native_gates and "h" in device.native_gates
    accepted = set()
    for name, spec in specs.items():
        arity = spec.num_qubits or 3
        try:
            device.validate(Circuit(arity).append(name, list(range(arity)), [0.3] * spec.num_params))
            accepted.add(name)
        except ValidationError:
            pass
    # Every listed gate runs; of the others only ``u0`` does (an idle: the identity whatever its parameter, though
    # the table does not flag it Clifford), and parametrised gates at Clifford angles (not tried here).
    assert accepted == set(device.native_gates) | {"u0"}
    assert len(devices.get("sim").native_gates) == len(specs)  # the statevector simulator takes every gate
