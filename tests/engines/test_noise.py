"""Channels and the noise model: definitions, fidelities, relaxation on delays, readout confusion, rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xihe.circuit import Circuit
from xihe.engines import NoiseModel, simulate
from xihe.engines.channels import (
    Channel,
    NoiseError,
    amplitude_damping,
    depolarizing,
    pauli_channel,
    phase_damping,
    thermal_relaxation,
)


@pytest.mark.parametrize("channel", [
    depolarizing(0.1, 1), depolarizing(0.2, 2), amplitude_damping(0.3), phase_damping(0.4),
    thermal_relaxation(50e3, 80e3, 500.0), thermal_relaxation(50e3, 30e3, 500.0), pauli_channel(px=0.1, pz=0.2),
])
def test_channels_are_trace_preserving(channel: Channel) -> None:
    d = 1 << channel.num_qubits
    total = sum(k.conj().T @ k for k in channel.kraus)
    assert np.allclose(total, np.eye(d))


def test_depolarizing_average_gate_fidelity() -> None:
    # F = 1 - p (d - 1) / d for rho -> (1 - p) rho + p I/d.
    assert depolarizing(0.06, 1).average_gate_fidelity() == pytest.approx(1 - 0.06 / 2)
    assert depolarizing(0.06, 2).average_gate_fidelity() == pytest.approx(1 - 0.06 * 3 / 4)


def test_compose_applies_self_first() -> None:
    rho = np.array([[0, 0], [0, 1]], dtype=complex)
    out = amplitude_damping(1.0).compose(pauli_channel(px=1.0)).apply(rho)
    assert np.allclose(out, np.diag([0, 1]))


def test_t2_above_twice_t1_is_refused() -> None:
    with pytest.raises(NoiseError, match="2 T1"):
        thermal_relaxation(10e3, 25e3, 100.0)


def test_relaxation_on_delay_decays_excited_state_with_t1() -> None:
    nm = NoiseModel()
    nm.set_relaxation(0, t1_ns=20e3, t2_ns=30e3)
    qc = Circuit(1, 1)
    qc.x(0).delay(10.0, 0, unit="us").measure(0, 0)
    probs = simulate(qc, shots=0, noise=nm).exact_probabilities
    assert probs is not None
    assert probs["1"] == pytest.approx(math.exp(-0.5), abs=1e-12)


def test_ramsey_coherence_decays_with_t2() -> None:
    nm = NoiseModel()
    nm.set_relaxation(0, t1_ns=40e3, t2_ns=30e3)
    qc = Circuit(1, 1)
    qc.h(0).delay(15e3, 0).h(0).measure(0, 0)
    probs = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert probs is not None
    # <+|rho|+> = (rho00 + rho11)/2 + Re rho01 = 1/2 + e^{-t/T2}/2: populations (T1) do not enter.
    assert probs["0"] == pytest.approx(0.5 * (1 + math.exp(-15e3 / 30e3)), abs=1e-12)


def test_readout_confusion_is_exact() -> None:
    nm = NoiseModel()
    nm.add_readout_error(0.02, 0.1, qubit=0)
    qc = Circuit(2, 2)
    qc.x(0).measure([0, 1], [0, 1])
    for engine in ("statevector", "density_matrix"):
        probs = simulate(qc, shots=0, noise=nm, engine=engine).exact_probabilities
        assert probs is not None
        assert probs["00"] == pytest.approx(0.1) and probs["10"] == pytest.approx(0.9)


def test_local_error_replaces_all_qubit_error() -> None:
    nm = NoiseModel()
    everywhere = depolarizing(0.1, 1)
    here = amplitude_damping(0.5)
    nm.add_gate_error(everywhere, "x")
    nm.add_gate_error(here, "x", qubits=(1,))
    assert nm.channels_after("x", (0,)) == [(everywhere, (0,))]
    assert nm.channels_after("x", (1,)) == [(here, (1,))]
    assert nm.channels_after("h", (0,)) == []


def test_one_qubit_error_on_two_qubit_gate_acts_on_each_qubit() -> None:
    nm = NoiseModel()
    ch = depolarizing(0.1, 1)
    nm.add_gate_error(ch, "cx")
    assert nm.channels_after("cx", (3, 5)) == [(ch, (3,)), (ch, (5,))]


def test_model_flags() -> None:
    nm = NoiseModel()
    assert nm.is_ideal() and nm.is_pauli()
    nm.add_readout_error(0.01, 0.02, 0)
    assert not nm.is_ideal() and not nm.has_quantum_noise()
    nm.add_gate_error(amplitude_damping(0.1), "h")
    assert nm.has_quantum_noise() and not nm.is_pauli()


def test_bad_readout_probability_is_refused() -> None:
    with pytest.raises(NoiseError, match="p1_given_0"):
        NoiseModel().add_readout_error(1.5, 0.0, 0)
