"""The statevector engine: exact pure-state simulation with fused gates and compiled kernels.

Fast path: the body of a circuit whose measurements are all terminal is fused (:mod:`xihe.engines.fusion`) and
applied once; every shot is then drawn from the one final state. Dynamic circuits (mid-circuit measurement,
``reset``, ``if``) are run as a tree over outcomes: at each measurement the shots of a branch are split
binomially between the outcomes and each non-empty branch continues with its own projected state, so each shot
follows the exact measurement statistics without simulating shots one by one.

Precision: ``precision="double"`` (complex128, the default) keeps the 1e-9 fidelity contract. ``"single"``
(complex64, as Aer's and qsim's single precision) halves the memory and runs the kernels on twice as many lanes
per vector; its documented tolerance (:data:`SINGLE_PRECISION_TOLERANCE`) is ``1 - fidelity <= 1e-5`` against
double and each probability within ``1e-5``, on circuits of up to a few thousand gates (the tests check it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.engines import kernels, small_state
from xihe.engines.base import (
    check_memory,
    check_shots,
    metadata,
    precision_dtype,
    register_engine,
    resolve_seed,
)
from xihe.engines.costs import statevector_memory
from xihe.engines.fusion import fuse
from xihe.engines.noise import NoiseModel
from xihe.engines.program import Instr, Program, lower, set_flag
from xihe.engines.sampling import (
    int_to_row,
    marginal_probabilities,
    measured_distribution,
    row_keys,
    rows_to_counts,
    sample_indices,
    terminal_rows,
)
from xihe.errors import ExecutionError
from xihe.results import Result

DEFAULT_FUSION_QUBITS = 4
# Widest block of diagonal gates only (controlled phases, rz): its diagonal is a table of 2^k entries (16 KiB at
# 10 qubits in double precision) applied with one lookup per amplitude, so wider blocks save passes for free.
DIAGONAL_FUSION_QUBITS = 10
# 1 - fidelity against double precision (and each probability's error) that single precision stays within.
SINGLE_PRECISION_TOLERANCE = 1e-5


def positions(qubits: tuple[int, ...], num_qubits: int) -> np.ndarray:
    """Bit positions of ``qubits`` in the amplitude index (qubit 0 is the most significant bit)."""
    return np.array([num_qubits - 1 - q for q in qubits], dtype=np.int64)


def apply_instr(state: np.ndarray, num_qubits: int, ins: Instr) -> None:
    """Apply one unitary, diagonal or controlled instruction in place."""
    m = ins.matrix
    assert m is not None
    if ins.kind == "unitary":
        if len(ins.qubits) == 1:
            kernels.apply_1q(state, num_qubits - 1 - ins.qubits[0], m)
        else:
            kernels.apply_dense(state, positions(ins.qubits, num_qubits), m)
    elif ins.kind == "diagonal":
        kernels.apply_diagonal(state, positions(ins.qubits, num_qubits), m)
    elif ins.kind == "controlled":
        mask = 0
        for q in ins.qubits[:-1]:
            mask |= 1 << (num_qubits - 1 - q)
        kernels.apply_controlled_1q(state, mask, num_qubits - 1 - ins.qubits[-1], m)
    else:
        raise ExecutionError(f"the statevector engine cannot apply '{ins.kind}' ({ins.name})")


def zero_state(num_qubits: int, dtype: type = np.complex128) -> np.ndarray:
    state: np.ndarray = np.zeros(1 << num_qubits, dtype=dtype)
    state[0] = 1.0
    return state


def apply_fused(state: np.ndarray, prog: Program, fusion_qubits: int = DEFAULT_FUSION_QUBITS) -> int:
    """The general path: ``prog``'s (measurement-free) body fused into blocks, each applied by the kernels to
    ``state`` in place; returns the number of kernel passes."""
    body = fuse(prog.body, fusion_qubits, DIAGONAL_FUSION_QUBITS, pair_disjoint=True)
    for ins in body:
        apply_instr(state, prog.num_qubits, ins)
    return len(body)


def final_state(prog: Program, fusion_qubits: int = DEFAULT_FUSION_QUBITS, stats: dict | None = None,
                dtype: type = np.complex128) -> np.ndarray:
    """The state after the (measurement-free) body of ``prog``; ``stats`` gets the number of kernel passes.

    A small state (:mod:`xihe.engines.small_state`) runs its gates unfused in one compiled call; any other is
    fused into blocks applied by the kernels."""
    state = zero_state(prog.num_qubits, dtype)
    if small_state.takes(prog.num_qubits, prog.body):
        small_state.apply_body(state, prog.num_qubits, prog.body)
        passes = len(prog.body)
    else:
        passes = apply_fused(state, prog, fusion_qubits)
    if stats is not None:
        stats["kernel_passes"] = passes
        stats["gates"] = len(prog.body)
    return state


@dataclass
class _Branch:
    state: np.ndarray
    pc: int
    shots: int
    clbits: int


# An outcome this improbable is treated as impossible: projecting it away changes amplitudes by < 1e-14.
CERTAIN = 1e-28


def _measure_split(state: np.ndarray, n: int, q: int, shots: int, rng: np.random.Generator
                   ) -> list[tuple[int, int, float]]:
    """Outcomes of measuring qubit ``q`` on ``shots`` shots: ``[(outcome, shots, probability)]`` non-empty.

    The state is kept normalised (unitaries and renormalised projections), so one half-pass gives ``p1``.
    """
    p1 = min(max(kernels.probability_of_one(state, n - 1 - q), 0.0), 1.0)
    n1 = int(rng.binomial(shots, p1))
    return [(o, s, p) for o, s, p in ((0, shots - n1, 1.0 - p1), (1, n1, p1)) if s > 0]


def run_dynamic(prog: Program, shots: int, rng: np.random.Generator, fusion_qubits: int,
                dtype: type = np.complex128) -> list[tuple[np.ndarray, int, int]]:
    """Run a dynamic body as a tree over outcomes; returns ``[(final state, shots, clbits)]`` per leaf."""
    n = prog.num_qubits
    body = fuse(prog.body, fusion_qubits, DIAGONAL_FUSION_QUBITS, pair_disjoint=True)
    leaves: list[tuple[np.ndarray, int, int]] = []
    stack = [_Branch(zero_state(n, dtype), 0, shots, 0)]
    while stack:
        br = stack.pop()
        while br.pc < len(body):
            ins = body[br.pc]
            br.pc += 1
            if ins.condition is not None and not ins.condition.holds(br.clbits):
                continue
            if ins.kind == "flag":
                br.clbits = set_flag(ins, br.clbits)
            elif ins.kind in ("measure", "reset"):
                children = _branch_on(br, ins, n, rng)
                br = children[0]
                stack.extend(reversed(children[1:]))
            else:
                apply_instr(br.state, n, ins)
        leaves.append((br.state, br.shots, br.clbits))
    return leaves


def _branch_on(br: _Branch, ins: Instr, n: int, rng: np.random.Generator) -> list[_Branch]:
    """Split a branch at a measurement or reset; the first child reuses the branch's state."""
    q = ins.qubits[0]
    p = n - 1 - q
    outcomes = _measure_split(br.state, n, q, br.shots, rng)
    children: list[_Branch] = []
    for i, (outcome, count, prob) in enumerate(outcomes):
        state = br.state if i == len(outcomes) - 1 else br.state.copy()
        certain = prob >= 1.0 - CERTAIN
        scale = 1.0 / math.sqrt(prob) if prob > 0 else 0.0
        if ins.kind == "reset":
            if outcome == 1:
                kernels.reset_to_zero(state, p, scale)
            elif not certain:  # a qubit already in |0> needs nothing
                kernels.collapse(state, p, 0, scale)
            children.append(_Branch(state, br.pc, count, br.clbits))
            continue
        if not certain:
            kernels.collapse(state, p, outcome, scale)
        recorded = _readout_split(outcome, count, ins.readout, rng)
        for j, (bit, k) in enumerate(recorded):
            st = state if j == len(recorded) - 1 else state.copy()
            clbits = (br.clbits & ~(1 << ins.clbit)) | (bit << ins.clbit)
            children.append(_Branch(st, br.pc, k, clbits))
    return children


