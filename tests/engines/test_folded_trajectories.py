"""Trajectories with each shot's errors folded into the fused step they fall in (:class:`FoldedWalker`).

A shot's branches at one step are multiplied into that step's block matrix (``E_m ... E_1 B``), so an error costs
no kernel pass of its own: a 20-qubit shot then takes exactly the ideal circuit's passes. The errors here are
mixtures of non-commuting unitaries (an ``rx`` kick, a random two-qubit unitary), so a wrong order inside a step
changes the state, not only its phase; the oracles are the unfused body applied gate by gate with the same drawn
branches, and the density matrix engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _qasmbench import chi2_pvalue

from xihe.engines import NoiseModel, simulate
from xihe.engines.branching import FoldedWalker, FusedNoisyBody, draw_branches, paths_of
from xihe.engines.channels import Channel, depolarizing
from xihe.engines.program import lower
from xihe.engines.statevector import apply_instr, zero_state
from xihe.testing import random_circuit


def _rx(theta: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -1j * s], [-1j * s, c]])


def _noise() -> NoiseModel:
    """Strong coherent mixtures (several errors share a step in most shots) and depolarizing."""
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4)))
    nm = NoiseModel()
    nm.add_gate_error(Channel([math.sqrt(0.85) * np.eye(2), math.sqrt(0.15) * _rx(0.7)], "kick"), "*")
    nm.add_gate_error(Channel([math.sqrt(0.8) * np.eye(4), math.sqrt(0.2) * q], "u2"), ["cx", "cz", "swap", "cp"])
    nm.add_gate_error(depolarizing(0.05, 2), ["cx"])
    return nm


@pytest.mark.parametrize(("seed", "max_depth"), [(0, 16), (1, 1), (2, 0)])
def test_folded_walk_states_equal_gate_by_gate_trajectories(seed: int, max_depth: int) -> None:
    qc = random_circuit(6, 10, seed=seed, measure=True)
    prog = lower(qc, _noise())
    n = prog.num_qubits
    fused = FusedNoisyBody(prog.body, 4)
    rng = np.random.default_rng(seed)
    where, branch = draw_branches(prog.body, 60, rng)
    paths = paths_of(where, branch, fused.place)
    assert any(len({e[0] for e in p}) < len(p) for p in paths)  # some shots have several errors in one step
    finals: dict[int, np.ndarray] = {}

    def finish(state: np.ndarray, members: list[int]) -> None:
        for s in members:
            finals[s] = state.copy()

    walker: FoldedWalker[np.ndarray] = FoldedWalker(
        len(fused.steps), lambda st, a, b: fused.advance(st, n, a, b), np.copy,
        lambda st, entries: fused.hit_folded(st, n, entries), finish, max_depth)
    walker.walk(zero_state(n), paths)
    assert sorted(finals) == list(range(60))
    assert walker.runs == len(set(paths))
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


def test_a_shots_errors_cost_no_kernel_pass() -> None:
    qc = random_circuit(6, 10, seed=4, measure=True)
    prog = lower(qc, _noise())
    n = prog.num_qubits
    fused = FusedNoisyBody(prog.body, 4)
    where, branch = draw_branches(prog.body, 20, np.random.default_rng(4))
    passes = [0]

    def advance(state: np.ndarray, a: int, b: int) -> None:
        passes[0] += sum(ins is not None for ins in fused.steps[a:b])
        fused.advance(state, n, a, b)

    def hit(state: np.ndarray, entries: tuple[tuple[int, int, int], ...]) -> None:
        passes[0] += 1
        fused.hit_folded(state, n, entries)

    for path in paths_of(where, branch, fused.place):
        assert path  # at this noise every shot has errors
        passes[0] = 0
        walker: FoldedWalker[np.ndarray] = FoldedWalker(len(fused.steps), advance, np.copy, hit,
                                                        lambda st, m: None)
        walker.walk(zero_state(n), [path])
        bare = {e[0] for e in path if fused.steps[e[0]] is None}  # channel-only steps: a pass when hit
        assert passes[0] == sum(ins is not None for ins in fused.steps) + len(bare)


@pytest.mark.parametrize("seed", range(2))
def test_folded_trajectories_follow_the_density_matrix(seed: int) -> None:
    qc = random_circuit(5, 9, seed=30 + seed, measure=True)
    nm = _noise()
    exact = simulate(qc, shots=0, noise=nm, engine="density_matrix").exact_probabilities
    assert exact is not None
    res = simulate(qc, shots=6000, seed=seed, noise=nm, engine="trajectories", engine_options={"processes": 1})
    assert chi2_pvalue(res.counts, exact) > 1e-6
