"""Optimisation: 1q fusion into Euler angles, commutation-aware cancellation and merging, to a fixed point.

Commutation rule (sound and cheap): an operation is *Z-type* on a qubit if it is diagonal there (``rz``, ``cz`` on
either qubit, the control of ``cx``), *X-type* if diagonal in the X basis there (``rx``, the target of ``cx``). Two
operations commute when on every qubit they share both are Z-type or both are X-type.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np

from xihe.circuit import Gate, Operation, ParamValue, gate_spec, is_self_inverse, is_symmetric
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


# (kind, is a 2q unitary, 2q code, symmetric, native, is rz, commutation types, 2x2 matrix): a row's constant part.
RowInfo = tuple[int, bool, int, bool, bool, bool, tuple[int, ...], np.ndarray | None]
# Two-qubit gate -> its native pieces, kept across conversions (see :func:`native_pieces` for the key).
PiecesMemo = dict[Hashable, list[Operation]]


@lru_cache(maxsize=65536)
def _gate_row(gate: Gate, basis: frozenset[str]) -> RowInfo:
    """The row of an unconditioned operation with this gate."""
    n = gate.num_qubits
    types = tuple(TYPE_CODE[t] for t in _gate_action_types(gate, n)) if gate.is_unitary else (TYPE_NONE,) * n
    if gate.is_unitary and n == 1 and not gate.is_parametrized:
        native = gate.name in basis and gate.definition is None
        return KIND_1Q, False, -1, False, native, gate.name == "rz", types, gate_matrix(gate)
    if gate.is_unitary and n == 2 and gate.definition is None and is_self_inverse(gate.name):
        return KIND_SI2Q, True, two_qubit_code(gate.name), is_symmetric(gate.name), False, False, types, None
    # A symbolic one-qubit gate only blocks (no matrix to fuse it with).
    return KIND_OTHER, gate.is_unitary and n == 2, -1, False, False, False, (TYPE_NONE,) * n, None


@lru_cache(maxsize=65536)
def _field_row(name: str, params: tuple[ParamValue, ...], num_qubits: int, basis: frozenset[str]) -> \
        tuple[RowInfo, bool]:
    """:func:`_gate_row` of a gate without a definition, by its fields (which decide a such gate's equality), and
    whether it is a unitary without symbolic parameters. Keyed by plain tuples, so a look-up hashes and compares in C:
    ``Gate``'s own hash and equality are Python methods, and a conversion looks up every gate (issue 19)."""
    gate = Gate._trusted(name, params, num_qubits)
    return _gate_row(gate, basis), gate.is_unitary and not gate.is_parametrized


@lru_cache(maxsize=64)
def _blocking_row(width: int) -> RowInfo:
    """The row of a conditioned operation on ``width`` qubits: it only blocks."""
    return KIND_OTHER, False, -1, False, False, False, (TYPE_NONE,) * width, None


_IDENTITY = np.eye(2, dtype=complex)


class Translator(Protocol):
    """What :func:`to_rows` needs of :class:`~xihe.compiler.passes.translate.BasisTranslation`."""

    def translate(self, ops: Sequence[Operation]) -> list[Operation]: ...

    def two_qubit(self, op: Operation) -> list[Operation]: ...


def _row_of(op: Operation, basis: frozenset[str]) -> RowInfo:
    """``op``'s row info (blocking if conditioned)."""
    gate = op.gate
    info = _field_row(gate.name, gate.params, gate.num_qubits, basis)[0] if gate.definition is None else \
        _gate_row(gate, basis)
    if op.condition is not None or len(op.qubits) != len(info[6]):
        info = _blocking_row(len(op.qubits))
    return info


def to_rows(ops: list[Operation], basis: frozenset[str], translate: Translator | None = None,
            memo: PiecesMemo | None = None) -> tuple[Rows, list[Operation]]:
    """The kernels' arrays for ``ops`` and the operations their rows come from (``src`` indexes that list).

    With ``translate``, the operations are translated to the device's gates on the way: a two-qubit gate becomes its
    native pieces (``memo`` keeps them per gate and qubits), whose one-qubit gates (Hadamards) stay as they are,
    since fusion writes every run of one-qubit gates in the basis anyway; conditioned and non-unitary operations go
    through ``translate.translate``.

    A gate's constant part (:data:`RowInfo`) is looked up by its fields, not by ``Gate``'s Python hash and equality;
    a two-qubit gate's pieces are looked up once per conversion and their rows' lists reused for each of its
    occurrences (a routed circuit is mostly the same few ``cx`` and swaps).
    """
    sources: list[Operation] = []
    counts: list[int] = []  # qubits per row
    qidx: list[int] = []
    qtyp: list[int] = []
    row_info: list[int] = []  # index in ``table``
    table: list[RowInfo] = []  # the distinct infos (each comes from a cache, so by identity)
    infos: dict[int, int] = {}  # id(info) -> index in table
    memo = {} if memo is None else memo
    # id(pieces) -> their rows' (table indices, qubits, types, qubit counts), for this conversion (``memo`` keeps the
    # pieces alive).
    fragments: dict[int, tuple[list[int], list[int], list[int], list[int]]] = {}
    for op in ops:
        gate = op.gate
        if gate.definition is None:
            info, simple = _field_row(gate.name, gate.params, gate.num_qubits, basis)
        else:
            info, simple = _gate_row(gate, basis), gate.is_unitary and not gate.is_parametrized
        qubits = op.qubits
        unconditioned = op.condition is None
        if translate is None or (simple and unconditioned and len(qubits) == 1):
            if not unconditioned or len(qubits) != len(info[6]):
                info = _blocking_row(len(qubits))
            at = infos.get(id(info))
            if at is None:
                at = infos[id(info)] = len(table)
                table.append(info)
            sources.append(op)
            row_info.append(at)
            qidx.extend(qubits)
            qtyp.extend(info[6])
            counts.append(len(qubits))
            continue
        pieces = native_pieces(op, translate, memo)
        reused = simple and unconditioned and len(qubits) == 2  # pieces from the memo: the same list each time
        fragment = fragments.get(id(pieces)) if reused else None
        if fragment is None:
            fragment = ([], [], [], [])
            for piece in pieces:
                piece_info = _row_of(piece, basis)
                at = infos.get(id(piece_info))
                if at is None:
                    at = infos[id(piece_info)] = len(table)
                    table.append(piece_info)
                fragment[0].append(at)
                fragment[1].extend(piece.qubits)
                fragment[2].extend(piece_info[6])
                fragment[3].append(len(piece.qubits))
            if reused:
                fragments[id(pieces)] = fragment
        sources.extend(pieces)
        row_info.extend(fragment[0])
        qidx.extend(fragment[1])
        qtyp.extend(fragment[2])
        counts.extend(fragment[3])
    n = len(sources)
    if not n:
        return _empty_rows(), sources
    index = np.array(row_info, dtype=np.int64)

    def column(k: int, dtype: type) -> np.ndarray:
        return np.array([t[k] for t in table], dtype=dtype)[index]

    qptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=qptr[1:])
    mats = np.array([_IDENTITY if t[7] is None else t[7] for t in table], dtype=complex)[index]
    rows = (qptr, np.array(qidx, dtype=np.int64), np.array(qtyp, dtype=np.int8), column(0, np.int8),
            column(1, np.bool_), column(2, np.int64), column(3, np.bool_), column(4, np.bool_), column(5, np.bool_),
            mats, np.arange(n, dtype=np.int64), np.full(n, -1, dtype=np.int8), np.zeros((n, 3)))
    return rows, sources


