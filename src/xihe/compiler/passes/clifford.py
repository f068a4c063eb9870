"""Clifford regions resynthesised before layout by a greedy tableau synthesis, kept where it needs fewer CX (issue 19).

KAK resynthesis sees one pair of qubits at a time; a Clifford circuit on five qubits (QASMBench's
``error_correctiond3_n5``: 49 CX as written, 23 after the pair-wise passes) may be a Clifford that needs far fewer
CX once it is looked at whole. TKET's ``FullPeepholeOptimise`` gets there by Clifford rewrite rules; this pass takes
the route of Qiskit's ``CollectCliffords`` + ``synth_clifford_greedy`` (Bravyi, Shaydulin, Hu and Maslov 2021,
arXiv 2105.02291):

- :func:`clifford_regions` splits the circuit as Qiskit's ``BlockCollector`` does: from the front of the DAG it
  takes every operation that is not Clifford, then every Clifford one (cx, cz, swap, a one-qubit gate whose matrix
  is one of the 24 Cliffords up to phase), and so on; each Clifford run is a region.
- :class:`Tableau` is the Aaronson-Gottesman tableau of a region (row ``j``: the image of ``X_j``, row ``n + j``:
  of ``Z_j``, with signs).
- :func:`greedy_synthesis` appends gates to the tableau until it is a signed permutation: at each step the pair of
  rows that is cheapest to decouple (the paper's cost: its wires by class A..E) is cleared onto one wire by
  one-qubit Cliffords and CX. Unlike Qiskit's, it ends on a permutation, not the identity: a pair is cleared onto
  whichever of its class-A wires is free (Qiskit swaps it back to its own wire, 3 CX), and the permutation becomes
  a relabelling of everything after the region (as :mod:`.swaps` does; before layout it is free).

A region's synthesis replaces it only when it has fewer two-qubit gates (a swap counted as three) and its tableau,
relabelling and sign corrections included, equals the region's exactly (signs fixed by Pauli gates at its start).
Circuits with ``if``/``else`` blocks and those whose layout is chosen already are left as they are.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from xihe.circuit import Gate, Operation
from xihe.compiler.dag import DAGCircuit, PropertySet, has_if_blocks
from xihe.compiler.passes.swaps import Pass
from xihe.compiler.threads import compile_threads, run_striped
from xihe.compiler.two_qubit import gate_matrix

H, S, SDG, X, Y, Z, CX = (Gate(name) for name in ("h", "s", "sdg", "x", "y", "z", "cx"))
# Regions wider than this are not resynthesised (the greedy synthesis is cubic in the width).
MAX_WIDTH = 24
# The resynthesised circuit goes through the KAK stage too only if the regions cut its 2q gates to this fraction or
# less: a smaller cut did not survive that stage on QASMBench (vqe_uccsd_n6: 1,052 -> 987, then 883 against 883
# without the regions), and the second KAK stage is most of the pass's time.
MIN_CUT = 0.9
# Pauli as (x, z) bits.
_PAULI_NAMES = {(1, 0): "x", (0, 1): "z", (1, 1): "y"}


def _one_qubit_cliffords() -> list[tuple[tuple[str, ...], np.ndarray]]:
    """The 24 one-qubit Cliffords up to phase as the shortest h/s words (breadth first) and their matrices."""
    found: list[tuple[tuple[str, ...], np.ndarray]] = []
    queue: deque[tuple[tuple[str, ...], np.ndarray]] = deque([((), np.eye(2, dtype=complex))])
    while queue:
        word, m = queue.popleft()
        if any(abs(abs(np.trace(other.conj().T @ m)) - 2) < 1e-9 for _, other in found):
            continue
        found.append((word, m))
        for name in ("h", "s"):
            queue.append(((*word, name), gate_matrix(Gate(name)) @ m))
    return found


_CLIFFORDS_1Q = _one_qubit_cliffords()
_HALF = 2**-0.5


@lru_cache(maxsize=4096)
def clifford_word(gate: Gate) -> tuple[str, ...] | None:
    """A one-qubit gate as an h/s word (in time order) equal to it up to phase, or ``None`` if it is not Clifford."""
    if gate.definition is not None or gate.num_qubits != 1 or not gate.is_unitary:
        return None
    try:
        m = gate_matrix(gate)
    except Exception:  # a parameter that is not a number: not a Clifford this pass can know
        return None
    # Up to phase a one-qubit Clifford's entries all have modulus 0 and 1, or all 1/sqrt(2): one look rejects most.
    if min(abs(abs(m[0, 0]) - v) for v in (0.0, _HALF, 1.0)) > 1e-9:
        return None
    for word, c in _CLIFFORDS_1Q:
        if abs(abs(np.trace(c.conj().T @ m)) - 2) < 1e-9:
            return word
    return None


def is_clifford(op: Operation) -> bool:
    if op.condition is not None or not op.gate.is_unitary or op.gate.definition is not None:
        return False
    if len(op.qubits) == 2:
        return op.gate.name in ("cx", "cz", "swap")
    return len(op.qubits) == 1 and clifford_word(op.gate) is not None


class Tableau:
    """Aaronson-Gottesman tableau of an ``n``-qubit Clifford: row ``j`` is the image of ``X_j``, row ``n + j`` of
    ``Z_j``, with a sign. Stored by wire: ``x[w]`` and ``z[w]`` are integers whose bit ``i`` is row ``i``'s Pauli on
    wire ``w``, ``r`` the signs' bits, so a gate is a few integer operations whatever ``n`` (the regions are small
    and many: numpy's per-call cost was most of the pass). Gates are appended (applied after what it holds)."""

    __slots__ = ("mask", "n", "r", "x", "z")

    def __init__(self, n: int) -> None:
        self.n = n
        self.mask = (1 << 2 * n) - 1
        self.x = [1 << w for w in range(n)]
        self.z = [1 << (n + w) for w in range(n)]
        self.r = 0

    def copy(self) -> Tableau:
        out = Tableau.__new__(Tableau)
        out.n, out.mask, out.x, out.z, out.r = self.n, self.mask, list(self.x), list(self.z), self.r
        return out

    def h(self, a: int) -> None:
        x, z = self.x[a], self.z[a]
        self.r ^= x & z
        self.x[a], self.z[a] = z, x

    def s(self, a: int) -> None:
        self.r ^= self.x[a] & self.z[a]
        self.z[a] ^= self.x[a]

    def cx(self, c: int, t: int) -> None:
        xc, xt, zc, zt = self.x[c], self.x[t], self.z[c], self.z[t]
        self.r ^= xc & zt & ~(xt ^ zc) & self.mask
        self.x[t] = xt ^ xc
        self.z[c] = zc ^ zt

    def pauli(self, row: int, wire: int) -> tuple[int, int]:
        """Row ``row``'s Pauli on ``wire`` as (x, z) bits."""
        return (self.x[wire] >> row) & 1, (self.z[wire] >> row) & 1

    def permuted(self, perm: list[int]) -> Tableau:
        """This Clifford followed by moving wire ``j``'s state to ``perm[j]``."""
        out = self.copy()
        for j, w in enumerate(perm):
            out.x[w], out.z[w] = self.x[j], self.z[j]
        return out

    def apply(self, name: str, qubits: tuple[int, ...]) -> None:
        """Append a gate of the synthesis' set (h, s, sdg, x, y, z, cx, cz, swap) on local wires."""
        if name == "h":
            self.h(qubits[0])
        elif name == "s":
            self.s(qubits[0])
        elif name == "sdg":
            for _ in range(3):
                self.s(qubits[0])
        elif name in ("x", "y", "z"):
            a = qubits[0]
            # X flips rows with Z on a, Z rows with X on a, Y both.
            self.r ^= {"x": self.z[a], "z": self.x[a], "y": self.x[a] ^ self.z[a]}[name]
        elif name == "cx":
            self.cx(*qubits)
        elif name == "cz":
            self.h(qubits[1])
            self.cx(*qubits)
            self.h(qubits[1])
        elif name == "swap":
            a, b = qubits
            self.cx(a, b)
            self.cx(b, a)
            self.cx(a, b)
        else:
            raise ValueError(f"not a tableau gate: {name}")

    def apply_op(self, op: Operation, local: dict[int, int]) -> None:
        """Append a Clifford operation (:func:`is_clifford`) on circuit qubits, ``local`` mapping them to wires."""
        qubits = tuple(local[q] for q in op.qubits)
        if len(qubits) == 2:
            self.apply(op.gate.name, qubits)
            return
        word = clifford_word(op.gate)
        assert word is not None
        for name in word:
            self.apply(name, qubits)

    def same(self, other: Tableau, signs: bool = True) -> bool:
        return self.x == other.x and self.z == other.z and (not signs or self.r == other.r)


