"""The matrix product state (MPS) engine: wide, weakly entangled circuits (GHZ states, shallow circuits).

The state of ``n`` qubits is a chain of tensors ``A[q]`` of shape ``(chi_left, 2, chi_right)``, qubit ``q`` on site
``q``, kept in mixed canonical form around one *centre* site (every site left of it left-orthonormal, every site
right of it right-orthonormal). A one-qubit gate multiplies its site. A ``k``-qubit gate first brings its qubits
next to each other with SWAPs, contracts the ``k`` sites, applies the matrix, splits the block back with SVDs and
SWAPs the qubits home. Each SVD drops the smallest singular values whose total weight (squared) is at most
``cutoff`` of the block's, and keeps at most ``max_bond_dimension`` of them; the dropped weight is added up as
the *truncation error* (``1 - fidelity`` is at most about that sum). With the default ``cutoff`` nothing but
round-off is dropped, so the engine is exact until the bond dimension reaches the cap.

Shots are drawn one qubit at a time from the canonical form (centre on site 0, all shots at once), which costs
``shots * n * chi^2``. Every result's metadata states ``bond_dimension`` (largest reached), ``truncation_error``,
``max_bond_dimension`` and ``cutoff``. Gate noise runs as seeded trajectories (:func:`sample_trajectories`):
shots that draw the same branches of unitary-mixture channels share one trajectory; other channels (relaxation)
are split into the identity and a remainder drawn up front, so error-free shots share too
(:mod:`xihe.engines.jumps`; ``trajectories`` in the metadata counts the runs). Noisy and sampled runs put the
qubits on the chain in an order that keeps two-qubit gates between neighbours (:mod:`xihe.engines.mps_layout`).

Before running, :func:`xihe.engines.bonds.bond_dimension_bound` bounds the bond dimension a circuit can reach (from
the operator Schmidt rank of each gate across each cut) and :func:`~xihe.engines.bonds.estimate_memory` prices the
tensors from it (numba-free, for the submit path), so a caller can refuse a job that would blow the cap at submit
time (:func:`check_bond_dimension`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.engines.base import check_memory, check_shots, metadata, register_engine, resolve_seed
from xihe.engines.bonds import (
    DEFAULT_MAX_BOND_DIMENSION,
    bond_dimension_refusal,
    estimate_bond_dimension,
    estimate_memory,
    instruction_matrix,
)
from xihe.engines.branching import FusedNoisyBody, Step, Walker, draw_branches, mixture_only, paths_of
from xihe.engines.chunks import DEFAULT_CHUNK_SHOTS, plan_chunks
from xihe.engines.fusion import fuse
from xihe.engines.jumps import EventOperators, JumpWalk, apply_tail, classical_tail, draw_events
from xihe.engines.mps_kernels import SMALL_BOND, sample_chain, shift_left, shift_right, two_site
from xihe.engines.mps_layout import relabel, site_order
from xihe.engines.noise import NoiseModel
from xihe.engines.program import Program, lower
from xihe.engines.sampling import apply_readout, rows_to_counts
from xihe.errors import ExecutionError, ResourceError
from xihe.results import Result

# Default discarded weight per SVD (relative): only round-off.
DEFAULT_CUTOFF = 1e-16
# An operation on a contracted block of sites: (chi_left, 2^k, chi_right) -> same shape.
BlockOp = Callable[[np.ndarray], np.ndarray]
_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)


def _svd(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        return np.linalg.svd(mat, full_matrices=False)  # type: ignore[return-value]
    except np.linalg.LinAlgError:  # gesdd fails to converge on rare inputs; gesvd does not
        import scipy.linalg  # only on this rare path: scipy.linalg takes longer to import than most jobs run

        return scipy.linalg.svd(mat, full_matrices=False, lapack_driver="gesvd")  # type: ignore[no-any-return]


class MPS:
    """A matrix product state on ``num_qubits`` qubits, starting in ``|0...0>``."""

    def __init__(self, num_qubits: int, max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION,
                 cutoff: float = DEFAULT_CUTOFF) -> None:
        if max_bond_dimension < 1:
            raise ExecutionError(f"max_bond_dimension must be at least 1, not {max_bond_dimension}")
        self.n = num_qubits
        self.max_bond_dimension = int(max_bond_dimension)
        self.cutoff = float(cutoff)
        zero = np.zeros((1, 2, 1), dtype=np.complex128)
        zero[0, 0, 0] = 1.0
        self.tensors: list[np.ndarray] = [zero.copy() for _ in range(num_qubits)]
        self.centre = 0
        self.truncation_error = 0.0
        self.max_bond_reached = 1

    def copy(self) -> MPS:
        """An independent copy (the tensors are shared: every update replaces a tensor, none is written in place)."""
        out = MPS.__new__(MPS)
        out.__dict__.update(self.__dict__)
        out.tensors = list(self.tensors)
        return out

    @property
    def bond_dimensions(self) -> list[int]:
        return [t.shape[2] for t in self.tensors[:-1]]

    def _move_centre(self, site: int) -> None:
        t = self.tensors
        while self.centre < site:
            c = self.centre
            t[c], t[c + 1] = shift_right(t[c], t[c + 1])
            self.centre += 1
        while self.centre > site:
            c = self.centre
            t[c - 1], t[c] = shift_left(t[c - 1], t[c])
            self.centre -= 1

    def apply_1q(self, q: int, u: np.ndarray) -> None:
        self.tensors[q] = np.matmul(u, self.tensors[q])  # u @ A[a] for each left index a: "ij,ajb->aib"

    def _apply_pair(self, start: int, u: np.ndarray) -> None:
        """A 4x4 matrix on neighbouring sites ``start, start + 1``: one compiled contraction, SVD and truncation."""
        self._move_centre(start)
        a, b, dropped, total = two_site(self.tensors[start], self.tensors[start + 1],
                                        np.ascontiguousarray(u, dtype=np.complex128), self.cutoff,
                                        self.max_bond_dimension)
        self.tensors[start] = a
        self.tensors[start + 1] = b
        if dropped > 0.0:
            self.truncation_error += dropped / total
        self.max_bond_reached = max(self.max_bond_reached, a.shape[2])
        self.centre = start + 1

    def _apply_contiguous(self, start: int, k: int, u: np.ndarray | BlockOp) -> None:
        """Apply ``u`` (first qubit = site ``start``) on sites ``start .. start + k - 1``.

        ``u`` is a matrix, or a function from the contracted block ``(chi_left, 2^k, chi_right)`` (which holds the
        whole norm: the centre is in it) to the new block.
        """
        if k == 2 and isinstance(u, np.ndarray):
            self._apply_pair(start, u)
            return
        self._move_centre(start)
        theta: np.ndarray = self.tensors[start]
        for j in range(1, k):
            theta = np.tensordot(theta, self.tensors[start + j], axes=(theta.ndim - 1, 0))
        cl, cr = theta.shape[0], theta.shape[-1]
        block = theta.reshape(cl, 1 << k, cr)
        theta = np.einsum("xy,ayb->axb", u, block) if isinstance(u, np.ndarray) else u(block)
        for j in range(k - 1):
            rest = 1 << (k - 1 - j)
            mat = theta.reshape(cl * 2, rest * cr)
            uu, s, vh = _svd(mat)
            keep = self._truncate(s)
            self.tensors[start + j] = uu[:, :keep].reshape(cl, 2, keep)
            theta = (s[:keep, None] * vh[:keep]).reshape(keep, rest, cr)
            cl = keep
        self.tensors[start + k - 1] = theta.reshape(cl, 2, cr)
        self.centre = start + k - 1

    def _truncate(self, s: np.ndarray) -> int:
        """How many singular values to keep (and renormalise ``s`` in place)."""
        weights = s * s
        total = float(weights.sum())
        if total == 0.0:
            return 1
        # tail[i]: weight of s[i:], the part dropped when keeping i values.
        tail = np.concatenate([np.cumsum(weights[::-1])[::-1], [0.0]])
        keep = int(np.argmax(tail <= self.cutoff * total))
        keep = max(1, min(keep, self.max_bond_dimension))
        dropped = float(tail[keep])
        if dropped > 0.0:
            self.truncation_error += dropped / total
            s[:keep] *= math.sqrt(total / (total - dropped))
        self.max_bond_reached = max(self.max_bond_reached, keep)
        return keep

    def apply(self, qubits: tuple[int, ...], u: np.ndarray) -> None:
        """Apply a ``2^k x 2^k`` matrix on ``qubits`` (``qubits[0]`` the most significant index bit)."""
        if len(qubits) == 1:
            self.apply_1q(qubits[0], u)
            return
        if len(qubits) == 2:
            factors = product_factors(u)
            if factors is not None:  # a product (a two-qubit Pauli error): two one-site updates, no SVD
                self.apply_1q(qubits[0], factors[0])
                self.apply_1q(qubits[1], factors[1])
            elif qubits[1] == qubits[0] + 1:
                self._apply_pair(qubits[0], u)
            elif qubits[0] == qubits[1] + 1:  # the same gate with its qubits in site order
                self._apply_pair(qubits[1], u.reshape(2, 2, 2, 2).transpose(1, 0, 3, 2).reshape(4, 4))
            else:
                self._apply_block(qubits, [u], lambda mats: mats[0])
            return
        self._apply_block(qubits, [u], lambda mats: mats[0])

    def apply_kraus(self, qubits: tuple[int, ...], kraus: list[np.ndarray], rng: np.random.Generator) -> None:
        """One trajectory step of a channel: Kraus operator ``K_i`` drawn with probability ``||K_i psi||^2``."""
        if len(qubits) == 1:  # on the centre site the weights are local: no contraction, no SVD
            q = qubits[0]
            self._move_centre(q)
            outs = [np.matmul(m, self.tensors[q]) for m in kraus]
            weights = np.array([float(np.vdot(o, o).real) for o in outs])
            i = min(int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), side="right")),
                    len(outs) - 1)
            self.tensors[q] = outs[i] * math.sqrt(weights.sum() / weights[i])
            return

        def choose(mats: list[np.ndarray]) -> BlockOp:
            def op(block: np.ndarray) -> np.ndarray:
                outs = [np.einsum("xy,ayb->axb", m, block) for m in mats]
                weights = np.array([float(np.vdot(o, o).real) for o in outs])
                i = int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), side="right"))
                i = min(i, len(outs) - 1)
                return outs[i] * (math.sqrt(weights.sum() / weights[i]))

            return op

        self._apply_block(qubits, kraus, choose)

    def apply_operator(self, qubits: tuple[int, ...], op: np.ndarray) -> None:
        """Apply any (not necessarily unitary) matrix on sorted ``qubits`` and renormalise the state (a Kraus operator
        of a trajectory). It is applied on the centre (one site, or an SVD of the pair), so the canonical form
        survives it; a product of one-qubit factors off the centre would break it."""
        if len(qubits) == 1:
            self._move_centre(qubits[0])
            self.apply_1q(qubits[0], op)
        elif len(qubits) == 2 and qubits[1] == qubits[0] + 1:
            self._apply_pair(qubits[0], np.ascontiguousarray(op, dtype=np.complex128))  # the centre ends on the pair
        else:
            self._apply_block(qubits, [op], lambda mats: mats[0])
        centre = self.tensors[self.centre]
        self.tensors[self.centre] = centre / math.sqrt(float(np.vdot(centre, centre).real))

    def density(self, qubits: tuple[int, ...]) -> np.ndarray:
        """The reduced density matrix of ``qubits`` (sorted; the first is the most significant bit), contracted from
        the centre moved to the first of them over the sites up to the last (right of it all is orthonormal)."""
        lo, hi = qubits[0], qubits[-1]
        self._move_centre(lo)
        chi = self.tensors[lo].shape[0]
        env = np.eye(chi, dtype=np.complex128).reshape(1, 1, chi, chi)  # open row, open column, bond, bond
        for site in range(lo, hi + 1):
            m = self.tensors[site]
            if site in qubits:
                env = np.einsum("xybc,bsd,cte->xsytde", env, m, m.conj())
                x, y, d = env.shape[0] * 2, env.shape[2] * 2, m.shape[2]
                env = env.reshape(x, y, d, d)
            else:
                env = np.einsum("xybc,bsd,cse->xyde", env, m, m.conj())
        return np.einsum("xybb->xy", env)

    def _apply_block(self, qubits: tuple[int, ...], mats: list[np.ndarray],
                     make: Callable[[list[np.ndarray]], np.ndarray | BlockOp]) -> None:
        """Bring ``qubits`` next to each other, apply ``make(mats in site order)`` there, and move them back."""
        k = len(qubits)
        order = sorted(qubits)
        start = order[0]
        swaps: list[int] = []
        for j, q in enumerate(order):
            for s in range(q - 1, start + j - 1, -1):  # walk qubit q left to site start + j
                self._apply_contiguous(s, 2, _SWAP)
                swaps.append(s)
        perm = [qubits.index(q) for q in order]
        in_order = [np.ascontiguousarray(m.reshape((2,) * (2 * k)).transpose(perm + [p + k for p in perm])
                                         .reshape(1 << k, 1 << k)) for m in mats]
        self._apply_contiguous(start, k, make(in_order))
        for s in reversed(swaps):
            self._apply_contiguous(s, 2, _SWAP)

    def sample(self, shots: int, rng: np.random.Generator) -> np.ndarray:
        """``shots x n`` bits drawn from the state (column ``q`` is qubit ``q``).

        Sampling starts at the end of the chain nearer the centre (which moves there): from site 0 with every
        other site right-orthonormal, or from site ``n - 1`` (tensors mirrored) with every other left-orthonormal.
        """
        if max(t.shape[2] for t in self.tensors) <= SMALL_BOND:  # compiled, in any gauge
            offsets = np.cumsum([0] + [t.size for t in self.tensors])
            flat = np.concatenate([t.reshape(-1) for t in self.tensors])
            chis = np.array([1] + [t.shape[2] for t in self.tensors], dtype=np.int64)
            return sample_chain(flat, offsets, chis, rng.random((shots, self.n)))
        if self.centre > (self.n - 1) / 2:
            self._move_centre(self.n - 1)
            chain = [t.transpose(2, 1, 0) for t in reversed(self.tensors)]
            columns = list(range(self.n - 1, -1, -1))
        else:
            self._move_centre(0)
            chain = self.tensors
            columns = list(range(self.n))
        norm = float(np.vdot(chain[0], chain[0]).real)
        bits = np.zeros((shots, self.n), dtype=np.uint8)
        env = np.ones((shots, 1), dtype=np.complex128)
        env /= math.sqrt(norm)
        for q, a in zip(columns, chain, strict=True):
            v0 = env @ a[:, 0, :]
            v1 = env @ a[:, 1, :]
            p0 = np.einsum("ij,ij->i", v0.conj(), v0).real
            p1 = np.einsum("ij,ij->i", v1.conj(), v1).real
            one = rng.random(shots) * (p0 + p1) < p1
            bits[:, q] = one
            chosen = np.where(one[:, None], v1, v0)
            env = chosen / np.sqrt(np.where(one, p1, p0))[:, None]
        return bits

    def statevector(self) -> np.ndarray:
        """The full ``2^n`` state (qubit 0 the most significant index bit), for checks on small registers."""
        out: np.ndarray = self.tensors[0]
        for a in self.tensors[1:]:
            out = np.tensordot(out, a, axes=(out.ndim - 1, 0))
        return out.reshape(-1)


_PRODUCTS: dict[bytes, tuple[np.ndarray, np.ndarray] | None] = {}


def product_factors(u: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(a, b)`` with ``u = a (x) b`` when the 4x4 ``u`` is a product of one-qubit matrices, else ``None`` (cached:
    called for the few distinct error unitaries of a noise model)."""
    key = u.tobytes()
    if key not in _PRODUCTS:
        m = u.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)  # rows (i, i'), columns (j, j')
        uu, s, vh = np.linalg.svd(m)
        factors = None
        if s[1] <= 1e-12 * s[0]:
            factors = (np.ascontiguousarray((uu[:, 0] * s[0]).reshape(2, 2)), np.ascontiguousarray(vh[0].reshape(2, 2)))
        _PRODUCTS[key] = factors
    return _PRODUCTS[key]


