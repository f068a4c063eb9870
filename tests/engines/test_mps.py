"""The MPS engine (issue 16): exact against the statevector engine, wide where the statevector cannot go.

Seeded random circuits on 2-20 qubits (one- and two-qubit gates between any qubits, three-qubit gates) must give
the statevector engine's state to fidelity >= 1 - 1e-9; counts must follow the exact probabilities (chi-square);
the bond dimension and truncation error are in every result and capped by ``max_bond_dimension``; a 40-qubit
GHZ state with a ``t`` gate (which the statevector engine refuses at about 16 TiB) runs with ``engine="mps"``
and is what ``engine="auto"`` picks. Noisy circuits (seeded trajectories) follow the density matrix's exact
probabilities (chi-square).
"""

from __future__ import annotations

import numpy as np
import pytest
from _qasmbench import chi2_pvalue

from xihe.circuit import Circuit
from xihe.engines import NoiseModel, choose_engine, simulate
from xihe.engines.bonds import bond_dimension_bound, bond_dimension_refusal, estimate_bond_dimension, estimate_memory
from xihe.engines.channels import amplitude_damping, depolarizing, thermal_relaxation
from xihe.engines.mps import check_bond_dimension, final_mps
from xihe.errors import ExecutionError, ResourceError

ONE_Q = ["h", "x", "y", "sx", "s", "t", "tdg"]
TWO_Q = ["cx", "cz", "swap", "ch"]


