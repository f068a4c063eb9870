"""Fixed-size shot chunks for fan-out (Ray, worker processes), seeded so counts never depend on the worker count.

A job of ``shots`` shots is cut into ``plan_chunks(shots, chunk_size)`` pieces; chunk ``i`` runs with the ``i``-th
child of ``numpy.random.SeedSequence(seed).spawn(len(plan))``; ``merge_results`` adds them up in chunk order.
Whoever runs the chunks (one process, a pool, a Ray cluster), the merged counts depend only on ``(seed, chunk
size)``. The trajectories engine uses the same plan internally, so a fanned-out trajectories job with the
engine's chunk size gives exactly the counts of a local run.

>>> plan_chunks(2500, 1000)
[1000, 1000, 500]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from xihe.errors import ExecutionError
from xihe.results import Result

if TYPE_CHECKING:
    from xihe.circuit.circuit import Circuit
    from xihe.engines.noise import NoiseModel

DEFAULT_CHUNK_SHOTS = 256


def plan_chunks(shots: int, chunk_size: int = DEFAULT_CHUNK_SHOTS) -> list[int]:
    """Shots per chunk: full chunks of ``chunk_size`` and one remainder."""
    if chunk_size <= 0:
        raise ExecutionError(f"chunk size must be positive, not {chunk_size}")
    if shots < 0:
        raise ExecutionError(f"shots must be >= 0, not {shots}")
    full, rest = divmod(shots, chunk_size)
    return [chunk_size] * full + ([rest] if rest else [])


def chunk_seeds(seed: int, num_chunks: int) -> list[np.random.SeedSequence]:
    """The seed sequence of each chunk (children of ``SeedSequence(seed)``)."""
    return list(np.random.SeedSequence(seed).spawn(num_chunks))


def seed_of(seed_seq: np.random.SeedSequence) -> int:
    """A plain integer seed drawn from a seed sequence (for engines that take an int)."""
    return int(seed_seq.generate_state(1, dtype=np.uint64)[0] & np.uint64((1 << 63) - 1))


def run_chunk(circuit: Circuit, shots: int, seed_seq_child: np.random.SeedSequence, noise: NoiseModel | None,
              engine: str = "auto", memory: bool = False, precision: str = "double") -> Result:
    """Run one chunk of ``shots`` shots seeded by its child seed sequence.

    Trajectories and noisy MPS chunks run exactly as the engines run their own chunks, so merged fanned-out
    counts equal a local run's.
    """
    import time

    from xihe.engines.base import metadata
    from xihe.engines.sampling import rows_to_counts
    from xihe.engines.simulate import choose_engine, simulate

    name = choose_engine(circuit, noise, precision=precision) if engine == "auto" else engine
    started = time.perf_counter()
    if name == "trajectories":
        from xihe.engines.trajectories import run_rows

        rows = run_rows(circuit, shots, seed_seq_child, noise, precision=precision)
        counts, mem = rows_to_counts(rows, memory)
        return Result(counts=counts, shots=shots, memory=mem,
                      metadata=metadata(name, seed_of(seed_seq_child), started, num_qubits=circuit.num_qubits,
                                        precision=precision))
    if name == "mps" and noise is not None and noise.has_quantum_noise():
        from xihe.engines.mps import noisy_rows

        rows, stats = noisy_rows(circuit, shots, seed_seq_child, noise)
        counts, mem = rows_to_counts(rows, memory)
        return Result(counts=counts, shots=shots, memory=mem,
                      metadata=metadata(name, seed_of(seed_seq_child), started, num_qubits=circuit.num_qubits,
                                        **stats))
    return simulate(circuit, shots, seed=seed_of(seed_seq_child), noise=noise, engine=name, memory=memory,
                    precision=precision)


def merge_results(results: Sequence[Result]) -> Result:
    """One result from chunk results: counts added, memory concatenated in chunk order."""
    if not results:
        raise ExecutionError("nothing to merge")
    counts: dict[str, int] = {}
    for r in results:
        for key, n in r.counts.items():
            counts[key] = counts.get(key, 0) + n
    memory = None
    if all(r.memory is not None for r in results):
        memory = [m for r in results for m in r.memory or []]
    meta = dict(results[0].metadata)
    meta["chunks"] = len(results)
    meta["time_s"] = round(sum(float(r.metadata.get("time_s", 0.0)) for r in results), 6)
    return Result(counts=dict(sorted(counts.items())), shots=sum(r.shots for r in results), memory=memory,
                  exact_probabilities=results[0].exact_probabilities, metadata=meta,
                  bit_order=results[0].bit_order)
