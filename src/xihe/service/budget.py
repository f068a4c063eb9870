"""One machine's memory budget shared by its workers: what a job needs, and whether it can ever fit.

The workers of a machine record each running job's estimate with their host name; a claim takes only a job that
fits in what the host's running jobs leave (see ``claim_next_job``). A job larger than the whole budget is
refused at submit, so nothing that could crash the machine is ever started. The estimate asks the engines
themselves (the engine ``auto`` would pick, and that engine's own ``estimate_memory``), so a wide Clifford circuit
on ``sim`` is priced as a stabilizer tableau, not as a statevector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BASE_BYTES = 8 * 1024**2  # interpreter-side buffers of a small job


def _engine_for(device: Any, circuit: Any, budget: int) -> str:
    from xihe.engines.clifford import is_clifford
    from xihe.engines.simulate import DENSITY_MATRIX_MAX_QUBITS, choose_engine

    if bool(getattr(device, "clifford_only", False)):
        return "stabilizer"
    if getattr(device, "kind", "simulator") == "simulator":
        return choose_engine(circuit, None, budget)
    # A noisy twin: exact density matrix while small, sampled trajectories beyond (the stabilizer for a wide
    # Clifford circuit), as the device's run does on the qubits the circuit touches.
    if circuit.num_qubits <= DENSITY_MATRIX_MAX_QUBITS:
        return "density_matrix"
    return "stabilizer" if is_clifford(circuit) else "trajectories"


def estimate_job_memory(device: Any, circuits: Sequence[Any], budget: int) -> int:
    """Bytes the largest circuit of a job needs on ``device`` (at least :data:`BASE_BYTES`)."""
    from xihe.engines.base import get_engine

    needed = 0
    for circuit in circuits:
        engine = _engine_for(device, circuit, budget)
        needed = max(needed, int(get_engine(engine).estimate_memory(circuit)))
    return BASE_BYTES + needed