def random_circuit(seed: int, n: int, gates: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for _ in range(gates):
        r = rng.random()
        if r < 0.35:
            qc.append(str(rng.choice(ONE_Q)), [int(rng.integers(n))])
        elif r < 0.55:
            qc.u3(*[float(x) for x in rng.uniform(0, np.pi, 3)], int(rng.integers(n)))
        elif r < 0.6 and n >= 3:
            a, b, c = (int(q) for q in rng.choice(n, 3, replace=False))
            qc.ccx(a, b, c)
        elif r < 0.65:
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            qc.cp(float(rng.uniform(0, 6)), a, b)
        else:
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            if rng.random() < 0.5:  # nearest neighbours half the time, any pair otherwise
                a = min(a, n - 2)
                b = a + 1
            qc.append(str(rng.choice(TWO_Q)), [a, b])
    return qc


CASES = [(seed, n, 3 * n + 10) for seed, n in enumerate([2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20])]


@pytest.mark.parametrize(("seed", "n", "gates"), CASES)
def test_mps_equals_statevector(seed: int, n: int, gates: int) -> None:
    qc = random_circuit(seed, n, gates)
    expected = simulate(qc, shots=0, engine="statevector").statevector
    assert expected is not None
    state = final_mps(qc, max_bond_dimension=1 << (n // 2))
    got = state.statevector()
    fidelity = abs(np.vdot(expected, got)) ** 2 / np.vdot(got, got).real
    assert fidelity >= 1 - 1e-9
    assert state.truncation_error < 1e-12
    assert state.max_bond_reached <= 1 << (n // 2)
    assert all(b <= c for b, c in zip(state.bond_dimensions, bond_dimension_bound(qc), strict=True))


@pytest.mark.parametrize("seed", range(3))
def test_mps_counts_follow_exact_probabilities(seed: int) -> None:
    qc = random_circuit(100 + seed, 7, 30)
    qc.measure(list(range(7)), list(range(7)))
    exact = simulate(qc, shots=0, engine="statevector").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=20_000, seed=seed, engine="mps")
    assert sum(res.counts.values()) == 20_000
    assert chi2_pvalue(res.counts, exact) > 1e-6
    again = simulate(qc, shots=20_000, seed=seed, engine="mps")
    assert again.counts == res.counts


def test_readout_error_is_applied() -> None:
    qc = Circuit(3, 3)
    qc.x(0).measure([0, 1, 2], [0, 1, 2])
    nm = NoiseModel()
    for q in range(3):
        nm.add_readout_error(0.1, 0.2, q)
    res = simulate(qc, shots=40_000, seed=5, noise=nm, engine="mps")
    exact = simulate(qc, shots=0, noise=nm, engine="statevector").exact_probabilities
    assert exact is not None
    assert chi2_pvalue(res.counts, exact) > 1e-6


def ghz_t(n: int) -> Circuit:
    qc = Circuit(n, n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.t(n // 2)
    qc.measure(list(range(n)), list(range(n)))
    return qc


def test_ghz40_with_t_runs_and_reports_bond_dimension() -> None:
    qc = ghz_t(40)
    with pytest.raises(ResourceError):
        simulate(qc, shots=100, engine="statevector")
    res = simulate(qc, shots=2000, seed=11, engine="mps")
    assert set(res.counts) == {"0" * 40, "1" * 40}
    assert 800 < res.counts["0" * 40] < 1200
    assert res.metadata["engine"] == "mps"
    assert res.metadata["bond_dimension"] == 2
    assert res.metadata["truncation_error"] == 0.0
    assert res.metadata["max_bond_dimension"] == 256


def test_auto_picks_mps_for_wide_weakly_entangled_circuits() -> None:
    qc = ghz_t(40)
    assert choose_engine(qc) == "mps"
    res = simulate(qc, shots=100, seed=1)
    assert res.metadata["engine"] == "mps"
    assert estimate_bond_dimension(qc) == 2
    assert bond_dimension_bound(qc) == [2] * 39
    assert estimate_memory(qc) < 1 << 20


def brickwork(n: int, depth: int, seed: int) -> Circuit:
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for layer in range(depth):
        for q in range(n):
            qc.u3(*[float(x) for x in rng.uniform(0, np.pi, 3)], q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    return qc


def test_bond_dimension_cap_truncates_and_reports_error() -> None:
    qc = brickwork(10, 10, 3)
    exact = final_mps(qc, max_bond_dimension=32)
    capped = final_mps(qc, max_bond_dimension=4)
    fidelity = abs(np.vdot(exact.statevector(), capped.statevector())) ** 2
    assert exact.truncation_error < 1e-12
    # The reported error tracks the lost fidelity (to first order, 1 - F is at most about the discarded weight).
    assert 1e-4 < 1 - fidelity <= 1.5 * capped.truncation_error
    qc.measure(list(range(10)), list(range(10)))
    assert estimate_bond_dimension(qc) == 32
    res = simulate(qc, shots=100, seed=2, engine="mps", engine_options={"max_bond_dimension": 4})
    assert res.metadata["bond_dimension"] <= 4
    assert res.metadata["max_bond_dimension"] == 4
    assert res.metadata["truncation_error"] > 1e-6
    with pytest.raises(ResourceError, match="bond dimension"):
        check_bond_dimension(qc, 4)
    assert check_bond_dimension(ghz_t(60), 4) == 2


def test_bound_is_tight_for_brickwork_and_counts_long_range_gates() -> None:
    qc = Circuit(6)
    qc.u3(0.3, 0.2, 0.1, 0).u3(0.4, 0.5, 0.6, 1)  # 16 Pauli branches: the Clifford-skeleton bound says little
    qc.cx(0, 5)  # crosses every cut once: rank 2 each
    qc.cx(1, 2).cx(1, 2)  # cancels, but the gate product cannot know: 2 * 2 * 2 at cut 1, capped by 2^2
    assert bond_dimension_bound(qc) == [2, 4, 2, 2, 2]
    clifford = Circuit(6).h(0).cx(0, 5).cx(1, 2).cx(1, 2)  # the skeleton sees the cancelling pair and the Bell pair
    assert bond_dimension_bound(clifford) == [2, 2, 2, 2, 2]
    assert bond_dimension_bound(brickwork(10, 10, 0)) == [2, 4, 8, 16, 32, 16, 8, 4, 2]
    reached = final_mps(brickwork(10, 10, 0), max_bond_dimension=64).bond_dimensions
    assert reached == [2, 4, 8, 16, 32, 16, 8, 4, 2]


def test_refuses_mid_circuit_measurement() -> None:
    qc = Circuit(2, 2)
    qc.h(0).measure(0, 0).cx(0, 1).measure(1, 1)
    with pytest.raises(ExecutionError, match="mid-circuit"):
        simulate(qc, shots=10, engine="mps")


def _noisy(n: int, seed: int) -> Circuit:
    qc = random_circuit(200 + seed, n, 25)
    qc.measure(list(range(n)), list(range(n)))
    return qc


@pytest.mark.parametrize("seed", range(2))
def test_noisy_trajectories_follow_the_density_matrix_pauli_noise(seed: int) -> None:
    qc = _noisy(6, seed)
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.01, 1), ["h", "x", "y", "sx", "s", "t", "tdg", "u3"])
    nm.add_gate_error(depolarizing(0.03, 2), ["cx", "cz", "swap", "ch", "cp"])
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=3000, seed=seed, noise=nm, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6
    assert 1 < res.metadata["trajectories"] < 3000  # error-free shots share one trajectory
    assert simulate(qc, shots=3000, seed=seed, noise=nm, engine="mps").counts == res.counts


def test_noisy_trajectories_follow_the_density_matrix_relaxation() -> None:
    qc = _noisy(4, 7)
    nm = NoiseModel()
    relax = thermal_relaxation(20e3, 15e3, 400)
    nm.add_gate_error(amplitude_damping(0.05).compose(relax), ["h", "x", "y", "sx", "s", "t", "tdg", "u3"])
    nm.add_gate_error(depolarizing(0.03, 2).compose(relax.tensor(relax)), ["cx", "cz", "swap", "ch", "cp"])
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=800, seed=3, noise=nm, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6
    assert res.metadata["trajectories"] < 800  # relaxation drawn as identity or remainder: shots share (jumps.py)
    assert res.metadata["truncation_error"] < 1e-12


def test_auto_picks_mps_for_a_wide_noisy_ghz() -> None:
    qc = ghz_t(40)
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(1e-3, 1), ["h", "t"])
    nm.add_gate_error(depolarizing(1e-2, 2), ["cx"])
    for q in range(40):
        nm.add_readout_error(0.01, 0.02, q)
    assert choose_engine(qc, nm) == "mps"
    res = simulate(qc, shots=1000, seed=4, noise=nm)
    assert res.metadata["engine"] == "mps"
    ghz = res.counts.get("0" * 40, 0) + res.counts.get("1" * 40, 0)
    # P(no gate error flips a bit and no readout flip) is about 0.4: the two GHZ outcomes stand far above the rest.
    assert ghz > 200
    assert max(v for k, v in res.counts.items() if k not in ("0" * 40, "1" * 40)) < 20


def test_bond_dimension_refusal_names_the_bound_and_the_cap() -> None:
    entangled = Circuit(30, 30)
    for q in range(30):
        entangled.h(q).t(q)
    for q in range(15):
        entangled.cx(q, 29 - q)
    refusal = bond_dimension_refusal(entangled)
    assert refusal is not None and "bond dimension of up to 32768" in refusal and "cap of 256" in refusal
    assert bond_dimension_refusal(ghz_t(60)) is None
