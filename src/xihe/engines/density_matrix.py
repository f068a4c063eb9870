"""The density matrix engine: exact noisy simulation (up to about 13 qubits).

The ``2^n x 2^n`` matrix is stored flattened row-major, which is a ``2n``-qubit vector whose first ``n`` qubits
are the row index and last ``n`` the column index, so the statevector kernels do all the work: a gate ``U`` on
qubits ``Q`` is ``U`` on the row qubits and ``conj(U)`` on the column qubits ``n + Q``; a channel is its
superoperator ``sum_k K (x) conj(K)`` as one dense matrix on ``(Q, n + Q)``.

Mid-circuit measurements, resets and conditions are exact too: the engine keeps one unnormalised density matrix
per classical record (a mixture), projects on measurement, and merges branches that reach the same record.
Counts are drawn multinomially from the exact probabilities of the count keys.
"""

from __future__ import annotations

import time

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.engines import kernels
from xihe.engines.base import check_memory, check_shots, metadata, register_engine, resolve_seed
from xihe.engines.costs import density_matrix_memory
from xihe.engines.fusion import fuse_superoperators
from xihe.engines.noise import NoiseModel
from xihe.engines.program import Instr, Program, lower, set_flag
from xihe.engines.sampling import (
    counts_from_probabilities,
    measured_distribution,
    memory_from_counts,
)
from xihe.errors import ExecutionError
from xihe.results import Result

MAX_QUBITS = 14
# Widest superoperator block: 2 qubits is a 16 x 16 matrix on 4 bit positions of the vectorised state.
DEFAULT_SUPEROP_QUBITS = 2


def _row_positions(qubits: tuple[int, ...], n: int) -> np.ndarray:
    return np.array([2 * n - 1 - q for q in qubits], dtype=np.int64)


def _col_positions(qubits: tuple[int, ...], n: int) -> np.ndarray:
    return np.array([n - 1 - q for q in qubits], dtype=np.int64)


def apply_to_rho(rho: np.ndarray, n: int, ins: Instr) -> None:
    """Apply a gate or channel instruction to the flattened density matrix in place."""
    m = ins.matrix
    if ins.kind == "superop":
        assert m is not None
        kernels.apply_dense(rho, np.concatenate([_row_positions(ins.qubits, n), _col_positions(ins.qubits, n)]), m)
        return
    if ins.kind == "channel":
        assert ins.channel is not None
        pos = np.concatenate([_row_positions(ins.qubits, n), _col_positions(ins.qubits, n)])
        kernels.apply_dense(rho, pos, ins.channel.superoperator)
        return
    assert m is not None
    rows, cols = _row_positions(ins.qubits, n), _col_positions(ins.qubits, n)
    if ins.kind == "unitary":
        if len(ins.qubits) == 1:
            kernels.apply_1q(rho, int(rows[0]), m)
            kernels.apply_1q(rho, int(cols[0]), np.ascontiguousarray(m.conj()))
        else:
            kernels.apply_dense(rho, rows, m)
            kernels.apply_dense(rho, cols, np.ascontiguousarray(m.conj()))
    elif ins.kind == "diagonal":
        kernels.apply_diagonal(rho, np.concatenate([rows, cols]), np.kron(m, m.conj()))
    elif ins.kind == "controlled":
        for pos, mat in ((rows, m), (cols, np.ascontiguousarray(m.conj()))):
            mask = 0
            for p in pos[:-1]:
                mask |= 1 << int(p)
            kernels.apply_controlled_1q(rho, mask, int(pos[-1]), mat)
    else:
        raise ExecutionError(f"the density matrix engine cannot apply '{ins.kind}'")


def _trace(rho: np.ndarray, n: int) -> float:
    return float(np.real(np.trace(rho.reshape(1 << n, 1 << n))))


def _project(rho: np.ndarray, n: int, q: int, outcome: int) -> np.ndarray:
    """``P rho P`` for the projector on ``outcome`` of qubit ``q`` (a new array)."""
    out = rho.copy()
    kernels.collapse(out, 2 * n - 1 - q, outcome, 1.0)
    kernels.collapse(out, n - 1 - q, outcome, 1.0)
    return out


def _measure(branches: dict[int, np.ndarray], n: int, ins: Instr) -> dict[int, np.ndarray]:
    q, c = ins.qubits[0], ins.clbit
    out: dict[int, np.ndarray] = {}
    for clbits, rho in branches.items():
        if ins.condition is not None and not ins.condition.holds(clbits):
            _merge(out, clbits, rho)
            continue
        for outcome in (0, 1):
            proj = _project(rho, n, q, outcome)
            if _trace(proj, n) <= 1e-15:
                continue
            if ins.readout is None:
                recorded = [(outcome, 1.0)]
            else:
                flip = ins.readout[0] if outcome == 0 else ins.readout[1]
                recorded = [(outcome, 1.0 - flip), (1 - outcome, flip)]
            for bit, weight in recorded:
                if weight > 0:
                    _merge(out, (clbits & ~(1 << c)) | (bit << c), proj * weight)
    return out