def _empty_rows() -> Rows:
    """The arrays of an empty gate list, of the right types."""
    return (np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8),
            np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.bool_), np.zeros(0, dtype=np.bool_),
            np.zeros((0, 2, 2), dtype=complex), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8),
            np.zeros((0, 3)))


def native_pieces(op: Operation, translate: Translator, memo: PiecesMemo) -> list[Operation]:
    """``op`` translated for :func:`to_rows`: a one-qubit unitary as it is (fusion writes it in the basis), a
    two-qubit gate as its native pieces (kept in ``memo`` per gate and qubits: by the gate's name, parameters and
    qubits where it has no definition, which hash in C), anything else by ``translate``."""
    gate = op.gate
    if op.condition is None and gate.is_unitary and not gate.is_parametrized and len(op.qubits) <= 2:
        if len(op.qubits) == 1:
            return [op]
        key: Hashable = (gate.name, gate.params, op.qubits) if gate.definition is None else (gate, op.qubits)
        pieces = memo.get(key)
        if pieces is None:
            pieces = memo[key] = translate.two_qubit(op)
        return pieces
    return translate.translate([op])


def two_qubit_code(name: str) -> int:
    """The ``code2`` of the self-inverse two-qubit gate ``name`` in every conversion of this process (candidates are
    converted in threads side by side: one code per name)."""
    with _CODES_LOCK:
        return _CODES_2Q.setdefault(name, len(_CODES_2Q))


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
    out: list[Operation] = list(map(ops.__getitem__, src.tolist()))  # a new row (-1) is written over below
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


def rows_width(rows: Rows) -> int:
    """:func:`width` of the operations the rows were made from (every one's qubits are in ``qidx``), in C."""
    return int(rows[1].max()) + 1 if len(rows[1]) else 0


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
        out = fuse_kernel(rows_width(rows), *rows, *self.basis.fuse_flags())
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
        out = cancel_kernel(rows_width(rows), *rows, self.basis.rz, self.basis.rx)
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
            memo: PiecesMemo | None = None) -> DAGCircuit:
        """The loop's result; with ``translate``, on the operations translated to the device's gates first (one
        conversion to arrays for both, see :func:`to_rows`)."""
        rows, sources = to_rows(dag.ops, self.basis.names, translate, memo)
        out = self.run_rows(rows, rows_width(rows))
        return dag.copy_with(from_rows(sources, out, self.basis))

    def run_rows(self, rows: Rows, num_qubits: int) -> Rows:
        """The loop on the array form (qubits below ``num_qubits``)."""
        return optimize_loop_kernel(num_qubits, *rows, *self.basis.fuse_flags(), self.max_rounds)
