"""Target: everything the compiler knows of a device (qubits, couplings, native gates with duration and error).

A :class:`Target` maps each native gate name to the qubit tuples it may act on, each with an
:class:`InstructionProperties` (duration in ns, error = 1 - average gate fidelity). The directed coupling map is the
set of qubit pairs of its two-qubit gates; a symmetric gate (``cz``) is listed in both directions. Qubits that are
not working (dead on the chip) appear in no tuple and the compiler never uses them.

>>> t = Target.line(3, two_qubit_gate="cx")
>>> sorted(t.coupling_map)
[(0, 1), (1, 0), (1, 2), (2, 1)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from xihe.circuit import is_symmetric, is_virtual
from xihe.errors import CompileError

UNREACHABLE = 1 << 20


@dataclass(frozen=True)
class InstructionProperties:
    """Duration (ns) and error (1 - average gate fidelity) of one native gate on one qubit tuple."""

    duration: float = 0.0
    error: float = 0.0


class Target:
    """Qubits, native gates per qubit tuple, readout error and coherence times of one device.

    ``gates`` is ``None`` for an unconstrained target (an ideal simulator): every gate on every qubit tuple.
    """

    def __init__(
        self,
        num_qubits: int,
        gates: Mapping[str, Mapping[tuple[int, ...], InstructionProperties]] | None = None,
        *,
        working_qubits: Iterable[int] | None = None,
        readout_error: Mapping[int, tuple[float, float]] | None = None,
        t1: Mapping[int, float] | None = None,
        t2: Mapping[int, float] | None = None,
        t2_ramsey: Mapping[int, float] | None = None,
        measure_duration: float = 0.0,
        labels: list[str] | None = None,
        priority_qubits: Iterable[Iterable[int]] = (),
    ) -> None:
        self.num_qubits = num_qubits
        self.gates: dict[str, dict[tuple[int, ...], InstructionProperties]] | None = (
            None if gates is None else {name: dict(props) for name, props in gates.items()}
        )
        self.working_qubits: tuple[int, ...] = tuple(sorted(working_qubits if working_qubits is not None
                                                            else range(num_qubits)))
        self.readout_error: dict[int, tuple[float, float]] = dict(readout_error or {})
        self.t1: dict[int, float] = dict(t1 or {})
        self.t2: dict[int, float] = dict(t2 or {})
        # T2* (Ramsey, free induction decay) per qubit: how an idle qubit dephases without dynamical decoupling.
        # ``t2`` (T2echo) is what a refocused qubit keeps; a qubit missing here idles with ``t2``.
        self.t2_ramsey: dict[int, float] = dict(t2_ramsey or {})
        self.measure_duration = measure_duration
        self.labels = labels or [f"Q{i}" for i in range(num_qubits)]
        # The operator's preferred regions (a chip file's ``priority_qubits``): a circuit of exactly that many qubits
        # is laid out on one of them. Groups with a dead qubit or not connected by working couplers are dropped.
        self.priority_qubits: tuple[tuple[int, ...], ...] = ()
        self._check()
        self.priority_qubits = tuple(g for g in (tuple(int(q) for q in group) for group in priority_qubits)
                                     if self._usable_group(g))

    def _usable_group(self, group: tuple[int, ...]) -> bool:
        if not group or len(set(group)) != len(group) or any(q not in self.neighbors for q in group):
            return False
        inside, seen, stack = set(group), {group[0]}, [group[0]]
        while stack:
            for r in self.neighbors[stack.pop()]:
                if r in inside and r not in seen:
                    seen.add(r)
                    stack.append(r)
        return len(seen) == len(group)

    def _check(self) -> None:
        working = set(self.working_qubits)
        for name, props in (self.gates or {}).items():
            for qubits in props:
                dead = [q for q in qubits if q not in working]
                if dead:
                    raise CompileError(f"target lists '{name}' on qubits {qubits}, but {dead} are not working")

    # --- constructors ----------------------------------------------------------------------------------------------
    @classmethod
    def ideal(cls, num_qubits: int) -> Target:
        """All-to-all, any gate, no error: an ideal simulator."""
        return cls(num_qubits, None)

    @classmethod
    def from_edges(
        cls,
        num_qubits: int,
        edges: Iterable[tuple[int, int]],
        *,
        two_qubit_gate: str = "cz",
        one_qubit_gates: Iterable[str] = ("rx", "ry", "rz"),
        one_qubit_duration: float = 30.0,
        two_qubit_duration: float = 60.0,
    ) -> Target:
        """An error-free target on a graph (tests and examples); ``cz`` edges are listed in both directions."""
        gates: dict[str, dict[tuple[int, ...], InstructionProperties]] = {}
        for name in one_qubit_gates:
            dur = 0.0 if is_virtual(name) else one_qubit_duration
            gates[name] = {(q,): InstructionProperties(dur, 0.0) for q in range(num_qubits)}
        pairs: dict[tuple[int, ...], InstructionProperties] = {}
        for a, b in edges:
            pairs[(a, b)] = InstructionProperties(two_qubit_duration, 0.0)
            if is_symmetric(two_qubit_gate) or two_qubit_gate == "cx":
                pairs[(b, a)] = InstructionProperties(two_qubit_duration, 0.0)
        gates[two_qubit_gate] = pairs
        return cls(num_qubits, gates)

    @classmethod
    def line(cls, num_qubits: int, two_qubit_gate: str = "cz") -> Target:
        return cls.from_edges(num_qubits, [(i, i + 1) for i in range(num_qubits - 1)], two_qubit_gate=two_qubit_gate)

    # --- what the compiler asks --------------------------------------------------------------------------------------
    @property
    def unconstrained(self) -> bool:
        return self.gates is None

    @cached_property
    def native_gates(self) -> frozenset[str]:
        return frozenset(self.gates or ())

    @cached_property
    def one_qubit_gates(self) -> frozenset[str]:
        return frozenset(n for n, p in (self.gates or {}).items() if p and len(next(iter(p))) == 1)

    @cached_property
    def two_qubit_gates(self) -> tuple[str, ...]:
        """Native two-qubit gate names, best (lowest mean error) first."""
        gates = self.gates or {}
        names = [n for n, p in gates.items() if p and len(next(iter(p))) == 2]
        return tuple(sorted(names, key=lambda n: float(np.mean([v.error for v in gates[n].values()]))))

    @cached_property
    def coupling_map(self) -> frozenset[tuple[int, int]]:
        """Directed pairs ``(a, b)`` on which some native two-qubit gate acts (``a`` first, e.g. CX control)."""
        pairs: set[tuple[int, int]] = set()
        for props in (self.gates or {}).values():
            for qubits in props:
                if len(qubits) == 2:
                    pairs.add((qubits[0], qubits[1]))
        return frozenset(pairs)

    @cached_property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """Undirected working couplings, each once as ``(low, high)``."""
        return tuple(sorted({(min(a, b), max(a, b)) for a, b in self.coupling_map}))

    @cached_property
    def neighbors(self) -> dict[int, tuple[int, ...]]:
        out: dict[int, set[int]] = {q: set() for q in self.working_qubits}
        for a, b in self.edges:
            out[a].add(b)
            out[b].add(a)
        return {q: tuple(sorted(n)) for q, n in out.items()}

    @cached_property
    def distance(self) -> np.ndarray:
        """Hop distance between physical qubits over working couplings (``UNREACHABLE`` when disconnected)."""
        n = self.num_qubits
        dist = np.full((n, n), UNREACHABLE, dtype=np.int64)
        if self.unconstrained:
            dist[:] = 1
            np.fill_diagonal(dist, 0)
            return dist
        for src in self.working_qubits:
            dist[src, src] = 0
            frontier = [src]
            d = 0
            while frontier:
                d += 1
                nxt = []
                for q in frontier:
                    for r in self.neighbors[q]:
                        if dist[src, r] == UNREACHABLE:
                            dist[src, r] = d
                            nxt.append(r)
                frontier = nxt
        return dist

    @cached_property
    def components(self) -> list[tuple[int, ...]]:
        """Connected groups of working qubits, largest first."""
        seen: set[int] = set()
        out = []
        for q in self.working_qubits:
            if q in seen:
                continue
            group = [int(r) for r in np.nonzero(self.distance[q] < UNREACHABLE)[0]]
            seen.update(group)
            out.append(tuple(sorted(group)))
        return sorted(out, key=len, reverse=True)

    def restricted(self, qubits: Iterable[int] | None = None, max_error: float | None = None) -> Target:
        """This target on ``qubits`` only (all working ones if None) without couplings of error above
        ``max_error``: the same numbering, fewer working qubits and couplers (layout and routing use it to keep off
        bad couplers and inside a chosen region). Cached: layout asks for the same few views on every compile."""
        keep = frozenset(self.working_qubits if qubits is None else qubits)
        key = (keep, max_error)
        cache: dict[tuple[frozenset[int], float | None], Target] = self.__dict__.setdefault("_restricted", {})
        if key in cache:
            return cache[key]
        gates: dict[str, dict[tuple[int, ...], InstructionProperties]] = {}
        for name, props in (self.gates or {}).items():
            kept = {}
            for qs, p in props.items():
                if any(q not in keep for q in qs):
                    continue
                if len(qs) == 2 and max_error is not None and self.two_qubit_error(*qs) > max_error:
                    continue
                kept[qs] = p
            gates[name] = kept
        view = Target(self.num_qubits, gates, working_qubits=sorted(keep), readout_error=self.readout_error,
                      t1=self.t1, t2=self.t2, t2_ramsey=self.t2_ramsey, measure_duration=self.measure_duration,
                      labels=self.labels)
        cache[key] = view
        return view

    def supports(self, name: str, qubits: tuple[int, ...]) -> bool:
        """Whether ``name`` is native on exactly these qubits (order matters for directed gates)."""
        if self.gates is None:
            return all(0 <= q < self.num_qubits for q in qubits)
        props = self.gates.get(name)
        return props is not None and tuple(qubits) in props

    def properties(self, name: str, qubits: tuple[int, ...]) -> InstructionProperties:
        if self.gates is None:
            return InstructionProperties()
        props = self.gates.get(name, {})
        found = props.get(tuple(qubits))
        if found is None and is_symmetric(name) and len(qubits) == 2:
            found = props.get((qubits[1], qubits[0]))
        return found or InstructionProperties()

    def error(self, name: str, qubits: tuple[int, ...]) -> float:
        return self.properties(name, qubits).error

    def duration(self, name: str, qubits: tuple[int, ...]) -> float:
        return self.properties(name, qubits).duration

    def two_qubit_error(self, a: int, b: int) -> float:
        """Error of the best native two-qubit gate on the pair, either direction (a reversed CX costs only 1q)."""
        found = self._pair_errors.get((a, b))
        return self._pair_error(a, b) if found is None else found

    @cached_property
    def _pair_errors(self) -> dict[tuple[int, int], float]:
        """:meth:`two_qubit_error` of every pair with a native two-qubit gate, both ways round, computed once: the
        layout search, the fan-out placement and the estimate ask for it tens of thousands of times per compile
        (issue 19)."""
        pairs = {pair for name in self.two_qubit_gates for pair in (self.gates or {}).get(name, {})}
        return {(a, b): self._pair_error(a, b) for x, y in pairs for a, b in ((x, y), (y, x))}

    def _pair_error(self, a: int, b: int) -> float:
        best = 1.0
        for name in self.two_qubit_gates:
            props = self.gates[name] if self.gates else {}
            for pair in ((a, b), (b, a)):
                if pair in props:
                    best = min(best, props[pair].error)
        return 0.0 if self.unconstrained else best

    def readout_fidelity(self, qubit: int) -> float:
        p10, p01 = self.readout_error.get(qubit, (0.0, 0.0))
        return 1.0 - (p10 + p01) / 2

    def __repr__(self) -> str:
        if self.unconstrained:
            return f"<Target ideal {self.num_qubits} qubits>"
        return (f"<Target {len(self.working_qubits)}/{self.num_qubits} working qubits, "
                f"{len(self.edges)} couplings, gates {sorted(self.native_gates)}>")