def _reset(rho: np.ndarray, n: int, q: int) -> np.ndarray:
    zero = _project(rho, n, q, 0)
    one = _project(rho, n, q, 1)
    kernels.reset_to_zero(one, 2 * n - 1 - q, 1.0)
    kernels.reset_to_zero(one, n - 1 - q, 1.0)
    return zero + one


def _merge(out: dict[int, np.ndarray], clbits: int, rho: np.ndarray) -> None:
    if clbits in out:
        out[clbits] = out[clbits] + rho
    else:
        out[clbits] = rho


def evolve(prog: Program, fusion_qubits: int = DEFAULT_SUPEROP_QUBITS, stats: dict[str, int] | None = None
           ) -> dict[int, np.ndarray]:
    """Run the body: ``{classical record: unnormalised density matrix}`` (weights are the traces).

    Gates and channels are first fused into superoperators on at most ``fusion_qubits`` qubits
    (:func:`~xihe.engines.fusion.fuse_superoperators`): one pass over the state per block. ``stats`` (if
    given) receives ``instructions`` (before fusion) and ``kernel_passes`` (after).
    """
    n = prog.num_qubits
    rho = np.zeros(1 << (2 * n), dtype=np.complex128)
    rho[0] = 1.0
    branches = {0: rho}
    fused = fuse_superoperators(prog.body, fusion_qubits)
    if stats is not None:
        stats.update(instructions=len(prog.body), kernel_passes=len(fused))
    for ins in fused:
        if ins.kind == "measure":
            branches = _measure(branches, n, ins)
            continue
        if ins.kind == "flag":
            flagged: dict[int, np.ndarray] = {}
            for clbits, rho in branches.items():
                _merge(flagged, set_flag(ins, clbits), rho)
            branches = flagged
            continue
        for clbits in list(branches):
            if ins.condition is not None and not ins.condition.holds(clbits):
                continue
            if ins.kind == "reset":
                branches[clbits] = _reset(branches[clbits], n, ins.qubits[0])
            else:
                apply_to_rho(branches[clbits], n, ins)
    return branches


def key_probabilities(prog: Program, branches: dict[int, np.ndarray]) -> dict[str, float]:
    """Exact probabilities of the count keys (terminal measurements and readout confusion included)."""
    n = prog.num_qubits
    out: dict[str, float] = {}
    for clbits, rho in branches.items():
        diag = np.clip(np.real(np.diagonal(rho.reshape(1 << n, 1 << n))), 0.0, None)
        base = [(clbits >> i) & 1 for i in range(prog.num_clbits)]
        if not prog.terminal:
            key = "".join(map(str, base))
            out[key] = out.get(key, 0.0) + float(diag.sum())
            continue
        flat, measured = measured_distribution(diag, n, prog.terminal)
        k = len(measured)
        for idx in np.flatnonzero(flat > 1e-16):
            bits = list(base)
            for ins in prog.terminal:
                bits[ins.clbit] = (int(idx) >> (k - 1 - measured.index(ins.qubits[0]))) & 1
            key = "".join(map(str, bits))
            out[key] = out.get(key, 0.0) + float(flat[idx])
    total = sum(out.values())
    return {k: v / total for k, v in sorted(out.items())}


def final_density_matrix(circuit: Circuit, noise: NoiseModel | None = None) -> np.ndarray:
    """The flattened final density matrix of a circuit (measurements averaged over, i.e. the mixture)."""
    prog = lower(circuit, noise, defer_measurements=False)
    branches = evolve(prog)
    return sum(branches.values())  # type: ignore[return-value]


@register_engine
class DensityMatrixEngine:
    """Exact mixed-state simulation with any noise model; memory grows as ``16 * 4^n`` bytes."""

    name = "density_matrix"

    def __init__(self, max_memory_bytes: int | None = None, fusion_qubits: int = DEFAULT_SUPEROP_QUBITS) -> None:
        self.max_memory_bytes = max_memory_bytes
        self.fusion_qubits = fusion_qubits

    def estimate_memory(self, circuit: Circuit) -> int:
        """:func:`xihe.engines.costs.density_matrix_memory`."""
        return density_matrix_memory(circuit)

    def run(self, circuit: Circuit, shots: int = 1024, seed: int | None = None, noise: NoiseModel | None = None,
            memory: bool = False) -> Result:
        started = time.perf_counter()
        shots = check_shots(shots)
        seed = resolve_seed(seed)
        if circuit.num_qubits > MAX_QUBITS:
            raise ExecutionError(f"the density matrix engine takes at most {MAX_QUBITS} qubits, not "
                                 f"{circuit.num_qubits}; use engine='trajectories'")
        check_memory(self.name, self.estimate_memory(circuit), self.max_memory_bytes,
                     f"a {circuit.num_qubits}-qubit density matrix")
        prog = lower(circuit, noise)
        stats: dict[str, int] = {}
        probs = key_probabilities(prog, evolve(prog, self.fusion_qubits, stats))
        rng = np.random.default_rng(seed)
        counts = counts_from_probabilities(probs, shots, rng)
        return Result(counts=counts, shots=shots, memory=memory_from_counts(counts, rng) if memory else None,
                      exact_probabilities=probs,
                      metadata=metadata(self.name, seed, started, num_qubits=circuit.num_qubits, **stats))