def _readout_split(outcome: int, count: int, readout: tuple[float, float] | None, rng: np.random.Generator
                   ) -> list[tuple[int, int]]:
    """How many of ``count`` shots record ``outcome`` and how many its flip (readout confusion)."""
    if readout is None:
        return [(outcome, count)]
    flip_p = readout[0] if outcome == 0 else readout[1]
    flipped = int(rng.binomial(count, flip_p))
    return [(b, k) for b, k in ((outcome, count - flipped), (1 - outcome, flipped)) if k > 0]


def sample_leaves(prog: Program, leaves: list[tuple[np.ndarray, int, int]], rng: np.random.Generator
                  ) -> np.ndarray:
    """Rows of classical bits for every shot: each leaf's record plus its terminal samples."""
    total = sum(s for _, s, _ in leaves)
    rows = np.zeros((total, prog.num_clbits), dtype=np.uint8)
    measured = list(dict.fromkeys(ins.qubits[0] for ins in prog.terminal))
    at = 0
    for state, count, clbits in leaves:
        block = rows[at:at + count]
        block[:] = int_to_row(clbits, prog.num_clbits)
        if measured:
            probs = marginal_probabilities(kernels.probabilities(state), prog.num_qubits, measured)
            terminal_rows(sample_indices(probs, count, rng), measured, prog.terminal, block, rng)
        at += count
    return rows