# Pair classes of the greedy synthesis by (image of X_j on a wire, image of Z_j on it), Paulis as (x, z) bits.
_A, _B, _C, _D, _E = range(5)


def _pair_class(dx: int, dz: int, sx: int, sz: int) -> int:
    d, s = (dx, dz), (sx, sz)
    if d == (0, 0):
        return _E if s == (0, 0) else _D
    if s == (0, 0):
        return _C
    return _B if d == s else _A


# For a (D, S) pair of Paulis on one wire, the h/s word that takes it to its class's normal form:
# A -> (X, Z), B -> (Z, Z), C -> (X, I), D -> (I, Z).
_NORMAL = {_A: ((1, 0), (0, 1)), _B: ((0, 1), (0, 1)), _C: ((1, 0), (0, 0)), _D: ((0, 0), (0, 1))}


def _conjugate(word: tuple[str, ...], p: tuple[int, int]) -> tuple[int, int]:
    x, z = p
    for name in word:
        if name == "h":
            x, z = z, x
        else:  # s: X -> Y, Y -> X (up to sign)
            z ^= x
    return x, z


def _normalising_words() -> dict[tuple[int, int, int, int], tuple[str, ...]]:
    out: dict[tuple[int, int, int, int], tuple[str, ...]] = {}
    for dx, dz, sx, sz in np.ndindex(2, 2, 2, 2):
        cls = _pair_class(dx, dz, sx, sz)
        if cls == _E:
            continue
        for word, _ in _CLIFFORDS_1Q:  # shortest first
            if (_conjugate(word, (dx, dz)), _conjugate(word, (sx, sz))) == _NORMAL[cls]:
                out[(dx, dz, sx, sz)] = word
                break
    return out


