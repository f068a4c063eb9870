"""Optimisation: 1q fusion into Euler angles, commutation-aware cancellation and merging, to a fixed point.

Commutation rule (sound and cheap): an operation is *Z-type* on a qubit if it is diagonal there (``rz``, ``cz`` on
either qubit, the control of ``cx``), *X-type* if diagonal in the X basis there (``rx``, the target of ``cx``). Two
operations commute when on every qubit they share both are Z-type or both are X-type.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from xihe.circuit import Gate, Operation, gate_spec, is_self_inverse, is_symmetric
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.passes.optimize_kernel import (
    G_U3,
    KIND_1Q,
    KIND_OTHER,
    KIND_SI2Q,
    TYPE_NONE,
    TYPE_X,
    TYPE_Z,
    cancel_kernel,
    fuse_kernel,
    optimize_loop_kernel,
)
from xihe.compiler.passes.translate import one_qubit_basis
from xihe.compiler.synthesis import is_diagonal, is_x_like
from xihe.compiler.target import Target
from xihe.compiler.two_qubit import gate_matrix
from xihe.errors import CompileError

NAMES_1Q = ("rz", "rx", "ry")
TYPE_CODE = {None: TYPE_NONE, "Z": TYPE_Z, "X": TYPE_X}
# Self-inverse two-qubit gate names by code (only equality matters), shared by every conversion.
_CODES_2Q: dict[str, int] = {}
_TABLE_2Q: list[np.ndarray] = []  # their matrices, by code (see two_qubit_table)
_CODES_LOCK = threading.Lock()

# The kernels' array form of a gate list (see :mod:`.optimize_kernel`).
Rows = tuple[np.ndarray, ...]


class Basis1q:
    """A one-qubit basis as the kernels take it: which of rz, rx, ry and u3 (or u) Euler synthesis may emit."""

    def __init__(self, basis: frozenset[str]) -> None:
        self.names = basis
        self.rz, self.rx, self.ry = "rz" in basis, "rx" in basis, "ry" in basis
        self.u3_name = "u3" if "u3" in basis else ("u" if "u" in basis else None)

    def fuse_flags(self) -> tuple[bool, bool, bool, bool]:
        """The flags fusion takes; raises :class:`CompileError` if Euler synthesis cannot write this basis."""
        if self.u3_name is None and not self.rz:
            raise CompileError(f"cannot synthesise one-qubit gates into the basis {sorted(self.names)}: it has no "
                               "'rz'")
        if self.u3_name is None and not (self.rx or self.ry):
            raise CompileError(f"cannot synthesise one-qubit gates into the basis {sorted(self.names)}: no 'rx' or "
                               "'ry'")
        return self.rz, self.rx, self.ry, self.u3_name is not None


@lru_cache(maxsize=65536)
def _gate_row(gate: Gate, basis: frozenset[str]) -> tuple[int, bool, int, bool, bool, bool, tuple[int, ...],
                                                          np.ndarray | None]:
    """(kind, is a 2q unitary, 2q code, symmetric, native, is rz, commutation types, 2x2 matrix) of an unconditioned
    operation with this gate."""
    n = gate.num_qubits
    types = tuple(TYPE_CODE[t] for t in _gate_action_types(gate, n)) if gate.is_unitary else (TYPE_NONE,) * n
    if gate.is_unitary and n == 1 and not gate.is_parametrized:
        native = gate.name in basis and gate.definition is None
        return KIND_1Q, False, -1, False, native, gate.name == "rz", types, gate_matrix(gate)
    if gate.is_unitary and n == 2 and gate.definition is None and is_self_inverse(gate.name):
        with _CODES_LOCK:  # candidates are converted in threads side by side: one code per name
            code = _CODES_2Q.setdefault(gate.name, len(_CODES_2Q))
        return KIND_SI2Q, True, code, is_symmetric(gate.name), False, False, types, None
    # A symbolic one-qubit gate only blocks (no matrix to fuse it with).
    return KIND_OTHER, gate.is_unitary and n == 2, -1, False, False, False, (TYPE_NONE,) * n, None


@lru_cache(maxsize=64)
def _blocking_row(width: int) -> tuple[int, bool, int, bool, bool, bool, tuple[int, ...], np.ndarray | None]:
    """The row of a conditioned operation on ``width`` qubits: it only blocks."""
    return KIND_OTHER, False, -1, False, False, False, (TYPE_NONE,) * width, None


_IDENTITY = np.eye(2, dtype=complex)


class Translator(Protocol):
    """What :func:`to_rows` needs of :class:`~xihe.compiler.passes.translate.BasisTranslation`."""

    def translate(self, ops: Sequence[Operation]) -> list[Operation]: ...

    def two_qubit(self, op: Operation) -> list[Operation]: ...


def to_rows(ops: list[Operation], basis: frozenset[str], translate: Translator | None = None,
            memo: dict[tuple[Gate, tuple[int, ...]], list[Operation]] | None = None) -> tuple[Rows, list[Operation]]:
    """The kernels' arrays for ``ops`` and the operations their rows come from (``src`` indexes that list).

    With ``translate``, the operations are translated to the device's gates on the way: a two-qubit gate becomes its
    native pieces (``memo`` keeps them per gate and qubits), whose one-qubit gates (Hadamards) stay as they are,
    since fusion writes every run of one-qubit gates in the basis anyway; conditioned and non-unitary operations go
    through ``translate.translate``.
    """
    sources: list[Operation] = []
    if translate is None:
        sources = list(ops)
    else:
        memo = {} if memo is None else memo
        for op in ops:
            sources.extend(native_pieces(op, translate, memo))
    n = len(sources)
    qptr = [0]
    qidx: list[int] = []
    qtyp: list[int] = []
    row_info: list[int] = []
    infos: dict[int, int] = {}
    table: list[tuple[int, bool, int, bool, bool, bool, tuple[int, ...], np.ndarray | None]] = []
    for op in sources:
        info = _gate_row(op.gate, basis)
        qubits = op.qubits
        if op.condition is not None or len(qubits) != len(info[6]):
            info = _blocking_row(len(qubits))
        at = infos.get(id(info))
        if at is None:
            at = infos[id(info)] = len(table)
            table.append(info)
        row_info.append(at)
        qidx.extend(qubits)
        qtyp.extend(info[6])
        qptr.append(len(qidx))
    index = np.array(row_info, dtype=np.int64)

    def column(k: int, dtype: type) -> np.ndarray:
        return np.array([t[k] for t in table], dtype=dtype)[index] if n else np.zeros(0, dtype=dtype)

    mats = (np.array([_IDENTITY if t[7] is None else t[7] for t in table], dtype=complex)[index] if n else
            np.zeros((0, 2, 2), dtype=complex))
    rows = (np.array(qptr, dtype=np.int64), np.array(qidx, dtype=np.int64), np.array(qtyp, dtype=np.int8),
            column(0, np.int8), column(1, np.bool_), column(2, np.int64), column(3, np.bool_), column(4, np.bool_),
            column(5, np.bool_), mats, np.arange(n, dtype=np.int64), np.full(n, -1, dtype=np.int8), np.zeros((n, 3)))
    return rows, sources


def native_pieces(op: Operation, translate: Translator,
                  memo: dict[tuple[Gate, tuple[int, ...]], list[Operation]]) -> list[Operation]:
    """``op`` translated for :func:`to_rows`: a one-qubit unitary as it is (fusion writes it in the basis), a
    two-qubit gate as its native pieces (kept in ``memo`` per gate and qubits), anything else by ``translate``."""
    gate = op.gate
    if op.condition is None and gate.is_unitary and not gate.is_parametrized and len(op.qubits) <= 2:
        if len(op.qubits) == 1:
            return [op]
        key = (gate, op.qubits)
        pieces = memo.get(key)
        if pieces is None:
            pieces = memo[key] = translate.two_qubit(op)
        return pieces
    return translate.translate([op])


def two_qubit_table() -> np.ndarray:
    """The 4x4 matrices of the self-inverse two-qubit gates by their rows' ``code2`` (what the block kernel
    multiplies)."""
    with _CODES_LOCK:
        if len(_TABLE_2Q) != len(_CODES_2Q):
            names = sorted(_CODES_2Q, key=_CODES_2Q.__getitem__)
            _TABLE_2Q[:] = [gate_matrix(Gate(name)) for name in names]
        if not _TABLE_2Q:
            return np.zeros((0, 4, 4), dtype=complex)
        return np.array(_TABLE_2Q, dtype=complex)


def score(rows: Rows) -> tuple[int, int]:
    """What the optimisation loops minimise: (two-qubit gates, rows)."""
    return int(np.count_nonzero(rows[4])), len(rows[3])


def from_rows(ops: list[Operation], rows: Rows, basis: Basis1q) -> list[Operation]:
    """Operations for the kernels' rows: the source operation where a row points to one, else the row's gate."""
    qptr, qidx, src, gname, gpar = rows[0], rows[1], rows[10], rows[11], rows[12]
    out: list[Operation] = [ops[s] for s in src.tolist()]  # a new row (-1) is written over below
    new = np.flatnonzero(src < 0)
    u3_name = str(basis.u3_name)
    for k, g, q, params in zip(new.tolist(), gname[new].tolist(), qidx[qptr[new]].tolist(), gpar[new].tolist(),
                               strict=True):
        if g == G_U3:
            out[k] = Operation(Gate._trusted(u3_name, (params[0], params[1], params[2]), 1), (q,))
        else:
            out[k] = Operation(Gate._trusted(NAMES_1Q[g], (params[0],), 1), (q,))
    return out


def width(ops: list[Operation]) -> int:
    """How many qubits the operations span (the highest index plus one)."""
    return max((q for op in ops for q in op.qubits), default=-1) + 1


class Fuse1q:
    """Replace each run of unconditioned 1q gates on a qubit by its Euler synthesis (nothing if identity).

    A run already minimal (native gates, at most one pulse, no two ``rz`` in a row) is kept as it is.
    """

    def __init__(self, basis: frozenset[str]) -> None:
        self.basis = Basis1q(basis)

    @classmethod
    def for_target(cls, target: Target) -> Fuse1q:
        return cls(one_qubit_basis(target))

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        rows, sources = to_rows(dag.ops, self.basis.names)
        out = fuse_kernel(width(sources), *rows, *self.basis.fuse_flags())
        return dag.copy_with(from_rows(sources, out, self.basis))


def action_types(op: Operation) -> tuple[str | None, ...]:
    """Per qubit of ``op``: 'Z', 'X' or None (no simple commutation)."""
    if op.condition is not None:
        return (None,) * len(op.qubits)
    return _gate_action_types(op.gate, len(op.qubits))


@lru_cache(maxsize=65536)
def _gate_action_types(gate: Gate, num_qubits: int) -> tuple[str | None, ...]:
    spec = gate_spec(gate.name) if gate.is_unitary and gate.definition is None else None
    if spec is None or not spec.commutation:
        return (None,) * num_qubits
    letters = tuple(None if c == "." else c for c in spec.commutation)
    if num_qubits == 1 and letters == (None,) and not gate.is_parametrized:
        u = gate_matrix(gate)  # a general gate at special angles, e.g. u3(0, 0, t), is Z-type
        if is_diagonal(u):
            return ("Z",)
        if is_x_like(u):
            return ("X",)
    return letters


class CommutativeCancellation:
    """Cancel pairs of self-inverse 2q gates, and merge ``rz``/``rx`` rotations, across commuting operations
    (each operation's next ones on its qubits, while they commute with it, at most ``SCAN_WINDOW``)."""

    def __init__(self, basis: frozenset[str]) -> None:
        self.basis = Basis1q(basis)

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        rows, sources = to_rows(dag.ops, self.basis.names)
        out = cancel_kernel(width(sources), *rows, self.basis.rz, self.basis.rx)
        return dag.copy_with(from_rows(sources, out, self.basis))


class OptimizeLoop:
    """Run fusion and cancellation until neither the 2q count nor the operation count drops.

    The whole loop runs in :func:`.optimize_kernel.optimize_loop_kernel` on one array form of the gate list.
    """

    def __init__(self, basis: frozenset[str], max_rounds: int = 10) -> None:
        self.basis = Basis1q(basis)
        self.max_rounds = max_rounds

    @classmethod
    def for_target(cls, target: Target, max_rounds: int = 10) -> OptimizeLoop:
        return cls(one_qubit_basis(target), max_rounds)

    def run(self, dag: DAGCircuit, properties: PropertySet, translate: Translator | None = None,
            memo: dict[tuple[Gate, tuple[int, ...]], list[Operation]] | None = None) -> DAGCircuit:
        """The loop's result; with ``translate``, on the operations translated to the device's gates first (one
        conversion to arrays for both, see :func:`to_rows`)."""
        rows, sources = to_rows(dag.ops, self.basis.names, translate, memo)
        out = self.run_rows(rows, width(sources))
        return dag.copy_with(from_rows(sources, out, self.basis))

    def run_rows(self, rows: Rows, num_qubits: int) -> Rows:
        """The loop on the array form (qubits below ``num_qubits``)."""
        return optimize_loop_kernel(num_qubits, *rows, *self.basis.fuse_flags(), self.max_rounds)
