"""A bond-dimension bound from the circuit's Clifford skeleton: exact for stabilizer states, 2^k more per k bits of
non-Clifford "magic".

The gate-product bound of :func:`xihe.engines.mps.bond_dimension_bound` multiplies the operator Schmidt rank of
every gate that straddles a cut, so a routed GHZ state (a chain of CZs with SWAPs through it, as the compiler
writes it for ``dongling``) looks like bond dimension 4096 although it is 2. This bound sees through such
circuits. Write each non-Clifford gate ``g`` as a sum of ``r_g`` Pauli strings; pushing those Paulis through the
Clifford gates after them turns the state into a sum of ``prod r_g`` terms ``P_b |psi_C>``, where ``|psi_C>`` is the
stabilizer state of the *skeleton* (the circuit with its non-Clifford gates left out) and each ``P_b`` is a product
of single-qubit Paulis, which changes no Schmidt rank. A sum of ``N`` states of Schmidt rank ``R`` has rank at most
``N R``, so at each cut::

    chi_c <= 2^(S_c + sum_g log2 r_g)

with ``S_c`` the skeleton's entanglement across the cut: ``rank_GF2(stabilizers restricted to the left) - |left|``
(Fattal et al., quant-ph/0406168). ``r_g`` is 2 for ``t``, ``rz`` or ``rzz`` (I and Z terms) and at most ``4^m`` for
an ``m``-qubit gate. The skeleton runs in stim's tableau simulator, in milliseconds for a chip-wide circuit.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import product

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.circuit.control import IfElse
from xihe.circuit.gate import Gate
from xihe.circuit.protocols import unitary
from xihe.engines.clifford import is_clifford_gate
from xihe.engines.stabilizer import _gate_program

_PAULIS = {"I": np.eye(2), "X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]),
           "Z": np.diag([1, -1])}
_MAX_MAGIC_BITS = 62  # past this the bound says nothing the gate-product bound does not
_MAX_GATE_QUBITS = 3
_SKIPPED = frozenset({"barrier", "delay", "measure"})


@lru_cache(maxsize=4096)
def pauli_terms(gate: Gate) -> int:
    """How many Pauli strings ``gate``'s matrix has a nonzero coefficient on (``t``: 2; a general 1q gate: 4)."""
    u = unitary(gate)
    m = gate.num_qubits
    count = 0
    for labels in product("IXYZ", repeat=m):
        pauli = np.array([[1.0]])
        for label in labels:
            pauli = np.kron(pauli, _PAULIS[label])
        if abs(np.trace(pauli.conj().T @ u)) / 2**m > 1e-12:
            count += 1
    return count


def gf2_rank(rows: np.ndarray) -> int:
    """The rank over GF(2) of a boolean matrix."""
    m = rows.copy()
    rank = 0
    for col in range(m.shape[1]):
        pivots = np.nonzero(m[rank:, col])[0]
        if pivots.size == 0:
            continue
        pivot = rank + int(pivots[0])
        m[[rank, pivot]] = m[[pivot, rank]]
        below = np.nonzero(m[:, col])[0]
        below = below[below != rank]
        m[below] ^= m[rank]
        rank += 1
        if rank == m.shape[0]:
            break
    return rank


def _last_gate_positions(circuit: Circuit) -> dict[int, int]:
    last: dict[int, int] = {}
    for index, op in enumerate(circuit.operations):
        if op.gate.name not in _SKIPPED:
            for q in op.qubits:
                last[q] = index
    return last


def clifford_skeleton_bound(circuit: Circuit) -> list[int] | None:
    """An upper bound on the bond dimension at each of the ``n - 1`` cuts (see the module docstring), or None
    where it does not apply: a dynamic circuit (a block, a condition, a measurement or reset before a later gate),
    a non-Clifford gate on more than three qubits, or more magic than the bound can use."""
    import stim

    n = circuit.num_qubits
    if n < 2:
        return [] if n == 1 else None
    last = _last_gate_positions(circuit)
    terms = 1  # prod r_g, the number of Pauli-string branches
    skeleton = stim.Circuit()
    for index, op in enumerate(circuit.operations):
        name = op.gate.name
        if isinstance(op, IfElse) or op.condition is not None or name == "reset":
            return None
        if name in _SKIPPED:
            if name == "measure" and any(last.get(q, -1) > index for q in op.qubits):
                return None  # a mid-circuit measurement: the state after it is not the skeleton's
            continue
        if is_clifford_gate(op.gate):
            for stim_name, local in _gate_program(op.gate):
                skeleton.append(stim_name, [op.qubits[i] for i in local])
            continue
        if op.gate.num_qubits > _MAX_GATE_QUBITS:
            return None
        terms *= pauli_terms(op.gate)
        if terms > 2**_MAX_MAGIC_BITS:
            return None
    simulator = stim.TableauSimulator()
    simulator.set_num_qubits(n)
    simulator.do_circuit(skeleton)
    stabilizers = simulator.canonical_stabilizers()
    xs = np.zeros((n, n), dtype=bool)
    zs = np.zeros((n, n), dtype=bool)
    for row, stabilizer in enumerate(stabilizers):
        x, z = stabilizer.to_numpy()
        xs[row, : len(x)], zs[row, : len(z)] = x, z
    bounds = []
    for cut in range(n - 1):
        left = cut + 1
        entropy = gf2_rank(np.concatenate([xs[:, :left], zs[:, :left]], axis=1)) - left
        bounds.append(min(2**entropy * terms, 2**_MAX_MAGIC_BITS))
    return bounds