_NORMALISE = _normalising_words()
_PAIR_CLASS = {key: _pair_class(*key) for key in ((dx, dz, sx, sz) for dx in (0, 1) for dz in (0, 1) for sx in (0, 1)
                                                  for sz in (0, 1))}


def greedy_synthesis(target: Tableau) -> tuple[list[tuple[str, tuple[int, ...]]], list[int]] | None:
    """Gates ``G`` (appended in order) and a permutation ``perm`` with ``G C`` a signed permutation taking wire ``j``
    to ``perm[j]``; ``None`` if elimination fails (it does not for a valid tableau)."""
    t = target.copy()
    n = t.n
    gates: list[tuple[str, tuple[int, ...]]] = []
    rows = list(range(n))
    free = list(range(n))
    perm = [-1] * n

    def pair(j: int, w: int) -> tuple[int, int, int, int]:
        return (*t.pauli(j, w), *t.pauli(n + j, w))

    def apply(name: str, qubits: tuple[int, ...]) -> None:
        gates.append((name, qubits))
        t.apply(name, qubits)

    while rows:
        best: tuple[int, int, list[int]] | None = None
        for j in rows:
            cls = [_PAIR_CLASS[pair(j, w)] for w in free]
            a, b, c, d = (cls.count(k) for k in (_A, _B, _C, _D))
            if a % 2 == 0:
                return None
            cost = 3 * (a - 1) // 2 + (b + 1 if b else 0) + c + d
            if best is None or cost < best[0]:
                best = (cost, j, cls)
        assert best is not None
        _, j, cls = best
        by_class: dict[int, list[int]] = {k: [] for k in range(5)}
        for w, k in zip(free, cls, strict=True):
            by_class[k].append(w)
            if k != _E:
                for name in _NORMALISE[pair(j, w)]:
                    apply(name, (w,))
        a_wires = by_class[_A]
        home = j if j in a_wires else a_wires[0]  # keep the qubit on its own wire where that is free
        for w in by_class[_C]:
            apply("cx", (home, w))
        for w in by_class[_D]:
            apply("cx", (w, home))
        b_wires = by_class[_B]
        for w in b_wires[1:]:
            apply("cx", (w, b_wires[0]))
        if b_wires:
            apply("cx", (b_wires[0], home))
            apply("h", (b_wires[0],))
            apply("cx", (home, b_wires[0]))
        rest = [w for w in a_wires if w != home]
        for k1, k2 in zip(rest[::2], rest[1::2], strict=True):
            apply("cx", (k1, k2))
            apply("cx", (home, k1))
            apply("cx", (k2, home))
        if any(pair(j, w) != ((1, 0, 0, 1) if w == home else (0, 0, 0, 0)) for w in free):
            return None
        perm[j] = home
        rows.remove(j)
        free.remove(home)
    return gates, perm


_INVERSE = {"h": "h", "s": "sdg", "sdg": "s", "cx": "cx"}


