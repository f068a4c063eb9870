"""The trajectories engine: noisy simulation of larger circuits by sampling one Kraus branch per channel per shot.

Each shot evolves its own state vector. At a channel with Kraus operators ``K_k`` the branch is drawn with the
standard norm-based rule: draw ``r`` uniform, compute ``p_k = ||K_k psi||^2`` in order and take the first ``k``
whose running sum passes ``r``, then renormalise. Channels that are mixtures of unitaries (depolarizing, Pauli)
have state-independent probabilities and are sampled directly. Measurements, resets and conditions are simulated
per shot, and the shot's outcome is drawn from its final state.

When every channel is a mixture of unitaries and the circuit is not dynamic, a chunk's shots do not run one by
one: their branches are drawn up front and the shots are walked as a prefix tree over their errors, with the ideal
gates fused around them and each shot's errors folded into the fused step they fall in
(:mod:`xihe.engines.branching`); one final state serves every shot of a leaf. With other
channels (relaxation: a twin's noise) a non-dynamic circuit is walked the same way over the events of the channels'
identity split, with a classical tail (:mod:`xihe.engines.jumps`); only dynamic circuits run shot by shot.

``precision="single"`` runs the state in complex64 (as Aer's ``precision="single"``); see
:mod:`xihe.engines.statevector` for its tolerance.

Shots are split into fixed chunks (:mod:`xihe.engines.chunks`) seeded from ``SeedSequence(seed).spawn``; chunks run
in worker processes when there are enough of them, and counts never depend on how many processes ran them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numba
import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.engines import kernels
from xihe.engines.base import (
    check_memory,
    check_shots,
    metadata,
    precision_dtype,
    register_engine,
    resolve_seed,
)
from xihe.engines.branching import FoldedWalker, FusedNoisyBody, draw_branches, mixture_only, paths_of
from xihe.engines.chunks import DEFAULT_CHUNK_SHOTS, plan_chunks
from xihe.engines.costs import PROCESS_MIN_QUBITS, shared_depth, trajectories_memory
from xihe.engines.fusion import fuse
from xihe.engines.jumps import EventOperators, JumpWalk, apply_tail, classical_tail, draw_events
from xihe.engines.noise import NoiseModel
from xihe.engines.program import Instr, Program, lower, set_flag
from xihe.engines.sampling import (
    apply_readout,
    marginal_probabilities,
    rows_to_counts,
    sample_indices,
    terminal_rows,
)
from xihe.engines.statevector import DEFAULT_FUSION_QUBITS, apply_instr, positions, zero_state
from xihe.errors import ExecutionError
from xihe.results import Result


def _apply_channel(state: np.ndarray, n: int, ins: Instr, rng: np.random.Generator) -> None:
    ch = ins.channel
    assert ch is not None
    table = ch.sampling_table
    if table is not None:
        cumulative, unitaries = table
        k = min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), len(unitaries) - 1)
        chosen = unitaries[k]
        if chosen is not None:
            _apply_matrix(state, n, ins.qubits, chosen)
        return
    # Norm-based branch sampling: the first Kraus branch whose running weight passes r.
    r = rng.random() * kernels.norm_squared(state)
    acc = 0.0
    chosen, chosen_weight = state, 1.0
    for kraus in ch.kraus:
        candidate = state.copy()
        _apply_matrix(candidate, n, ins.qubits, kraus)
        weight = kernels.norm_squared(candidate)
        if weight > 0:
            chosen, chosen_weight = candidate, weight  # rounding can leave r past the total: keep the last branch
        acc += weight
        if r < acc and weight > 0:
            break
    state[:] = chosen / math.sqrt(chosen_weight)


def _apply_matrix(state: np.ndarray, n: int, qubits: tuple[int, ...], m: np.ndarray) -> None:
    if len(qubits) == 1:
        kernels.apply_1q(state, n - 1 - qubits[0], np.ascontiguousarray(m))
    else:
        kernels.apply_dense(state, positions(qubits, n), np.ascontiguousarray(m))


def run_shot(prog: Program, body: list[Instr], rng: np.random.Generator, row: np.ndarray,
             measured: list[int], dtype: type = np.complex128) -> None:
    """One trajectory: evolve, measure mid-circuit as drawn, then write the shot's terminal bits into ``row``."""
    n = prog.num_qubits
    state = zero_state(n, dtype)
    clbits = 0
    for ins in body:
        if ins.condition is not None and not ins.condition.holds(clbits):
            continue
        kind = ins.kind
        if kind == "flag":
            clbits = set_flag(ins, clbits)
        elif kind == "channel":
            _apply_channel(state, n, ins, rng)
        elif kind in ("measure", "reset"):
            p = n - 1 - ins.qubits[0]
            total = kernels.norm_squared(state)
            p1 = kernels.probability_of_one(state, p) / total
            outcome = 1 if rng.random() < p1 else 0
            scale = 1.0 / math.sqrt((p1 if outcome else 1.0 - p1) * total)
            if kind == "reset" and outcome == 1:
                kernels.reset_to_zero(state, p, scale)
            else:
                kernels.collapse(state, p, outcome, scale)
            if kind == "measure":
                bit = outcome
                if ins.readout is not None:
                    bit = int(apply_readout(np.array([outcome], dtype=np.uint8), ins.readout, rng)[0])
                clbits = (clbits & ~(1 << ins.clbit)) | (bit << ins.clbit)
        else:
            apply_instr(state, n, ins)
    for c in range(prog.num_clbits):
        row[c] = (clbits >> c) & 1
    if measured:
        probs = marginal_probabilities(kernels.probabilities(state), n, measured)
        idx = sample_indices(probs, 1, rng)
        k = len(measured)
        for ins in prog.terminal:
            bit = (int(idx[0]) >> (k - 1 - measured.index(ins.qubits[0]))) & 1
            if ins.readout is not None:
                bit = int(apply_readout(np.array([bit], dtype=np.uint8), ins.readout, rng)[0])
            row[ins.clbit] = bit


