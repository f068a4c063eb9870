"""Noisy engines against Qiskit Aer: density matrices equal, trajectories sample the density matrix's law.

Each of 24 seeded random circuits (3-8 qubits) gets a seeded random noise model built twice, once with Xihe's
channels and once with Aer's equivalent errors: depolarizing then thermal relaxation on every gate, local
amplitude/phase damping that replaces the all-qubit error on one qubit. Xihe's density matrix probabilities must
equal Aer's density matrix within 1e-6 total variation. Trajectories (with readout error and idle relaxation
added) must pass a chi-square test (p >= 1e-6) against Xihe's exact density matrix probabilities.
"""

from __future__ import annotations

import numpy as np
import pytest
from _qasmbench import chi2_pvalue, to_big_endian

from xihe import qasm
from xihe.circuit import Circuit
from xihe.engines import NoiseModel, simulate
from xihe.engines.channels import amplitude_damping, depolarizing, phase_damping, thermal_relaxation

ONE_Q = ["h", "x", "sx", "s", "t"]
TWO_Q = ["cx", "cz", "swap"]
SEEDS = list(range(24))


def random_circuit(seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 9))
    qc = Circuit(n, n)
    for _ in range(int(rng.integers(12, 30))):
        r = rng.random()
        if r < 0.45:
            qc.append(str(rng.choice(ONE_Q)), [int(rng.integers(n))])
        elif r < 0.65:
            qc.u3(*[float(x) for x in rng.uniform(0, np.pi, 3)], int(rng.integers(n)))
        elif r < 0.75:
            qc.rz(float(rng.uniform(0, 6)), int(rng.integers(n)))
        else:
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            qc.append(str(rng.choice(TWO_Q)), [a, b])
    return qc


def noise_params(seed: int) -> dict[str, float]:
    rng = np.random.default_rng(10_000 + seed)
    t1 = float(rng.uniform(20e3, 80e3))
    return {"p1": float(rng.uniform(0.001, 0.03)), "p2": float(rng.uniform(0.01, 0.08)), "t1": t1,
            "t2": float(rng.uniform(0.3, 2.0) * t1), "d1": 40.0, "d2": 300.0,
            "amp": float(rng.uniform(0.01, 0.2)), "phase": float(rng.uniform(0.01, 0.2))}


def xihe_noise(p: dict[str, float]) -> NoiseModel:
    nm = NoiseModel()
    relax1 = thermal_relaxation(p["t1"], p["t2"], p["d1"])
    relax2 = thermal_relaxation(p["t1"], p["t2"], p["d2"])
    nm.add_gate_error(depolarizing(p["p1"], 1).compose(relax1), [*ONE_Q, "u3", "rz"])
    nm.add_gate_error(depolarizing(p["p2"], 2).compose(relax2.tensor(relax2)), TWO_Q)
    nm.add_gate_error(amplitude_damping(p["amp"]), "x", qubits=(0,))
    nm.add_gate_error(phase_damping(p["phase"]), "h", qubits=(1,))
    return nm


def aer_noise(p: dict[str, float]):  # type: ignore[no-untyped-def]
    from qiskit_aer.noise import (
        NoiseModel as AerNoiseModel,
    )
    from qiskit_aer.noise import (
        amplitude_damping_error,
        depolarizing_error,
        phase_damping_error,
        thermal_relaxation_error,
    )

    nm = AerNoiseModel()
    relax1 = thermal_relaxation_error(p["t1"], p["t2"], p["d1"])
    relax2 = thermal_relaxation_error(p["t1"], p["t2"], p["d2"])
    nm.add_all_qubit_quantum_error(depolarizing_error(p["p1"], 1).compose(relax1), [*ONE_Q, "u3", "rz"])
    nm.add_all_qubit_quantum_error(depolarizing_error(p["p2"], 2).compose(relax2.expand(relax2)), TWO_Q)
    nm.add_quantum_error(amplitude_damping_error(p["amp"]), "x", [0])
    nm.add_quantum_error(phase_damping_error(p["phase"]), "h", [1])
    return nm


def aer_probabilities(qc: Circuit, noise) -> np.ndarray:  # type: ignore[no-untyped-def]
    import qiskit.qasm2
    from qiskit_aer import AerSimulator

    qk = qiskit.qasm2.loads(qasm.dumps(qc), custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    qk.save_probabilities()  # type: ignore[attr-defined]
    sim = AerSimulator(method="density_matrix", noise_model=noise)
    probs = np.asarray(sim.run(qk, shots=1).result().data()["probabilities"], dtype=float)
    return to_big_endian(probs, qc.num_qubits)


def measured(qc: Circuit) -> Circuit:
    out = qc.copy()
    out.measure(list(range(qc.num_qubits)), list(range(qc.num_qubits)))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_density_matrix_equals_aer(seed: int) -> None:
    qc = random_circuit(seed)
    p = noise_params(seed)
    ours = simulate(measured(qc), shots=0, noise=xihe_noise(p), engine="density_matrix").exact_probabilities
    assert ours is not None
    dense = np.zeros(1 << qc.num_qubits)
    for key, value in ours.items():
        dense[int(key, 2)] = value
    theirs = aer_probabilities(qc, aer_noise(p))
    assert 0.5 * np.abs(dense - theirs).sum() <= 1e-6


@pytest.mark.parametrize("seed", SEEDS)
def test_trajectories_sample_the_density_matrix(seed: int) -> None:
    qc = random_circuit(seed)
    p = noise_params(seed)
    nm = xihe_noise(p)
    for q in range(qc.num_qubits):
        nm.add_readout_error(0.01 + 0.005 * q, 0.03, q)
        nm.set_relaxation(q, p["t1"], p["t2"])
    qc.delay(2000.0, [0, 1])
    circuit = measured(qc)
    exact = simulate(circuit, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    counts = simulate(circuit, shots=1000, seed=seed, noise=nm, engine="trajectories").counts
    assert exact is not None
    assert chi2_pvalue(counts, exact) >= 1e-6