def synthesise_region(target: Tableau) -> tuple[list[tuple[str, tuple[int, ...]]], list[int]] | None:
    """Gates (time order, on local wires) ``E`` and ``perm`` with ``C = P E``, ``P`` moving wire ``j`` to
    ``perm[j]``: after ``E`` the state ``C`` puts on wire ``w`` is on wire ``perm^-1[w]``. Checked exactly."""
    found = greedy_synthesis(target)
    if found is None:
        return None
    gates, perm = found
    n = target.n
    inverse_perm = [0] * n
    for j, w in enumerate(perm):
        inverse_perm[w] = j
    # G C = P P0 (P0 a Pauli)  =>  C = G^-1 P P0 = P (P^-1 G^-1 P) P0: the inverse gates, reversed, renamed by perm^-1.
    body = [(_INVERSE[name], tuple(inverse_perm[q] for q in qubits)) for name, qubits in reversed(gates)]
    made = Tableau(n)
    for name, qubits in body:
        made.apply(name, qubits)
    # Then P: wire j's content moves to perm[j].
    moved = made.permuted(perm)
    if not moved.same(target, signs=False):
        return None
    # Sign corrections at the start: Z on j flips the image of X_j, X on j that of Z_j.
    flips = moved.r ^ target.r
    paulis = [(_PAULI_NAMES[((flips >> (n + j)) & 1, (flips >> j) & 1)], (j,)) for j in range(n)
              if (flips >> j) & 1 or (flips >> (n + j)) & 1]
    gates_out = [*paulis, *body]
    check = Tableau(n)
    for name, qubits in gates_out:
        check.apply(name, qubits)
    return (gates_out, perm) if check.permuted(perm).same(target) else None


def clifford_regions(dag: DAGCircuit) -> list[tuple[bool, list[int]]]:
    """The circuit's operations as alternating runs (``True`` for a Clifford run) in a topological order, collected
    from the DAG's front as Qiskit's ``BlockCollector`` does: all the non-Clifford operations that are ready, then all
    the Clifford ones, and so on."""
    succ = dag.successors()
    degree = dag.in_degrees(succ)
    clifford = [is_clifford(op) for op in dag.ops]
    ready = {True: deque[int](), False: deque[int]()}
    for i, d in enumerate(degree):
        if d == 0:
            ready[clifford[i]].append(i)
    out: list[tuple[bool, list[int]]] = []
    kind = False
    while ready[True] or ready[False]:
        run: list[int] = []
        queue = ready[kind]
        while queue:
            i = queue.popleft()
            run.append(i)
            for k in succ[i]:
                degree[k] -= 1
                if degree[k] == 0:
                    ready[clifford[k]].append(k)
        if run:
            out.append((kind, run))
        kind = not kind
    return out


def _relabelled(op: Operation, wire: list[int]) -> Operation:
    qubits = tuple(wire[q] for q in op.qubits)
    return op if qubits == op.qubits else op.replace(qubits=qubits)


def _components(ops: list[Operation]) -> list[list[Operation]]:
    """A region's operations split by the groups of qubits its two-qubit gates connect, each in the region's order
    (the groups share no qubit, so their order between each other is free). A group of one or two qubits comes back
    as it is for the pair-wise KAK stage, which does as well on it."""
    parent: dict[int, int] = {}

    def find(q: int) -> int:
        while parent.setdefault(q, q) != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    for op in ops:
        roots = [find(q) for q in op.qubits]
        for r in roots[1:]:
            parent[r] = roots[0]
    groups: dict[int, list[Operation]] = {}
    for op in ops:
        groups.setdefault(find(op.qubits[0]), []).append(op)
    return list(groups.values())


def _two_qubit_cost(ops: list[Operation]) -> int:
    return sum(3 if op.gate.name == "swap" else 1 for op in ops if len(op.qubits) == 2)