def run_rows_shared(prog: Program, shots: int, rng: np.random.Generator, fusion_qubits: int = DEFAULT_FUSION_QUBITS,
                    dtype: type = np.complex128) -> tuple[np.ndarray, int]:
    """Rows of ``shots`` trajectories of a mixture-noise, non-dynamic program, walked as a prefix tree over their
    drawn errors (:mod:`xihe.engines.branching`); also the number of distinct trajectories computed."""
    n = prog.num_qubits
    fused = FusedNoisyBody(prog.body, fusion_qubits)
    where, branch = draw_branches(prog.body, shots, rng)
    paths = paths_of(where, branch, fused.place)
    measured = list(dict.fromkeys(ins.qubits[0] for ins in prog.terminal))
    rows = np.zeros((shots, prog.num_clbits), dtype=np.uint8)

    def finish(state: np.ndarray, members: list[int]) -> None:
        if not measured:
            return
        block = np.zeros((len(members), prog.num_clbits), dtype=np.uint8)
        probs = marginal_probabilities(kernels.probabilities(state), n, measured)
        terminal_rows(sample_indices(probs, len(members), rng), measured, prog.terminal, block, rng)
        rows[members] = block

    walker: FoldedWalker[np.ndarray] = FoldedWalker(
        len(fused.steps), lambda st, a, b: fused.advance(st, n, a, b), np.copy,
        lambda st, entries: fused.hit_folded(st, n, entries), finish, shared_depth(n))
    walker.walk(zero_state(n, dtype), paths)
    return rows, walker.runs


def run_rows_jumps(prog: Program, shots: int, rng: np.random.Generator, fusion_qubits: int = DEFAULT_FUSION_QUBITS,
                   dtype: type = np.complex128) -> tuple[np.ndarray, int]:
    """Rows of ``shots`` trajectories of a non-dynamic program with channels that are no unitary mixtures
    (relaxation), walked together over the events of their identity split with a classical tail
    (:mod:`xihe.engines.jumps`); also the number of distinct trajectories computed."""
    n = prog.num_qubits
    measured = list(dict.fromkeys(ins.qubits[0] for ins in prog.terminal))
    body, tail = classical_tail(prog, measured)
    fused = FusedNoisyBody(body, fusion_qubits, all_channels=True)
    sites = [tuple(sorted(q)) for q in fused.qubits]
    rows = np.zeros((shots, prog.num_clbits), dtype=np.uint8)

    def density(state: np.ndarray, step: int) -> np.ndarray:
        qubits = sites[step]
        k = len(qubits)
        m = np.moveaxis(state.reshape((2,) * n), qubits, range(k)).reshape(1 << k, -1)  # qubit 0 is axis 0
        return np.asarray(m @ m.conj().T, dtype=np.complex128)

    def apply(state: np.ndarray, step: int, op: np.ndarray, unitary: bool) -> None:
        _apply_matrix(state, n, sites[step], op)
        if not unitary:
            state /= math.sqrt(kernels.norm_squared(state))

    def finish(state: np.ndarray, members: np.ndarray) -> None:
        if not measured:
            return
        probs = marginal_probabilities(kernels.probabilities(state), n, measured)
        idx = sample_indices(probs, len(members), rng)
        bits = np.zeros((len(members), n), dtype=np.uint8)
        k = len(measured)
        for j, q in enumerate(measured):
            bits[:, q] = (idx >> (k - 1 - j)) & 1
        apply_tail(bits, tail, rng)
        block = np.zeros((len(members), prog.num_clbits), dtype=np.uint8)
        for ins in prog.terminal:
            bit = bits[:, ins.qubits[0]]
            block[:, ins.clbit] = apply_readout(bit, ins.readout, rng) if ins.readout is not None else bit
        rows[members] = block

    walk: JumpWalk[np.ndarray] = JumpWalk(len(fused.steps), lambda st, a, b: fused.advance(st, n, a, b), np.copy,
                                          EventOperators(fused, body), density, apply, finish, rng)
    walk.walk(zero_state(n, dtype), draw_events(body, shots, rng, fused.place), shots)
    return rows, walk.runs


