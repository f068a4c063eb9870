"""What the MPS engine can run, known before it runs: the bond dimension a circuit can reach and its memory.

Pure numpy over the lowered program, no kernel: the submit path prices a job with it (the API's parse processes
import no numba, issue 18), and :mod:`xihe.engines.mps` runs the circuits it admits. ``bond_dimension_bound``
bounds each cut's bond dimension by the operator Schmidt rank of the gates across it; ``estimate_memory`` prices
the tensors from that bound.
"""

from __future__ import annotations

import math

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.engines.entanglement import clifford_skeleton_bound
from xihe.engines.program import Instr, lower
from xihe.errors import ExecutionError

# Default cap on the bond dimension: 256 keeps a 100-qubit state under about 100 MiB.
DEFAULT_MAX_BOND_DIMENSION = 256
# Widest gate the engine builds as one matrix (controlled gates with more qubits are refused).
MAX_GATE_QUBITS = 10


def instruction_matrix(ins: Instr) -> np.ndarray:
    """The full ``2^k x 2^k`` matrix of a gate instruction (first qubit most significant)."""
    assert ins.matrix is not None
    if ins.kind == "diagonal":
        return np.diag(ins.matrix)
    if ins.kind == "controlled":
        k = len(ins.qubits)
        if k > MAX_GATE_QUBITS:
            raise ExecutionError(f"the mps engine applies gates on at most {MAX_GATE_QUBITS} qubits, not {k}")
        u = np.eye(1 << k, dtype=np.complex128)
        u[-2:, -2:] = ins.matrix
        return u
    return ins.matrix


def _operator_schmidt_rank(u: np.ndarray, k: int, left: list[int]) -> int:
    """Operator Schmidt rank of a ``k``-qubit matrix between gate positions ``left`` and the rest."""
    right = [j for j in range(k) if j not in left]
    t = u.reshape((2,) * (2 * k))
    axes = [*left, *(j + k for j in left), *right, *(j + k for j in right)]
    m = t.transpose(axes).reshape(1 << (2 * len(left)), -1)
    s = np.linalg.svd(m, compute_uv=False)
    return max(1, int(np.count_nonzero(s > 1e-12 * s[0])))


def bond_dimension_bound(circuit: Circuit) -> list[int]:
    """An upper bound on the bond dimension at each of the ``n - 1`` cuts of the final state.

    At cut ``c`` (between qubits ``c`` and ``c + 1``) it is ``min(2^min(c + 1, n - c - 1), prod r_g)``, the
    product over the gates ``g`` that straddle the cut of ``g``'s operator Schmidt rank across it (2 for CX or
    CZ, up to 4 for a general two-qubit gate). Exact for GHZ chains; pessimistic where gates cancel or SWAPs move
    qubits, so the smaller of it and :func:`~xihe.engines.entanglement.clifford_skeleton_bound` (a routed GHZ
    state with a ``t`` gate: 4, where the gate product says 4096) is taken at each cut.
    """
    n = circuit.num_qubits
    log2 = [0.0] * max(n - 1, 0)
    ranks: dict[tuple[str, tuple[int, ...], bytes], float] = {}
    for ins in lower(circuit).body:
        if ins.kind in ("measure", "reset") or len(ins.qubits) < 2:
            continue
        lo, hi = min(ins.qubits), max(ins.qubits)
        u = instruction_matrix(ins)
        k = len(ins.qubits)
        for c in range(lo, hi):
            left = [j for j, q in enumerate(ins.qubits) if q <= c]
            key = (ins.kind, tuple(left), u.tobytes())
            if key not in ranks:
                ranks[key] = math.log2(_operator_schmidt_rank(u, k, left))
            log2[c] += ranks[key]
    bounds = [int(min(2.0 ** min(c + 1, n - c - 1, 62), 2.0 ** min(log2[c], 62))) for c in range(n - 1)]
    if max(bounds, default=1) <= 2:
        return bounds
    skeleton = clifford_skeleton_bound(circuit)
    return bounds if skeleton is None else [min(a, b) for a, b in zip(bounds, skeleton, strict=True)]


def estimate_bond_dimension(circuit: Circuit) -> int:
    """The largest bond dimension the circuit can reach (:func:`bond_dimension_bound`), 1 for product states."""
    return max(bond_dimension_bound(circuit), default=1)


def estimate_memory(circuit: Circuit, max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION) -> int:
    """Bytes for the tensors (bond dimensions from :func:`bond_dimension_bound`, capped), plus SVD workspace."""
    chi = [1, *(min(c, max_bond_dimension) for c in bond_dimension_bound(circuit)), 1]
    tensors = sum(16 * 2 * chi[i] * chi[i + 1] for i in range(circuit.num_qubits))
    peak = max(chi)
    return 2 * tensors + 16 * 8 * peak * peak * 4


def bond_dimension_refusal(circuit: Circuit, max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION) -> str | None:
    """Why the mps engine cannot run ``circuit`` exactly within the cap (its bond bound is above it), or ``None``."""
    chi = estimate_bond_dimension(circuit)
    if chi <= max_bond_dimension:
        return None
    return (f"the mps engine would need a bond dimension of up to {chi} for this {circuit.num_qubits}-qubit "
            f"circuit, more than the cap of {max_bond_dimension}: it is too entangled to simulate exactly as a "
            "matrix product state")