def _check_program(prog: Program) -> None:
    if prog.is_dynamic:
        raise ExecutionError("the mps engine runs circuits whose measurements are all at the end (no mid-circuit "
                             "measurement, reset or condition); use engine='statevector'")


def run_program(prog: Program, max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION,
                cutoff: float = DEFAULT_CUTOFF, rng: np.random.Generator | None = None,
                branches: dict[int, int] | None = None) -> MPS:
    """Evolve ``|0...0>`` through the body of a non-dynamic program (one trajectory when it has channels).

    A channel that is a mixture of unitaries applies the unitary ``branches[i]`` for body instruction ``i``
    (none when ``i`` is absent: the identity branch); any other channel draws a Kraus operator from ``rng``.
    """
    _check_program(prog)
    state = MPS(prog.num_qubits, max_bond_dimension, cutoff)
    if not prog.has_channels:  # ideal: gates fused into two-qubit blocks, one SVD per block
        for ins in fuse(prog.body, 2):
            state.apply(ins.qubits, instruction_matrix(ins))
        return state
    _advance(state, prog, 0, len(prog.body), rng, branches)
    return state


def _advance(state: MPS, prog: Program, start: int, stop: int, rng: np.random.Generator | None,
             branches: dict[int, int] | None) -> None:
    """Apply body instructions ``start .. stop - 1`` to ``state`` (see :func:`run_program`)."""
    for i in range(start, stop):
        ins = prog.body[i]
        if ins.kind != "channel":
            state.apply(ins.qubits, instruction_matrix(ins))
            continue
        assert ins.channel is not None
        table = ins.channel.sampling_table
        if table is None:
            if rng is None:
                raise ExecutionError("a trajectory through a non-unitary channel needs a random generator")
            state.apply_kraus(ins.qubits, ins.channel.kraus, rng)
        elif branches is not None and i in branches:
            u = table[1][branches[i]]
            assert u is not None
            state.apply(ins.qubits, u)


