"""Noisy MPS with relaxation (issue 16): shots share their work and keep the exact distribution.

A channel that is no mixture of unitaries is split as ``E = (1 - w) Id + w F`` (checked against the channel itself
and against the closed form for thermal relaxation), channels between a qubit's last gate and its readout become
a classical confusion (checked against the closed-form decay), and the MPS walk over these events must follow
the density matrix's exact probabilities (chi-square) on noisy circuits up to 10 qubits, on the line10 twin's
own noise, and the trajectories engine (one statevector per shot) on a wider circuit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _qasmbench import chi2_pvalue
from scipy.stats import chi2_contingency

from xihe import devices
from xihe.circuit import Circuit
from xihe.devices.plan import PlanOptions
from xihe.engines import NoiseModel, simulate
from xihe.engines.channels import Channel, amplitude_damping, depolarizing, pauli_channel, thermal_relaxation
from xihe.engines.chunks import merge_results, run_chunk
from xihe.engines.fusion import fuse
from xihe.engines.jumps import classical_tail
from xihe.engines.mps_layout import site_order
from xihe.engines.program import lower
from xihe.engines.sampling import rows_to_counts
from xihe.engines.trajectories import run_rows_jumps, run_shot

T1, T2 = 30e3, 20e3  # ns


def _superop(kraus: list[np.ndarray]) -> np.ndarray:
    return sum(np.kron(k, k.conj()) for k in kraus)


@pytest.mark.parametrize("channel", [
    thermal_relaxation(T1, T2, 100),
    thermal_relaxation(T1, T2, 2000),
    amplitude_damping(0.1),
    depolarizing(0.03, 2).compose(thermal_relaxation(T1, T2, 60).tensor(thermal_relaxation(25e3, 10e3, 60))),
])
def test_identity_split_rebuilds_the_channel(channel) -> None:  # type: ignore[no-untyped-def]
    w, kraus = channel.identity_split
    d = 1 << channel.num_qubits
    assert 0.0 <= w <= 1.0
    np.testing.assert_allclose(sum(k.conj().T @ k for k in kraus), np.eye(d), atol=1e-9)  # F is a channel
    rebuilt = (1 - w) * np.eye(d * d) + w * _superop(kraus)
    np.testing.assert_allclose(rebuilt, _superop(channel.kraus), atol=1e-12)


@pytest.mark.parametrize("duration", [50.0, 400.0, 5000.0])
def test_identity_weight_of_thermal_relaxation_is_the_closed_form(duration: float) -> None:
    """On span{|00>>, |11>>} the Choi matrix is [[1, c], [c, p]] (p = exp(-t/T1) survival of |1>, c = exp(-t/T2)
    coherence); the largest identity weight is 1 / <<I|J^-1|I>> = (p - c^2) / (1 + p - 2c)."""
    p, c = math.exp(-duration / T1), math.exp(-duration / T2)
    w, _ = thermal_relaxation(T1, T2, duration).identity_split
    assert w == pytest.approx(1 - (p - c * c) / (1 + p - 2 * c), rel=1e-9, abs=1e-12)
    assert amplitude_damping(0.05).identity_split[0] == 1.0  # no pure dephasing: no identity part at all


def test_outcome_matrix_is_the_classical_decay() -> None:
    p = math.exp(-700 / T1)
    np.testing.assert_allclose(thermal_relaxation(T1, T2, 700).outcome_matrix, [[1, 1 - p], [0, p]], atol=1e-12)
    np.testing.assert_allclose(pauli_channel(px=0.1, py=0.05, pz=0.2).outcome_matrix, [[0.85, 0.15], [0.15, 0.85]],
                               atol=1e-12)
    hadamard = Channel([np.array([[1, 1], [1, -1]]) / math.sqrt(2)])
    assert hadamard.outcome_matrix is None  # coherences reach the outcomes: not classical


def _relaxing_circuit(n: int, seed: int) -> Circuit:
    """Random layers with idle windows (delays) mid-circuit and before the readout, so both the walk and the
    classical tail are exercised."""
    rng = np.random.default_rng(seed)
    qc = Circuit(n, n)
    for layer in range(4):
        for q in range(n):
            qc.u3(*(float(x) for x in rng.uniform(0, math.pi, 3)), q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
        qc.delay(float(rng.uniform(200, 2000)), int(rng.integers(n)))
    qc.cx(0, n - 1)
    for q in range(n):
        qc.delay(float(rng.uniform(0, 3000)), q)
    return qc.measure(list(range(n)), list(range(n)))


def _relaxing_noise(n: int) -> NoiseModel:
    nm = NoiseModel()
    relax = thermal_relaxation(T1, T2, 40)
    nm.add_gate_error(relax.compose(depolarizing(0.004, 1)), ["u3"])
    nm.add_gate_error(thermal_relaxation(T1, T2, 80).tensor(thermal_relaxation(T1, T2, 80)).compose(
        depolarizing(0.02, 2)), ["cx"])
    for q in range(n):
        nm.set_relaxation(q, T1, T2)
        nm.add_readout_error(0.01, 0.03, q)
    return nm


@pytest.mark.parametrize(("n", "seed"), [(4, 1), (6, 2), (8, 3), (10, 4)])
def test_relaxation_follows_the_density_matrix(n: int, seed: int) -> None:
    qc, nm = _relaxing_circuit(n, seed), _relaxing_noise(n)
    body, tail = classical_tail(lower(qc, nm))
    assert tail and any(ins.kind == "channel" and ins.channel is not None and ins.channel.sampling_table is None
                        for ins in body)  # both paths are taken
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=4000, seed=seed, noise=nm, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6
    assert res.metadata["trajectories"] < 4000  # error-free shots share one state
    assert simulate(qc, shots=4000, seed=seed, noise=nm, engine="mps").counts == res.counts


def test_strong_relaxation_mid_circuit_follows_the_density_matrix() -> None:
    """Idle windows of half a T1 between gates: the Kraus operator a shot picks at an event depends strongly on
    its state (a decay only where the qubit is excited), so picking it with the wrong weights shows."""
    qc = Circuit(3, 3)
    for q, angle in enumerate((2.2, 1.3, 2.8)):
        qc.ry(angle, q)
    qc.cx(0, 1)
    for q in range(3):
        qc.delay(15000.0, q)
    qc.h(0).h(1).h(2).cx(1, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    nm = NoiseModel()
    for q in range(3):
        nm.set_relaxation(q, T1, T2)
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=20000, seed=5, noise=nm, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6


def test_line10_twin_noise_on_the_mps_follows_the_density_matrix() -> None:
    """The twin's own noise (relaxation and depolarizing on every gate, T2* idling, readout) on a compiled circuit."""
    device = devices.get("line10")
    plan = device.plan([_relaxing_circuit(8, 9)], 3000, PlanOptions(seeds=(3,)))
    [planned] = plan.circuits
    exact = simulate(planned.compact, shots=0, noise=planned.noise, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(planned.compact, shots=3000, seed=3, noise=planned.noise, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6


def _weights(counts: dict[str, int], n: int) -> np.ndarray:
    out = np.zeros(n + 1)
    for key, v in counts.items():
        out[key.count("1")] += v
    return out


def test_wide_relaxation_agrees_with_the_trajectories_engine() -> None:
    """14 qubits: GHZ with a t gate under relaxation; Hamming weights and per-qubit marginals against one
    statevector trajectory per shot with the Kraus operators drawn as they stand (the trajectories engine's
    shot-by-shot path, ``run_shot``: no identity split, no classical tail, no shared walk)."""
    n = 14
    qc = Circuit(n, n).h(0).t(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
        qc.delay(300.0, n - 1 - q)
    for q in range(n):
        qc.delay(500.0 * (q % 3), q)
    qc.measure(list(range(n)), list(range(n)))
    nm = _relaxing_noise(n)
    shots = 3000
    mps = simulate(qc, shots=shots, seed=11, noise=nm, engine="mps").counts
    prog = lower(qc, nm)
    body = fuse(prog.body, 4)
    rows = np.zeros((shots, n), dtype=np.uint8)
    rng = np.random.default_rng(12)
    for shot in range(shots):
        run_shot(prog, body, rng, rows[shot], list(range(n)))
    traj, _ = rows_to_counts(rows, False)
    a, b = _weights(mps, n), _weights(traj, n)
    keep = (a + b) >= 10
    table = np.array([np.append(a[keep], a[~keep].sum()), np.append(b[keep], b[~keep].sum())])
    table = table[:, table.sum(axis=0) > 0]
    assert chi2_contingency(table)[1] > 1e-6
    for q in range(n):
        fa = sum(v for k, v in mps.items() if k[q] == "1") / shots
        fb = sum(v for k, v in traj.items() if k[q] == "1") / shots
        assert abs(fa - fb) < 5 * math.sqrt(0.25 * 2 / shots)  # five standard deviations of the difference


def test_a_circuit_compiled_for_dongling_gets_a_chain_order() -> None:
    """A routed chain's gates are 3 to 8 sites apart in the chip's numbering; the chain order puts them closer.

    Each target is rotated before its ``cx``, so the chain is no GHZ fan-out (which the compiler lays out as a tree
    without swaps) and is routed as written, with swaps, as the GHZ was before.
    """
    circuit = Circuit(40, 40).h(0).t(0)
    for i in range(39):
        circuit.ry(0.1, i + 1).cx(i, i + 1)
    circuit.measure(list(range(40)), list(range(40)))
    plan = devices.get("dongling").plan([circuit], 100, PlanOptions(seeds=(5,)))
    prog = lower(plan.circuits[0].compact)
    site = site_order(prog)
    assert site is not None and sorted(site) == list(range(40))

    def distance(order: list[int]) -> int:
        return sum(abs(order[i.qubits[0]] - order[i.qubits[1]]) - 1 for i in prog.body if len(i.qubits) == 2)

    assert distance(site) < distance(list(range(40))) / 2


def test_relaxation_chunks_merge_to_the_engines_own_counts() -> None:
    """The fan-out runs ``run_chunk`` per seeded chunk (lowering and preparing the walk itself); merged, that is
    exactly the engine's local run, which prepares the walk once for all chunks."""
    qc, nm = _relaxing_circuit(6, 8), _relaxing_noise(6)
    local = simulate(qc, shots=700, seed=13, noise=nm, engine="mps", engine_options={"chunk_shots": 256})
    assert local.metadata["chunks"] == 3
    children = np.random.SeedSequence(13).spawn(3)
    parts = [run_chunk(qc, count, child, nm, "mps") for count, child in zip([256, 256, 188], children, strict=True)]
    assert merge_results(parts).counts == local.counts


def test_a_three_qubit_relaxation_channel_follows_the_density_matrix() -> None:
    """A channel wider than the walk's two-qubit steps stands alone; its Kraus weights come from a three-qubit
    reduced density matrix."""
    qc = Circuit(4, 4).h(0).h(1).ry(1.1, 2).x(3).ccx(0, 1, 3).cx(2, 1)
    qc.measure([0, 1, 2, 3], [0, 1, 2, 3])
    relax = thermal_relaxation(T1, T2, 4000)
    nm = NoiseModel()
    nm.add_gate_error(relax.tensor(relax).tensor(relax), ["ccx"])
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=8000, seed=2, noise=nm, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6


@pytest.mark.parametrize("n", [6, 9])
def test_trajectories_engine_walks_relaxation_and_follows_the_density_matrix(n: int) -> None:
    """The statevector trajectories engine walks the same events (a twin's 13-28-qubit jobs used to run shot by
    shot); its counts follow the density matrix and its shots share states."""
    qc, nm = _relaxing_circuit(n, 20 + n), _relaxing_noise(n)
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=4000, seed=n, noise=nm, engine="trajectories")
    assert chi2_pvalue(res.counts, exact) > 1e-6
    _, runs = run_rows_jumps(lower(qc, nm), 4000, np.random.default_rng(1))
    assert runs < 4000
