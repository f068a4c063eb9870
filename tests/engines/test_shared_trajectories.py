"""Trajectories drawn up front and walked as a prefix tree (:mod:`xihe.engines.branching`).

Each shot's final state from the walk (fused blocks, errors applied as ``R P R^dagger`` after their block) must
equal the state from applying the unfused body gate by gate with the same drawn branches inserted; the counts
must follow the density matrix; and the MPS engine's walk and compiled kernels must agree with exact results.
"""

from __future__ import annotations

import numpy as np
import pytest
from _qasmbench import chi2_pvalue

from xihe.circuit import Circuit
from xihe.engines import NoiseModel, simulate
from xihe.engines.branching import FusedNoisyBody, Walker, draw_branches, paths_of
from xihe.engines.channels import amplitude_damping, depolarizing, pauli_channel
from xihe.engines.chunks import merge_results, run_chunk
from xihe.engines.mps import MPS, product_factors
from xihe.engines.mps_kernels import sample_chain, two_site
from xihe.engines.program import lower
from xihe.engines.statevector import apply_instr, zero_state
from xihe.engines.trajectories import run_rows_shared
from xihe.testing import random_circuit


def _noise() -> NoiseModel:
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(0.06, 1), "*")
    nm.add_gate_error(pauli_channel(px=0.05, pz=0.04), ["h", "cx"])
    nm.add_gate_error(depolarizing(0.1, 2), ["cx", "cz", "swap", "cp", "ch"])
    return nm


@pytest.mark.parametrize(("seed", "max_depth"), [(0, 16), (1, 1), (2, 0)])
def test_walked_states_equal_gate_by_gate_trajectories(seed: int, max_depth: int) -> None:
    qc = random_circuit(6, 10, seed=seed, measure=True)
    prog = lower(qc, _noise())
    n = prog.num_qubits
    fused = FusedNoisyBody(prog.body, 4)
    assert len(fused.steps) < len(prog.body)  # channels no longer split the fusion blocks
    rng = np.random.default_rng(seed)
    where, branch = draw_branches(prog.body, 60, rng)
    paths = paths_of(where, branch, fused.place)
    finals: dict[int, np.ndarray] = {}

    def finish(state: np.ndarray, members: list[int]) -> None:
        for s in members:
            finals[s] = state.copy()

    walker: Walker[np.ndarray] = Walker(len(fused.steps), lambda st, a, b: fused.advance(st, n, a, b), np.copy,
                                        lambda st, step: fused.hit(st, n, step), finish, max_depth)
    walker.walk(zero_state(n), paths)
    assert sorted(finals) == list(range(60))
    assert walker.runs == len(set(paths))  # one run per distinct error path
    column = {i: j for j, i in enumerate(where)}
    for shot in range(60):
        state = zero_state(n)
        for i, ins in enumerate(prog.body):
            if ins.kind != "channel":
                apply_instr(state, n, ins)
                continue
            b = int(branch[shot, column[i]])
            if b >= 0:
                assert ins.channel is not None and ins.channel.sampling_table is not None
                u = ins.channel.sampling_table[1][b]
                assert u is not None
                apply_instr(state, n, ins.__class__("unitary", ins.qubits, u))
        assert abs(np.vdot(state, finals[shot])) ** 2 > 1 - 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_shared_trajectories_follow_the_density_matrix(seed: int) -> None:
    qc = random_circuit(5, 9, seed=20 + seed, measure=True)
    nm = _noise()
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=6000, seed=seed, noise=nm, engine="trajectories", engine_options={"processes": 1})
    assert chi2_pvalue(res.counts, exact) > 1e-6
    again = simulate(qc, shots=6000, seed=seed, noise=nm, engine="trajectories", engine_options={"processes": 1})
    assert again.counts == res.counts


def test_low_noise_shots_share_their_runs() -> None:
    qc = Circuit(8, 8)
    qc.h(0)
    for q in range(7):
        qc.cx(q, q + 1)
    qc.measure(list(range(8)), list(range(8)))
    nm = NoiseModel()
    nm.add_gate_error(depolarizing(1e-3, 2), ["cx"])
    rows, runs = run_rows_shared(lower(qc, nm), 1000, np.random.default_rng(3))
    assert rows.shape == (1000, 8)
    assert runs < 100  # about 1 - (1 - 1e-3 * 15/16)^7 of the shots have an error; the rest share one run
    ones = rows.sum(axis=1)
    assert np.mean((ones == 0) | (ones == 8)) > 0.95


