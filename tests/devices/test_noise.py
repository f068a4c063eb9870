import pytest

from xihe import devices
from xihe.devices.noise import calibrated_channel, gate_channel, pauli_twirl
from xihe.engines.channels import thermal_relaxation


@pytest.mark.parametrize("pair", [(2, 3), (3, 4), (15, 16)])
def test_two_qubit_channel_has_the_file_fidelity(pair: tuple[int, int]) -> None:
    target = devices.get("dongling").target
    if not target.supports("cz", pair):
        pair = next(iter(target.gates["cz"]))  # type: ignore[index]
    channel = gate_channel(target, "cz", pair)
    assert channel is not None and channel.num_qubits == 2
    assert channel.average_gate_fidelity() == pytest.approx(1 - target.error("cz", pair), abs=1e-9)


def test_one_qubit_channel_has_the_default_fidelity_and_rz_is_virtual() -> None:
    target = devices.get("line10").target
    channel = gate_channel(target, "rx", (3,))
    assert channel is not None
    assert channel.average_gate_fidelity() == pytest.approx(1 - target.error("rx", (3,)), abs=1e-9)
    assert gate_channel(target, "rz", (3,)) is None


def test_relaxation_worse_than_the_file_leaves_no_depolarizing_part() -> None:
    relax = thermal_relaxation(10_000, 10_000, 500)
    channel = calibrated_channel(0.9999, relax, 1)
    assert channel.average_gate_fidelity() == pytest.approx(relax.average_gate_fidelity())


def test_noise_model_on_touched_qubits_uses_a_compact_register() -> None:
    d = devices.get("dongling")
    model = d.noise_model([2, 3])
    assert model.relaxation(0) == (d.target.t1[2], d.target.t2_ramsey[2])  # idle, no decoupling: T2*
    assert d.noise_model([2, 3], decoupled={2}).relaxation(0) == (d.target.t1[2], d.target.t2[2])  # T2echo
    assert model.readout(1) == d.target.readout_error[3]
    assert model.channels_after("cz", (0, 1))
    assert not model.channels_after("rz", (0,))


def test_pauli_twirl_keeps_the_average_fidelity() -> None:
    channel = gate_channel(devices.get("dongling").target, "rx", (2,))
    assert channel is not None
    twirled = pauli_twirl(channel)
    assert twirled.is_pauli()
    assert twirled.average_gate_fidelity() == pytest.approx(channel.average_gate_fidelity(), abs=1e-12)
