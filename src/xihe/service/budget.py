"""One machine's memory budget shared by its workers: what a job needs, and whether it can ever fit.

The workers of a machine record each running job's estimate with their host name; a claim takes only a job that
fits in what the host's running jobs leave (see ``claim_next_job``). A job larger than the whole budget is
refused at submit, so nothing that could crash the machine is ever started.
"""

from __future__ import annotations

from typing import Any

BASE_BYTES = 8 * 1024**2  # interpreter-side buffers of a small job
AMPLITUDE_BYTES = 16  # complex128
DENSITY_MATRIX_MAX_QUBITS = 13


def estimate_job_memory(device: Any, num_qubits: int) -> int:
    """Bytes a job of ``num_qubits`` needs on ``device`` (state plus one work copy), by the engine it will use.

    Clifford-only backends use a tableau (quadratic); noisy twins may use a density matrix for small widths;
    everything else a statevector.
    """
    engine = str(getattr(device, "engine", "") or "")
    if engine == "stabilizer" or getattr(device, "name", "") == "sim-clifford":
        return BASE_BYTES + 2 * num_qubits * num_qubits
    if getattr(device, "kind", "simulator") != "simulator" and num_qubits <= DENSITY_MATRIX_MAX_QUBITS:
        return BASE_BYTES + 2 * AMPLITUDE_BYTES * 4**num_qubits
    return BASE_BYTES + 2 * AMPLITUDE_BYTES * 2**num_qubits