def test_sample_chain_draws_from_a_chain_in_any_gauge() -> None:
    rng = np.random.default_rng(8)
    chis = [1, 2, 4, 3, 2, 1]
    tensors = [rng.normal(size=(chis[i], 2, chis[i + 1])) + 1j * rng.normal(size=(chis[i], 2, chis[i + 1]))
               for i in range(5)]  # random, unnormalised, no canonical form
    psi = tensors[0]
    for t in tensors[1:]:
        psi = np.tensordot(psi, t, axes=(psi.ndim - 1, 0))
    probs = np.abs(psi.reshape(-1)) ** 2
    probs /= probs.sum()
    flat = np.concatenate([t.reshape(-1) for t in tensors])
    offsets = np.cumsum([0] + [t.size for t in tensors])
    bits = sample_chain(flat, offsets, np.array(chis, dtype=np.int64), rng.random((20_000, 5)))
    keys = ["".join(map(str, row)) for row in bits]
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    exact = {format(i, "05b"): float(p) for i, p in enumerate(probs)}
    assert chi2_pvalue(counts, exact) > 1e-6


def test_two_site_kernel_matches_dense_algebra_and_truncates() -> None:
    rng = np.random.default_rng(5)
    a = rng.normal(size=(3, 2, 4)) + 1j * rng.normal(size=(3, 2, 4))
    b = rng.normal(size=(4, 2, 2)) + 1j * rng.normal(size=(4, 2, 2))
    u = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))[0]
    theta = np.einsum("xy,ayb->axb", u, np.tensordot(a, b, axes=(2, 0)).reshape(3, 4, 2))
    na, nb, dropped, total = two_site(a, b, u, 1e-16, 64)
    assert dropped == 0.0 and abs(total - np.vdot(theta, theta).real) < 1e-9
    assert np.allclose(np.tensordot(na, nb, axes=(2, 0)).reshape(3, 4, 2), theta)
    ta, _, dropped, _ = two_site(a, b, u, 1e-16, 2)
    assert ta.shape == (3, 2, 2) and dropped > 0.0


def test_product_errors_skip_the_svd() -> None:
    xz = np.kron(np.array([[0, 1], [1, 0]]), np.diag([1, -1])).astype(np.complex128)
    factors = product_factors(xz)
    assert factors is not None and np.allclose(np.kron(*factors), xz)
    assert product_factors(np.eye(4, dtype=np.complex128)[[0, 1, 3, 2]]) is None  # CX is entangling
    state = MPS(3)
    state.apply((0,), np.array([[1, 1], [1, -1]]) / np.sqrt(2))
    state.apply((0, 1), np.eye(4, dtype=np.complex128)[[0, 1, 3, 2]])
    bonds = list(state.bond_dimensions)
    state.apply((1, 0), xz)
    assert state.bond_dimensions == bonds  # no split, no new bond


def test_noisy_mps_walk_follows_the_density_matrix_with_reversed_gates() -> None:
    qc = Circuit(6, 6)
    rng = np.random.default_rng(2)
    for layer in range(5):
        for q in range(6):
            qc.u3(*[float(x) for x in rng.uniform(0, np.pi, 3)], q)
        for q in range(layer % 2, 5, 2):
            qc.cx(q + 1, q) if layer % 3 == 0 else qc.cx(q, q + 1)
    qc.cx(0, 5)
    qc.measure(list(range(6)), list(range(6)))
    nm = _noise()
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=5000, seed=4, noise=nm, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6
    assert res.metadata["trajectories"] < 5000


def test_noisy_mps_chunks_merge_to_the_engines_own_counts() -> None:
    """The fan-out runs ``run_chunk`` per seeded chunk; merged, that is exactly the engine's local run."""
    qc = Circuit(8, 8).h(0)
    for q in range(7):
        qc.cx(q, q + 1)
    qc.t(2).measure(list(range(8)), list(range(8)))
    nm = _noise()
    local = simulate(qc, shots=700, seed=13, noise=nm, engine="mps", engine_options={"chunk_shots": 256})
    assert local.metadata["chunks"] == 3
    children = np.random.SeedSequence(13).spawn(3)
    parts = [run_chunk(qc, count, child, nm, "mps") for count, child in zip([256, 256, 188], children, strict=True)]
    assert merge_results(parts).counts == local.counts


def test_one_qubit_kraus_channels_on_the_mps_follow_the_density_matrix() -> None:
    qc = Circuit(4, 4).h(0).cx(0, 1).x(2).h(3).cx(3, 2)
    qc.measure(list(range(4)), list(range(4)))
    nm = NoiseModel()
    nm.add_gate_error(amplitude_damping(0.3), ["h", "x"])
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=3000, seed=6, noise=nm, engine="mps")
    assert chi2_pvalue(res.counts, exact) > 1e-6