# Exact probabilities are listed only up to this many measured qubits (a dict of 2^16 keys is already large).
EXACT_MAX_QUBITS = 16


def exact_terminal_probabilities(prog: Program, state: np.ndarray, max_entries: int = 1 << EXACT_MAX_QUBITS
                                 ) -> dict[str, float] | None:
    """Exact probabilities of the count keys from a final state (readout confusion included).

    ``None`` when more than :data:`EXACT_MAX_QUBITS` qubits are measured (or, with no measurement, the circuit is
    wider than that): the statevector itself is the exact answer then.
    """
    n = prog.num_qubits
    width = len({ins.qubits[0] for ins in prog.terminal}) if prog.terminal else n
    if width > EXACT_MAX_QUBITS:
        return None
    probs = kernels.probabilities(state)
    if not prog.terminal:
        measured = list(range(n))
        keep = np.flatnonzero(probs > 1e-15)
        if keep.size > max_entries:
            return None
        bits = ((keep[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)
        return dict(zip(row_keys(bits), probs[keep].tolist(), strict=True))
    flat, measured = measured_distribution(probs, n, prog.terminal)
    keep = np.flatnonzero(flat > 1e-15)
    if keep.size > max_entries:
        return None
    rows = np.zeros((keep.size, prog.num_clbits), dtype=np.uint8)
    k = len(measured)
    for ins in prog.terminal:
        rows[:, ins.clbit] = (keep >> (k - 1 - measured.index(ins.qubits[0]))) & 1
    keys = row_keys(rows)
    if len({ins.clbit for ins in prog.terminal}) == len(prog.terminal) == len(measured):
        return dict(zip(keys, flat[keep].tolist(), strict=True))  # one clbit per qubit: keys are distinct
    out: dict[str, float] = {}
    for key, p in zip(keys, flat[keep].tolist(), strict=True):
        out[key] = out.get(key, 0.0) + p
    return out


@register_engine
class StatevectorEngine:
    """Exact pure-state simulation (noise: readout confusion only; use trajectories for gate noise)."""

    name = "statevector"

    def __init__(self, fusion_qubits: int = DEFAULT_FUSION_QUBITS, max_memory_bytes: int | None = None,
                 precision: str = "double") -> None:
        self.fusion_qubits = fusion_qubits
        self.max_memory_bytes = max_memory_bytes
        self.dtype = precision_dtype(precision)
        self.precision = precision

    def estimate_memory(self, circuit: Circuit) -> int:
        """:func:`xihe.engines.costs.statevector_memory`."""
        return statevector_memory(circuit, self.precision)

    def run(self, circuit: Circuit, shots: int = 1024, seed: int | None = None, noise: NoiseModel | None = None,
            memory: bool = False) -> Result:
        started = time.perf_counter()
        shots = check_shots(shots)
        seed = resolve_seed(seed)
        check_memory(self.name, self.estimate_memory(circuit), self.max_memory_bytes,
                     f"a {circuit.num_qubits}-qubit statevector")
        prog = lower(circuit, noise)
        if prog.has_channels:
            raise ExecutionError("the statevector engine runs ideal circuits (readout error only); "
                                 "use engine='density_matrix' or 'trajectories' for gate or relaxation noise")
        rng = np.random.default_rng(seed)
        stats: dict[str, int] = {}
        if shots == 0:
            if prog.is_dynamic:
                raise ExecutionError("shots=0 asks for the final statevector, which a circuit with mid-circuit "
                                     "measurement, reset or conditions does not have; give shots > 0")
            state = final_state(prog, self.fusion_qubits, stats, self.dtype)
            return Result(counts={}, shots=0, statevector=state,
                          exact_probabilities=exact_terminal_probabilities(prog, state),
                          metadata=metadata(self.name, seed, started, num_qubits=circuit.num_qubits,
                                            precision=self.precision, **stats))
        if prog.is_dynamic:
            leaves = run_dynamic(prog, shots, rng, self.fusion_qubits, self.dtype)
        else:
            leaves = [(final_state(prog, self.fusion_qubits, stats, self.dtype), shots, 0)]
        rows = sample_leaves(prog, leaves, rng)
        if len(leaves) > 1:
            rows = rows[rng.permutation(rows.shape[0])]
        counts, mem = rows_to_counts(rows, memory)
        return Result(counts=counts, shots=shots, memory=mem,
                      metadata=metadata(self.name, seed, started, num_qubits=circuit.num_qubits,
                                        branches=len(leaves), precision=self.precision, **stats))
