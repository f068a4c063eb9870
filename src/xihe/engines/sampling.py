"""Turning final states and classical records into counts, memory and exact probabilities.

Every engine ends the same way: per shot, a row of classical bits (``uint8``, clbit ``i`` in column ``i``). Rows
become count keys with clbit 0 leftmost (``bit_order = "c0_leftmost"``). Readout confusion flips recorded bits
after the quantum outcome is drawn, so it never changes the state.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from xihe.engines.program import Instr


def sample_indices(probs: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """``shots`` basis-state indices drawn from ``probs`` (need not be normalised) by inverse CDF."""
    cdf = np.cumsum(probs)
    total = cdf[-1]
    u = rng.random(shots) * total
    idx = np.searchsorted(cdf, u, side="right")
    return np.minimum(idx, probs.size - 1)


def marginal_probabilities(probs: np.ndarray, num_qubits: int, qubits: Sequence[int]) -> np.ndarray:
    """Probabilities over ``qubits`` (first listed = most significant bit of the result index)."""
    qubits = list(qubits)
    if qubits == list(range(num_qubits)):
        return probs
    tensor = probs.reshape([2] * num_qubits)
    others = tuple(q for q in range(num_qubits) if q not in qubits)
    reduced = tensor.sum(axis=others) if others else tensor
    kept = sorted(qubits)
    return np.ascontiguousarray(np.transpose(reduced, [kept.index(q) for q in qubits])).reshape(-1)


def measured_distribution(probs: np.ndarray, num_qubits: int, terminal: list[Instr]) -> tuple[np.ndarray, list[int]]:
    """The recorded distribution of the terminal measurements: the marginal over the measured qubits (first
    measured = most significant bit of the index) with each measurement's readout confusion applied; and those
    qubits, in that order."""
    measured = list(dict.fromkeys(ins.qubits[0] for ins in terminal))
    marg = marginal_probabilities(probs, num_qubits, measured).reshape([2] * len(measured))
    for ins in terminal:
        if ins.readout is not None:
            p10, p01 = ins.readout
            conf = np.array([[1 - p10, p01], [p10, 1 - p01]])
            axis = measured.index(ins.qubits[0])
            marg = np.moveaxis(np.tensordot(conf, marg, axes=([1], [axis])), 0, axis)
    return marg.reshape(-1), measured


def terminal_rows(indices: np.ndarray, measured: Sequence[int], terminal: list[Instr], rows: np.ndarray,
                  rng: np.random.Generator) -> None:
    """Write the terminal measurements of sampled ``indices`` (over ``measured`` qubits) into ``rows``."""
    k = len(measured)
    where = {q: i for i, q in enumerate(measured)}
    for ins in terminal:
        bit = ((indices >> (k - 1 - where[ins.qubits[0]])) & 1).astype(np.uint8)
        if ins.readout is not None:
            bit = apply_readout(bit, ins.readout, rng)
        rows[:, ins.clbit] = bit


def apply_readout(bits: np.ndarray, readout: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """Flip 0 -> 1 with probability ``readout[0]`` and 1 -> 0 with ``readout[1]``."""
    p10, p01 = readout
    u = rng.random(bits.size)
    flip = np.where(bits == 0, u < p10, u < p01)
    return (bits ^ flip.astype(np.uint8)).astype(np.uint8)


def int_to_row(value: int, num_clbits: int) -> np.ndarray:
    return np.array([(value >> i) & 1 for i in range(num_clbits)], dtype=np.uint8)


def row_keys(rows: np.ndarray) -> list[str]:
    """Each row of bits as a key string (column 0 leftmost), built without a Python loop per bit."""
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    if rows.shape[1] == 0:
        return [""] * rows.shape[0]
    chars = (rows + ord("0")).view(f"S{rows.shape[1]}").reshape(-1)
    return [c.decode() for c in chars]


def rows_to_counts(rows: np.ndarray, want_memory: bool) -> tuple[dict[str, int], list[str] | None]:
    """Count keys (clbit 0 leftmost) and, on request, the per-shot memory in shot order."""
    shots, width = rows.shape
    if width == 0:
        return ({"": shots} if shots else {}), ([""] * shots if want_memory else None)
    packed = np.packbits(rows, axis=1)
    view = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1])))[:, 0]
    uniq, first, inverse, counts = np.unique(view, return_index=True, return_inverse=True, return_counts=True)
    keys = row_keys(rows[first])
    result = {keys[i]: int(counts[i]) for i in range(len(uniq))}
    memory = [keys[i] for i in inverse.reshape(-1)] if want_memory else None
    return dict(sorted(result.items())), memory


def counts_from_probabilities(probs: dict[str, float], shots: int, rng: np.random.Generator
                              ) -> dict[str, int]:
    """Counts drawn (multinomially) from exact outcome probabilities."""
    keys = sorted(probs)
    if not keys or shots == 0:
        return {}
    p = np.array([max(probs[k], 0.0) for k in keys])
    draws = rng.multinomial(shots, p / p.sum())
    return {k: int(n) for k, n in zip(keys, draws, strict=True) if n}


def memory_from_counts(counts: dict[str, int], rng: np.random.Generator) -> list[str]:
    """Per-shot bitstrings consistent with ``counts``, in a seeded random shot order."""
    items = [k for k, n in counts.items() for _ in range(n)]
    order = rng.permutation(len(items))
    return [items[i] for i in order]
