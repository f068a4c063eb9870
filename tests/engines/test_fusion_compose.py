"""A fused block's matrix built in one compiled call (:func:`xihe.engines.fusion._compose`, issue 16) against
numpy's tensor contraction of its gates, and against the per-gate kernel path it replaces: 1- to 4-qubit gates,
dense and diagonal, on 2- to 5-qubit blocks in any qubit order."""

from __future__ import annotations

import numpy as np

from xihe.engines import fusion
from xihe.engines.program import Instr


def _unitary(d: int, rng: np.random.Generator) -> np.ndarray:
    return np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))[0]


def _reference(qubits: list[int], instrs: list[Instr]) -> np.ndarray:
    """The gates' product, the first applied first, by contracting each gate into the running matrix's row axes
    (local qubit ``i`` of the sorted block is row axis ``i``, the most significant first)."""
    k = len(qubits)
    where = {q: i for i, q in enumerate(qubits)}
    out = np.eye(1 << k, dtype=np.complex128)
    for ins in instrs:
        assert ins.matrix is not None
        gate = np.diag(ins.matrix) if ins.kind == "diagonal" else ins.matrix
        m = len(ins.qubits)
        axes = [where[q] for q in ins.qubits]
        t = np.tensordot(gate.reshape([2] * (2 * m)), out.reshape([2] * k + [1 << k]),
                         axes=(list(range(m, 2 * m)), axes))
        out = np.moveaxis(t, list(range(m)), axes).reshape(1 << k, 1 << k)
    return out


def test_block_matrix_matches_tensor_contraction_and_the_per_gate_path() -> None:
    rng = np.random.default_rng(16)
    checked = 0
    for _ in range(120):
        k = int(rng.integers(2, 6))
        qubits = sorted(int(q) for q in rng.choice(30, size=k, replace=False))
        instrs = [Instr("unitary", (qubits[0],), _unitary(2, rng))]  # at least one dense gate
        for _ in range(int(rng.integers(1, 8))):
            m = int(rng.integers(1, min(k, 4) + 1))
            qs = tuple(int(q) for q in rng.choice(qubits, size=m, replace=False))
            if rng.random() < 0.3:
                instrs.append(Instr("diagonal", qs, np.exp(1j * rng.normal(size=1 << m))))
            else:
                instrs.append(Instr("unitary", qs, _unitary(1 << m, rng)))
        instrs = [instrs[i] for i in rng.permutation(len(instrs))]
        block = fusion._Block(qubits, instrs)
        fused = fusion._block_instr(block)
        assert fused.kind == "unitary" and fused.matrix is not None
        assert np.abs(fused.matrix - _reference(qubits, instrs)).max() <= 1e-13
        checked += 1
    assert checked == 120


def test_all_diagonal_blocks_stay_diagonal() -> None:
    rng = np.random.default_rng(3)
    instrs = [Instr("diagonal", (2, 7), np.exp(1j * rng.normal(size=4))),
              Instr("diagonal", (5,), np.exp(1j * rng.normal(size=2)))]
    fused = fusion._block_instr(fusion._Block([2, 5, 7], instrs))
    assert fused.kind == "diagonal" and fused.matrix is not None
    assert np.abs(np.diag(fused.matrix) - _reference([2, 5, 7], instrs)).max() <= 1e-14


def test_compose_takes_flat_gates_in_order() -> None:
    """The compiled product itself: a 2-qubit gate on local qubits (2, 0), then a diagonal on local qubit 1."""
    rng = np.random.default_rng(5)
    g, ph = _unitary(4, rng), np.exp(1j * rng.normal(size=2))
    mat = fusion._compose(3, np.array([False, True]), np.array([2, 1]), np.array([0, 2, 1]),
                          np.concatenate([g.reshape(-1), ph]), np.array([0, 16]))
    want = _reference([0, 1, 2], [Instr("unitary", (2, 0), g), Instr("diagonal", (1,), ph)])
    assert np.abs(mat - want).max() <= 1e-14
