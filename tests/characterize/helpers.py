"""Test helpers: results drawn from known probabilities (seeded), and matrices of small circuits."""

from __future__ import annotations

import numpy as np

from xihe.circuit import Circuit
from xihe.circuit.protocols import unitary
from xihe.circuit.standard_gates import embed
from xihe.results import Result


def sampled_result(probabilities: dict[str, float], shots: int, rng: np.random.Generator) -> Result:
    """A Result whose counts are a multinomial draw from ``probabilities``."""
    keys = list(probabilities)
    p = np.array([probabilities[k] for k in keys], dtype=float)
    counts = rng.multinomial(shots, p / p.sum())
    return Result(counts={k: int(n) for k, n in zip(keys, counts, strict=True) if n}, shots=shots)


def bit_result(p_one: float, shots: int, rng: np.random.Generator) -> Result:
    """A one-bit Result with P(1) = ``p_one``."""
    return sampled_result({"0": 1 - p_one, "1": p_one}, shots, rng)


def circuit_matrix(circuit: Circuit) -> np.ndarray:
    """The unitary of a circuit's gates (measurements, barriers and delays skipped)."""
    n = circuit.num_qubits
    total = np.eye(1 << n, dtype=complex)
    for op in circuit:
        if op.gate.name in ("measure", "barrier", "delay"):
            continue
        total = embed(unitary(op.gate), op.qubits, n) @ total
    return total


def equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float = 1e-9) -> bool:
    return abs(abs(np.trace(a.conj().T @ b)) / a.shape[0] - 1) < atol