def run_rows(circuit: Circuit, shots: int, seed_seq: np.random.SeedSequence, noise: NoiseModel | None,
             fusion_qubits: int = DEFAULT_FUSION_QUBITS, precision: str = "double") -> np.ndarray:
    """Classical rows of ``shots`` trajectories drawn with a generator seeded by ``seed_seq``."""
    prog = lower(circuit, noise)
    dtype = precision_dtype(precision)
    rng = np.random.default_rng(seed_seq)
    if not prog.is_dynamic and mixture_only(prog):
        return run_rows_shared(prog, shots, rng, fusion_qubits, dtype)[0]
    if not prog.is_dynamic:
        return run_rows_jumps(prog, shots, rng, fusion_qubits, dtype)[0]
    body = fuse(prog.body, fusion_qubits)
    measured = list(dict.fromkeys(ins.qubits[0] for ins in prog.terminal))
    rows = np.zeros((shots, prog.num_clbits), dtype=np.uint8)
    for s in range(shots):
        run_shot(prog, body, rng, rows[s], measured, dtype)
    return rows


ChunkJob = tuple[Circuit, int, np.random.SeedSequence, NoiseModel | None, str]


def _run_chunk_rows(args: ChunkJob) -> np.ndarray:
    circuit, shots, seq, noise, precision = args
    return run_rows(circuit, shots, seq, noise, precision=precision)


def _serial_kernels() -> None:
    """A chunk worker process runs its kernels on one thread: the processes already use the cores, and parallel
    kernel launches in every process would put two threads per core on a two-core machine."""
    numba.set_num_threads(1)


def _run_all(jobs: list[ChunkJob], processes: int) -> list[np.ndarray]:
    """Run the chunks, in worker processes when it pays; results are in chunk order either way."""
    if processes > 1 and len(jobs) > 1:
        try:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=processes, mp_context=ctx, initializer=_serial_kernels) as pool:
                return list(pool.map(_run_chunk_rows, jobs))
        except (AssertionError, OSError, RuntimeError):
            pass  # e.g. inside a daemonic worker process, which may not have children: run here instead
    return [_run_chunk_rows(job) for job in jobs]


@register_engine
class TrajectoriesEngine:
    """Noisy simulation by sampled Kraus branches; one state vector per shot, shots in fixed seeded chunks."""

    name = "trajectories"

    def __init__(self, chunk_shots: int = DEFAULT_CHUNK_SHOTS, processes: int | None = None,
                 max_memory_bytes: int | None = None, precision: str = "double") -> None:
        self.chunk_shots = chunk_shots
        self.processes = processes
        self.max_memory_bytes = max_memory_bytes
        self.precision = precision
        self.dtype = precision_dtype(precision)

    def estimate_memory(self, circuit: Circuit) -> int:
        """:func:`xihe.engines.costs.trajectories_memory`."""
        return trajectories_memory(circuit, self.precision)

    def run(self, circuit: Circuit, shots: int = 1024, seed: int | None = None, noise: NoiseModel | None = None,
            memory: bool = False) -> Result:
        started = time.perf_counter()
        shots = check_shots(shots)
        if shots == 0:
            raise ExecutionError("the trajectories engine samples shots: give shots > 0")
        seed = resolve_seed(seed)
        check_memory(self.name, self.estimate_memory(circuit), self.max_memory_bytes,
                     f"{circuit.num_qubits}-qubit trajectories")
        plan = plan_chunks(shots, self.chunk_shots)
        children = np.random.SeedSequence(seed).spawn(len(plan))
        jobs = [(circuit, count, child, noise, self.precision) for count, child in zip(plan, children, strict=True)]
        processes = self.processes if self.processes is not None else min(len(plan), os.cpu_count() or 1)
        parts = _run_all(jobs, processes if circuit.num_qubits >= PROCESS_MIN_QUBITS else 1)
        rows = np.concatenate(parts) if parts else np.zeros((0, circuit.num_clbits), dtype=np.uint8)
        counts, mem = rows_to_counts(rows, memory)
        return Result(counts=counts, shots=shots, memory=mem,
                      metadata=metadata(self.name, seed, started, num_qubits=circuit.num_qubits,
                                        chunks=len(plan), chunk_shots=self.chunk_shots, precision=self.precision))
