"""Which qubit sits on which site of the MPS chain: an order that puts the qubits of two-qubit gates side by side.

The MPS engine applies a gate on qubits that are not neighbours on the chain by SWAPping them together and back,
two SVDs per site in between. A circuit compiled for a chip numbers its qubits by the chip's grid, so a GHZ chain
routed across ``dongling`` has gates between qubits 3 to 8 sites apart: 14 of its 57 fused steps cost about 170
SVDs of SWAPs, three times the steps themselves. :func:`site_order` lays the qubits out by the circuit's
interaction graph instead (its Fiedler order, which lays a path out as a path) and :func:`relabel` renumbers a
program onto it. The new order is only taken when it shortens the total gate distance without raising the
largest number of gates that cross one cut (what bounds the bond dimension there), so a circuit that is already
laid out well keeps its order.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from xihe.engines.program import Instr, Program


def _pair_weights(body: list[Instr]) -> dict[tuple[int, int], int]:
    weights: dict[tuple[int, int], int] = {}
    for ins in body:
        if ins.kind == "channel" or len(ins.qubits) < 2:
            continue
        qs = sorted(ins.qubits)
        for i, a in enumerate(qs):
            for b in qs[i + 1:]:
                weights[(a, b)] = weights.get((a, b), 0) + 1
    return weights


def _cost(weights: dict[tuple[int, int], int], site: list[int], n: int) -> tuple[int, int]:
    """Total extra distance of the gates, and the most gates crossing one cut, with qubit ``q`` on ``site[q]``."""
    distance = 0
    crossing = [0] * max(n - 1, 1)
    for (a, b), w in weights.items():
        lo, hi = sorted((site[a], site[b]))
        distance += w * (hi - lo - 1)
        for c in range(lo, hi):
            crossing[c] += w
    return distance, max(crossing)


def _components(n: int, weights: dict[tuple[int, int], int]) -> list[list[int]]:
    parent = list(range(n))

    def root(q: int) -> int:
        while parent[q] != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    for a, b in weights:
        parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for q in range(n):
        groups.setdefault(root(q), []).append(q)
    return sorted(groups.values(), key=lambda g: (len(g) == 1, g[0]))


def _spectral(members: list[int], weights: dict[tuple[int, int], int]) -> list[int]:
    """Members of one connected component ordered by its Fiedler vector (the smooth embedding of a graph on a
    line: a path comes out in path order)."""
    if len(members) < 3:
        return members
    index = {q: i for i, q in enumerate(members)}
    lap = np.zeros((len(members), len(members)))
    for (a, b), w in weights.items():
        if a in index:
            i, j = index[a], index[b]
            lap[i, j] -= w
            lap[j, i] -= w
            lap[i, i] += w
            lap[j, j] += w
    fiedler = np.linalg.eigh(lap)[1][:, 1]
    return [members[i] for i in np.argsort(fiedler, kind="stable")]


def _sites(order: list[int]) -> list[int]:
    site = [0] * len(order)
    for s, q in enumerate(order):
        site[q] = s
    return site


def _refine(order: list[int], weights: dict[tuple[int, int], int]) -> list[int]:
    """Swap neighbours on the chain while that shortens the total distance; a swap changes only the terms of the
    two qubits' own gates, so each try costs their degree (at most ``len(order)`` passes)."""
    order = list(order)
    site = _sites(order)
    neighbours: dict[int, list[tuple[int, int]]] = {q: [] for q in order}
    for (a, b), w in weights.items():
        neighbours[a].append((b, w))
        neighbours[b].append((a, w))
    for _ in range(len(order)):
        improved = False
        for i in range(len(order) - 1):
            a, b = order[i], order[i + 1]
            delta = sum(w * (abs(i + 1 - site[c]) - abs(i - site[c])) for c, w in neighbours[a] if c != b)
            delta += sum(w * (abs(i - site[c]) - abs(i + 1 - site[c])) for c, w in neighbours[b] if c != a)
            if delta < 0:
                order[i], order[i + 1] = b, a
                site[a], site[b] = i + 1, i
                improved = True
        if not improved:
            break
    return order


def site_order(prog: Program) -> list[int] | None:
    """``site[q]`` for each qubit ``q`` when a spectral order of the interaction graph (each connected component
    by its Fiedler vector, refined by neighbour swaps) beats the given order (module docstring), else ``None``."""
    n = prog.num_qubits
    weights = _pair_weights(prog.body)
    if n < 3 or not weights:
        return None
    old_distance, old_crossing = _cost(weights, list(range(n)), n)
    if old_distance == 0:  # every gate already acts on neighbours
        return None
    order = [q for members in _components(n, weights) for q in _spectral(members, weights)]
    site = _sites(_refine(order, weights))
    new_distance, new_crossing = _cost(weights, site, n)
    if new_distance >= old_distance or new_crossing > old_crossing:
        return None
    return site


def relabel(prog: Program, site: list[int]) -> Program:
    """The same program with qubit ``q`` renamed ``site[q]`` (matrices keep their qubit order)."""

    def move(ins: Instr) -> Instr:
        return replace(ins, qubits=tuple(site[q] for q in ins.qubits))

    return Program(prog.num_qubits, prog.num_clbits, [move(i) for i in prog.body], [move(i) for i in prog.terminal],
                   prog.num_flags)