def sample_trajectories(prog: Program, shots: int, rng: np.random.Generator,
                        max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION, cutoff: float = DEFAULT_CUTOFF,
                        jumps: _JumpSetup | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """``shots x n`` bits from noisy trajectories, and stats (``trajectories``, worst bond and truncation).

    Branches of unitary-mixture channels (depolarizing, Pauli) do not depend on the state, so they are drawn for
    all shots first and the shots are walked as a prefix tree over their errors (:mod:`xihe.engines.branching`),
    with gates and channels fused into two-qubit steps (one SVD per step): shared prefixes and identical paths
    (most shots: the error-free one) are computed once. A program with other channels (damping, relaxation) is
    walked over the events of their identity split (:class:`_JumpSetup`, which ``jumps`` passes in prepared
    when several chunks of one program run).
    """
    _check_program(prog)
    stats = {"trajectories": 0.0, "bond_dimension": 1.0, "truncation_error": 0.0}
    bits = np.zeros((shots, prog.num_qubits), dtype=np.uint8)

    def record(state: MPS, members: list[int] | np.ndarray) -> None:
        bits[members] = state.sample(len(members), rng)
        stats["trajectories"] += 1
        stats["bond_dimension"] = max(stats["bond_dimension"], state.max_bond_reached)
        stats["truncation_error"] = max(stats["truncation_error"], state.truncation_error)

    if not mixture_only(prog):
        (jumps or _JumpSetup(prog)).walk(shots, rng, MPS(prog.num_qubits, max_bond_dimension, cutoff), bits, record)
        return bits, stats
    fused = FusedNoisyBody(prog.body, 2)
    mats = [None if ins is None else instruction_matrix(ins) for ins in fused.steps]
    where, branch = draw_branches(prog.body, shots, rng)

    def advance(state: MPS, a: int, b: int) -> None:
        for i in range(a, b):
            m = mats[i]
            if m is not None:
                ins = fused.steps[i]
                assert ins is not None
                state.apply(ins.qubits, m)

    def hit(state: MPS, step: Step) -> None:
        state.apply(fused.qubits[step[0]], fused.error_unitary(step))

    walker: Walker[MPS] = Walker(len(fused.steps), advance, MPS.copy, hit, record)
    walker.walk(MPS(prog.num_qubits, max_bond_dimension, cutoff), paths_of(where, branch, fused.place))
    return bits, stats


class _JumpSetup:
    """What the walk over relaxation events needs from a program, built once for all its chunks: the body without
    its classical tail, the fused steps, and the conjugated operators of each event (:mod:`xihe.engines.jumps`)."""

    def __init__(self, prog: Program) -> None:
        self.body, self.tail = classical_tail(prog)
        self.fused = FusedNoisyBody(self.body, 2, all_channels=True)
        self.mats = [None if ins is None else instruction_matrix(ins) for ins in self.fused.steps]
        self.sites = [tuple(sorted(q)) for q in self.fused.qubits]
        self.operators = EventOperators(self.fused, self.body)

    def advance(self, state: MPS, a: int, b: int) -> None:
        for i in range(a, b):
            m = self.mats[i]
            if m is not None:
                ins = self.fused.steps[i]
                assert ins is not None
                state.apply(ins.qubits, m)

    def apply(self, state: MPS, step: int, op: np.ndarray, unitary: bool) -> None:
        if unitary:
            state.apply(self.sites[step], op)
        else:
            state.apply_operator(self.sites[step], op)

    def walk(self, shots: int, rng: np.random.Generator, start: MPS, bits: np.ndarray,
             record: Callable[[MPS, np.ndarray], None]) -> None:
        """Shots walked as a tree over their events with the channels' identity split, then their classical tail
        drawn per shot."""
        events = draw_events(self.body, shots, rng, self.fused.place)
        walk: JumpWalk[MPS] = JumpWalk(len(self.fused.steps), self.advance, MPS.copy, self.operators,
                                       lambda state, step: state.density(self.sites[step]), self.apply, record, rng)
        walk.walk(start, events, shots)
        apply_tail(bits, self.tail, rng)


def final_mps(circuit: Circuit, max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION,
              cutoff: float = DEFAULT_CUTOFF) -> MPS:
    """The final MPS of an ideal circuit (measurements ignored)."""
    return run_program(lower(circuit), max_bond_dimension, cutoff)


def check_bond_dimension(circuit: Circuit, max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION) -> int:
    """The bound of :func:`estimate_bond_dimension`; raise :class:`ResourceError` when it exceeds the cap."""
    refusal = bond_dimension_refusal(circuit, max_bond_dimension)
    if refusal is not None:
        raise ResourceError(refusal)
    return estimate_bond_dimension(circuit)


def on_sites(prog: Program) -> Program:
    """``prog`` renumbered onto a chain order with its two-qubit gates side by side, when that helps
    (:func:`~xihe.engines.mps_layout.site_order`); sampled bits then come per site, and the renumbered terminal
    measurements read them back into the right clbits."""
    site = site_order(prog)
    return prog if site is None else relabel(prog, site)


def _rows(prog: Program, bits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Classical rows from sampled qubit bits: each terminal measurement's bit, with its readout flips."""
    rows = np.zeros((bits.shape[0], prog.num_clbits), dtype=np.uint8)
    for ins in prog.terminal:
        bit = bits[:, ins.qubits[0]]
        rows[:, ins.clbit] = apply_readout(bit, ins.readout, rng) if ins.readout is not None else bit
    return rows


def noisy_rows(circuit: Circuit, shots: int, seed_seq: np.random.SeedSequence, noise: NoiseModel | None,
               max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION, cutoff: float = DEFAULT_CUTOFF
               ) -> tuple[np.ndarray, dict[str, float | int]]:
    """Rows of one seeded chunk of noisy MPS trajectories (the engine's own chunk, and a fanned-out one), and its
    stats (``trajectories``, ``bond_dimension``, ``truncation_error``)."""
    return _chunk_rows(on_sites(lower(circuit, noise)), shots, seed_seq, max_bond_dimension, cutoff, None)


def _chunk_rows(prog: Program, shots: int, seed_seq: np.random.SeedSequence, max_bond_dimension: int,
                cutoff: float, jumps: _JumpSetup | None) -> tuple[np.ndarray, dict[str, float | int]]:
    rng = np.random.default_rng(seed_seq)
    bits, traj = sample_trajectories(prog, shots, rng, max_bond_dimension, cutoff, jumps)
    return _rows(prog, bits, rng), {"trajectories": int(traj["trajectories"]),
                                    "bond_dimension": int(traj["bond_dimension"]),
                                    "truncation_error": traj["truncation_error"]}


@register_engine
class MPSEngine:
    """Matrix product state simulation (noise by trajectories); memory grows with the bond dimension, not ``2^n``."""

    name = "mps"

    def __init__(self, max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION, cutoff: float = DEFAULT_CUTOFF,
                 max_memory_bytes: int | None = None, chunk_shots: int = DEFAULT_CHUNK_SHOTS) -> None:
        self.max_bond_dimension = int(max_bond_dimension)
        self.cutoff = float(cutoff)
        self.max_memory_bytes = max_memory_bytes
        self.chunk_shots = chunk_shots

    def estimate_memory(self, circuit: Circuit) -> int:
        return estimate_memory(circuit, self.max_bond_dimension)

    def run(self, circuit: Circuit, shots: int = 1024, seed: int | None = None, noise: NoiseModel | None = None,
            memory: bool = False) -> Result:
        started = time.perf_counter()
        shots = check_shots(shots)
        seed = resolve_seed(seed)
        if shots == 0:
            raise ExecutionError("the mps engine samples shots; give shots > 0")
        check_memory(self.name, self.estimate_memory(circuit), self.max_memory_bytes,
                     f"a {circuit.num_qubits}-qubit matrix product state")
        prog = lower(circuit, noise)
        stats: dict[str, float | int]
        if prog.has_channels:  # seeded chunks, as the trajectories engine and the Ray fan-out cut them
            plan = plan_chunks(shots, self.chunk_shots)
            parts = []
            stats = {"trajectories": 0, "bond_dimension": 1, "truncation_error": 0.0, "chunks": len(plan)}
            prog = on_sites(prog)  # lowered, laid out and prepared once; each chunk as noisy_rows would run it
            jumps = None if mixture_only(prog) else _JumpSetup(prog)
            for count, child in zip(plan, np.random.SeedSequence(seed).spawn(len(plan)), strict=True):
                part, got = _chunk_rows(prog, count, child, self.max_bond_dimension, self.cutoff, jumps)
                parts.append(part)
                stats["trajectories"] += got["trajectories"]
                stats["bond_dimension"] = max(stats["bond_dimension"], got["bond_dimension"])
                stats["truncation_error"] = max(stats["truncation_error"], got["truncation_error"])
            rows = np.concatenate(parts)
        else:
            rng = np.random.default_rng(seed)
            prog = on_sites(prog)
            state = run_program(prog, self.max_bond_dimension, self.cutoff)
            rows = _rows(prog, state.sample(shots, rng), rng)
            stats = {"bond_dimension": state.max_bond_reached, "truncation_error": state.truncation_error}
        counts, mem = rows_to_counts(rows, memory)
        return Result(counts=counts, shots=shots, memory=mem,
                      metadata=metadata(self.name, seed, started, num_qubits=circuit.num_qubits, **stats,
                                        max_bond_dimension=self.max_bond_dimension, cutoff=self.cutoff))
