"""The 2q block product of block consolidation (runs of 1q gates multiplied as 2x2 matrices, issue 19) against the
plain product of each gate's 4x4 matrix written out with Kronecker products here."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xihe.circuit import Gate, Operation, unitary
from xihe.compiler.passes.blocks import block_unitary

I2 = np.eye(2)
SWAP = np.eye(4)[[0, 2, 1, 3]]
angles = st.floats(-7.0, 7.0, allow_nan=False)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[list[Operation], tuple[int, int]]:
    pair = draw(st.sampled_from([(0, 1), (1, 0), (7, 3), (2, 9)]))
    ops = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["u3", "rz", "h", "cx", "cz", "rzz", "swap"]))
        if kind in ("u3", "rz", "h"):
            params = tuple(draw(angles) for _ in range({"u3": 3, "rz": 1, "h": 0}[kind]))
            ops.append(Operation(Gate(kind, params), (draw(st.sampled_from(pair)),)))
        else:
            qubits = pair if draw(st.booleans()) else (pair[1], pair[0])
            ops.append(Operation(Gate(kind, (draw(angles),) if kind == "rzz" else ()), qubits))
    return ops, pair


def full_matrix(op: Operation, pair: tuple[int, int]) -> np.ndarray:
    """The gate's 4x4 on the pair, ``pair[0]`` the most significant."""
    m = unitary(op.gate)
    if len(op.qubits) == 1:
        return np.kron(m, I2) if op.qubits[0] == pair[0] else np.kron(I2, m)
    return m if op.qubits == pair else SWAP @ m @ SWAP


@settings(max_examples=300, deadline=None)
@given(blocks())
def test_block_unitary_equals_the_product_of_full_matrices(block: tuple[list[Operation], tuple[int, int]]) -> None:
    ops, pair = block
    expected = np.eye(4, dtype=complex)
    for op in ops:
        expected = full_matrix(op, pair) @ expected
    assert np.allclose(block_unitary(ops, pair), expected, atol=1e-12)
