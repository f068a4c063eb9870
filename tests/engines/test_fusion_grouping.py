"""Gate fusion's grouping in one compiled call (:func:`xihe.engines.fusion._group_kernel`, issue 16, sixth pass)
gives the blocks the Python loop gave (kept in :mod:`tests.engines.reference_fusion`): same items, same gates in
the same order, same qubits; and a fused body leaves the state every gate applied one by one leaves."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engines.reference_fusion import reference_group
from xihe.engines import fusion
from xihe.engines.program import Condition, Instr
from xihe.engines.statevector import apply_instr, zero_state


def _unitary(d: int, rng: np.random.Generator) -> np.ndarray:
    return np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))[0]


def _random_body(rng: np.random.Generator, num_qubits: int, length: int, matrices: bool) -> list[Instr]:
    """Gates of 1-5 qubits (dense or diagonal, some conditioned), measurements, channels and flags."""
    out: list[Instr] = []
    for _ in range(length):
        roll = rng.random()
        if roll < 0.06:
            out.append(Instr("measure", (int(rng.integers(num_qubits)),), clbit=0))
            continue
        if roll < 0.09:
            out.append(Instr("flag", (), clbit=0))
            continue
        m = int(rng.choice([1, 1, 2, 2, 2, 3, 4, 5]))
        m = min(m, num_qubits)
        qs = tuple(int(q) for q in rng.choice(num_qubits, size=m, replace=False))
        if roll < 0.13:
            out.append(Instr("channel", qs))
        elif roll < 0.45:
            diag = np.exp(1j * rng.normal(size=1 << m)) if matrices else None
            out.append(Instr("diagonal", qs, diag))
        else:
            cond = Condition(0, 1, 1) if rng.random() < 0.05 else None
            out.append(Instr("unitary", qs, _unitary(1 << m, rng) if matrices else None, condition=cond))
    return out


def _signature(items: list[fusion._Block | Instr]) -> list[object]:
    return [("block", tuple(it.qubits), tuple(id(i) for i in it.instrs)) if isinstance(it, fusion._Block)
            else ("instr", id(it)) for it in items]


def _gates(ins: Instr) -> bool:
    return ins.kind in ("unitary", "diagonal")


def _gates_and_channels(ins: Instr) -> bool:
    return ins.kind in ("unitary", "diagonal", "controlled", "channel")


def test_compiled_grouping_matches_the_python_loop_on_random_bodies() -> None:
    rng = np.random.default_rng(1616)
    for trial in range(300):
        num_qubits = int(rng.choice([3, 6, 12, 30, 70]))  # 70: more qubits than a 64-bit mask holds
        body = _random_body(rng, num_qubits, int(rng.integers(0, 120)), matrices=False)
        max_qubits = int(rng.integers(1, 6))
        max_diagonal = [None, 6, 10][trial % 3]
        fusable = _gates if trial % 2 else _gates_and_channels
        got = fusion._group(body, max_qubits, fusable, max_diagonal)
        want = reference_group(body, max_qubits, fusable, max_diagonal)
        assert _signature(got) == _signature(want), trial


def test_compiled_grouping_matches_on_wide_diagonal_runs() -> None:
    """Blocks of many qubits from few gates (5-qubit diagonals into 10-qubit blocks): the kernel's store of block
    qubits outgrows its first size (two per gate) and must grow, not overrun."""
    rng = np.random.default_rng(11)
    body = [Instr("diagonal", tuple(int(q) for q in rng.choice(40, size=5, replace=False))) for _ in range(60)]
    body += [Instr("unitary", (int(q),)) for q in rng.integers(0, 40, size=20)]
    for max_diagonal in (6, 10):
        got = fusion._group(body, 4, _gates, max_diagonal)
        assert _signature(got) == _signature(reference_group(body, 4, _gates, max_diagonal))
    assert sum(len(it.qubits) for it in fusion._group(body, 4, _gates, 10)) > 2 * len(body) + 16


def test_a_tie_between_open_blocks_goes_to_the_older_one() -> None:
    """Blocks (0, 2) and (1, 3) are open when a gate on (0, 1) arrives and only one fits in 3 qubits: the older
    (item 2) is taken. The old loop took the first in a set's order, {2, 9} iterating 9 first (CPython's table)."""
    body = [Instr("measure", (4,), clbit=0), Instr("measure", (5,), clbit=0), Instr("unitary", (0, 2))]
    body += [Instr("measure", (q,), clbit=0) for q in range(6, 12)]
    body += [Instr("unitary", (1, 3)), Instr("unitary", (0, 1))]
    got = fusion._group(body, 3, _gates)
    blocks = [it for it in got if isinstance(it, fusion._Block)]
    assert [b.qubits for b in blocks] == [[1, 3], [0, 1, 2]]
    assert blocks[1].instrs == [body[2], body[-1]]
    assert _signature(got) == _signature(reference_group(body, 3, _gates))


def test_group_kernel_returns_items_in_order() -> None:
    """The kernel's own arrays: a gate on (0, 1), one on (1, 2) merged into it, a measurement left in place."""
    q_off = np.array([0, 2, 4, 5], dtype=np.int64)
    q_flat = np.array([0, 1, 1, 2, 2], dtype=np.int64)
    is_block, order, starts, qubits, qstarts = fusion._group_kernel(
        q_off, q_flat, np.array([True, True, False]), np.zeros(3, dtype=np.bool_), 3, 4, 4)
    assert is_block.tolist() == [True, False]
    assert order[starts[0]:starts[1]].tolist() == [0, 1] and order[starts[1]:starts[2]].tolist() == [2]
    assert qubits[qstarts[0]:qstarts[1]].tolist() == [0, 1, 2] and qstarts[2] == qstarts[1]


@settings(max_examples=30, deadline=None)
@given(num_qubits=st.integers(2, 9), length=st.integers(1, 60), seed=st.integers(0, 2**31 - 1),
       single=st.booleans())
def test_fused_body_leaves_the_state_of_the_gates_one_by_one(num_qubits: int, length: int, seed: int,
                                                             single: bool) -> None:
    rng = np.random.default_rng(seed)
    body = [i for i in _random_body(rng, num_qubits, length, matrices=True)
            if i.kind in ("unitary", "diagonal") and i.condition is None]
    dtype = np.complex64 if single else np.complex128
    one_by_one = zero_state(num_qubits, dtype)
    one_by_one[:] = (rng.normal(size=1 << num_qubits) + 1j * rng.normal(size=1 << num_qubits)).astype(dtype)
    one_by_one /= np.linalg.norm(one_by_one)
    fused_state = one_by_one.copy()
    for ins in body:
        apply_instr(one_by_one, num_qubits, ins)
    for ins in fusion.fuse(body, 4, 10, pair_disjoint=True):
        apply_instr(fused_state, num_qubits, ins)
    assert abs(np.vdot(one_by_one, fused_state)) ** 2 >= 1 - (1e-5 if single else 1e-10)