class CliffordResynthesis:
    """Resynthesise each Clifford region whose greedy synthesis has fewer two-qubit gates (module docstring).

    ``properties['elided_permutation']`` is composed with the relabelling, as :class:`.ImplicitSwaps` does;
    ``properties['clifford_regions']`` counts the regions replaced.

    ``then``: the passes that follow (the pair-wise KAK stage). Where the regions cut the 2q gates by 10 % or more
    they run on both the source and the resynthesised circuit and the one with fewer two-qubit gates at the end is
    kept (the source on a tie): a greedy synthesis of a Clifford run between rotations can cost the pair-wise
    passes more than it saves (QASMBench's ``basis_trotter_n4``: 175 CX that way, 159 without).
    """

    def __init__(self, then: Sequence[Pass] = (), min_two_qubit: int = 3, threads: int | None = None) -> None:
        self.then = list(then)
        self.min_two_qubit = min_two_qubit  # a region with fewer 2q gates cannot gain enough to be worth a tableau
        # Threads for the two independent paths (None: :func:`~xihe.compiler.threads.compile_threads`).
        self.threads = threads
        # Synthesis by region, on its local wires (gates, perm), or None where it does not gain.
        self._memo: dict[tuple[tuple[Gate, tuple[int, ...]], ...], tuple[list[tuple[str, tuple[int, ...]]],
                                                                          list[int]] | None] = {}

    def run(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        mine = dict(properties)

        def path(k: int) -> DAGCircuit | None:
            """0: the source through ``then``; 1: the resynthesised circuit through ``then``, or None where the
            regions do not cut enough."""
            if k == 0:
                plain = dag
                for p in self.then:
                    plain = p.run(plain, properties)
                return plain
            resynthesised = self.resynthesise(dag, mine)
            if resynthesised is dag or resynthesised.count_two_qubit() > MIN_CUT * dag.count_two_qubit():
                return None
            for p in self.then:
                resynthesised = p.run(resynthesised, mine)
            return resynthesised

        # The two paths are independent (each its own property set; the passes' memos hold only what any path would
        # compute): side by side, the region scan's Python beside the source path's kernels.
        threads = self.threads if self.threads is not None else compile_threads()
        plain, resynthesised = run_striped(path, 2, threads)
        assert plain is not None
        if resynthesised is None or resynthesised.count_two_qubit() >= plain.count_two_qubit():
            return plain
        properties.clear()
        properties.update(mine)
        return resynthesised

    def resynthesise(self, dag: DAGCircuit, properties: PropertySet) -> DAGCircuit:
        """Every Clifford region that the greedy synthesis writes with fewer two-qubit gates, replaced."""
        if "layout" in properties or has_if_blocks(dag.ops):
            return dag
        wire = list(range(dag.num_qubits))  # qubit as the input names it -> the wire that now holds its state
        holder = list(range(dag.num_qubits))  # wire -> that qubit
        out: list[Operation] = []
        replaced = 0
        for is_region, run in clifford_regions(dag):
            ops = [dag.ops[i] for i in run]
            ops = [_relabelled(op, wire) for op in ops]
            if not is_region:
                out.extend(ops)
                continue
            for part in _components(ops):
                new = self._resynthesise(part)
                if new is None:
                    out.extend(part)
                    continue
                gates, wires, perm = new
                out.extend(gates)
                # After the region, the state the region puts on wires[perm[j]] is on wires[j].
                moved = {wires[perm[j]]: wires[j] for j in range(len(wires))}
                old_holder = list(holder)
                for w_from, w_to in moved.items():
                    holder[w_to] = old_holder[w_from]
                for w in wires:
                    wire[holder[w]] = w
                replaced += 1
        if not replaced:
            return dag
        previous = properties.get("elided_permutation")
        properties["elided_permutation"] = wire if previous is None else [wire[w] for w in previous]
        properties["clifford_regions"] = properties.get("clifford_regions", 0) + replaced
        return dag.copy_with(out)

    def _resynthesise(self, ops: list[Operation]) -> tuple[list[Operation], list[int], list[int]] | None:
        """A connected part of a region as (gates, its wires, perm) when the synthesis has fewer 2q gates."""
        cost = _two_qubit_cost(ops)
        wires = sorted({q for op in ops for q in op.qubits})
        if cost < self.min_two_qubit or len(wires) < 3 or len(wires) > MAX_WIDTH:
            return None
        # k connected qubits need k - 1 entangling gates, with or without a relabelling; a swap can go entirely.
        if cost <= len(wires) - 1 and not any(op.gate.name == "swap" for op in ops):
            return None
        local = {w: k for k, w in enumerate(wires)}
        key = tuple((op.gate, tuple(local[q] for q in op.qubits)) for op in ops)
        if key not in self._memo:  # a circuit repeats its Clifford runs (a UCCSD ansatz its CX ladders)
            self._memo[key] = self._synthesise(ops, local, cost)
        found = self._memo[key]
        if found is None:
            return None
        gates, perm = found
        made = [Operation(CX if name == "cx" else Gate(name), tuple(wires[q] for q in qubits))
                for name, qubits in gates]
        return made, wires, perm

    @staticmethod
    def _synthesise(ops: list[Operation], local: dict[int, int], cost: int) -> \
            tuple[list[tuple[str, tuple[int, ...]]], list[int]] | None:
        tableau = Tableau(len(local))
        for op in ops:
            tableau.apply_op(op, local)
        found = synthesise_region(tableau)
        if found is None or sum(1 for _, qubits in found[0] if len(qubits) == 2) >= cost:
            return None
        return found
