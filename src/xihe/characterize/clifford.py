"""The one- and two-qubit Clifford groups as tables of stim tableaux with short gate words, for benchmarking.

Each group is enumerated once (lazily) by a 0-1 breadth-first search over the generators ``h``, ``s`` (cost 0) and
``cx`` (cost 1) acting on stim tableaux, so every element gets a word with the fewest CNOTs (0, 1, 2 or 3; 1.5 on
average over the 11,520 two-qubit Cliffords, as in Corcoles et al. 2013). Elements are identified by their
tableau (global phase ignored), so products and inverses are exact table look-ups.

>>> len(clifford_group(1)), len(clifford_group(2))
(24, 11520)
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import stim

Word = tuple[tuple[str, tuple[int, ...]], ...]


def tableau_key(t: stim.Tableau) -> bytes:
    """A hashable identity of a tableau (stim tableaux are not hashable)."""
    return b"".join(np.asarray(a).tobytes() for a in t.to_numpy())


@dataclass(frozen=True)
class CliffordGroup:
    """The ``num_qubits``-qubit Clifford group: element ``i`` has tableau ``tableaux[i]`` and gate word ``words[i]``."""

    num_qubits: int
    tableaux: tuple[stim.Tableau, ...]
    words: tuple[Word, ...]
    index: dict[bytes, int]

    def __len__(self) -> int:
        return len(self.tableaux)

    def lookup(self, t: stim.Tableau) -> int:
        return self.index[tableau_key(t)]

    def compose(self, elements: Sequence[int]) -> stim.Tableau:
        """The tableau of applying ``elements`` in order (first element first)."""
        total = stim.Tableau(self.num_qubits)
        for e in elements:
            total = total.then(self.tableaux[e])
        return total

    def inverse_of(self, elements: Sequence[int]) -> int:
        """The element that undoes the sequence ``elements``."""
        return self.lookup(self.compose(elements).inverse())

    def cx_count(self, element: int) -> int:
        return sum(1 for name, _ in self.words[element] if name == "cx")


def _generators(num_qubits: int) -> list[tuple[str, tuple[int, ...], int]]:
    gens: list[tuple[str, tuple[int, ...], int]] = []
    for q in range(num_qubits):
        gens += [("h", (q,), 0), ("s", (q,), 0)]
    if num_qubits == 2:
        gens.append(("cx", (0, 1), 1))
    return gens


@cache
def clifford_group(num_qubits: int) -> CliffordGroup:
    """The whole Clifford group on one or two qubits, each element with a fewest-CNOT word."""
    if num_qubits not in (1, 2):
        raise ValueError("only the 1- and 2-qubit Clifford groups are tabulated; sample larger ones with stim")
    gens = [(name, qs, cost, stim.Tableau.from_named_gate(name.upper())) for name, qs, cost in _generators(num_qubits)]
    start = stim.Tableau(num_qubits)
    # Dijkstra on (CNOT count, word length): fewest CNOTs first, then the shortest word.
    best: dict[bytes, tuple[tuple[int, int], Word, stim.Tableau]] = {tableau_key(start): ((0, 0), (), start)}
    heap: list[tuple[tuple[int, int], int, bytes]] = [((0, 0), 0, tableau_key(start))]
    done: set[bytes] = set()
    counter = 0
    while heap:
        cost, _, key = heapq.heappop(heap)
        if key in done:
            continue
        done.add(key)
        _, word, tab = best[key]
        for name, qs, step, gate in gens:
            nxt = tab.copy()
            nxt.append(gate, list(qs))
            nkey = tableau_key(nxt)
            ncost = (cost[0] + step, cost[1] + 1)
            if nkey not in best or best[nkey][0] > ncost:
                best[nkey] = (ncost, (*word, (name, qs)), nxt)
                counter += 1
                heapq.heappush(heap, (ncost, counter, nkey))
    ordered = sorted(best.values(), key=lambda item: (item[0], item[1]))
    tableaux = tuple(t for _, _, t in ordered)
    words = tuple(w for _, w, _ in ordered)
    return CliffordGroup(num_qubits, tableaux, words, {tableau_key(t): i for i, t in enumerate(tableaux)})
