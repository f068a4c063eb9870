"""One machine's memory budget shared by its workers: what a job needs, and whether it can ever fit.

The workers of a machine record each running job's estimate with their host name; a claim takes only a job that
fits in what the host's running jobs leave (see ``claim_next_job``). A job larger than the whole budget is
refused at submit, so nothing that could crash the machine is ever started. The figure is the job's
:class:`~xihe.devices.plan.ExecutionPlan` (its engine, on the qubits a twin really simulates) plus
:data:`BASE_BYTES`; nothing here chooses an engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from xihe.circuit import Circuit
from xihe.devices import Device
from xihe.devices.plan import ExecutionPlan, PlanOptions

BASE_BYTES = 8 * 1024**2  # interpreter-side buffers of a small job


def job_memory(plan: ExecutionPlan) -> int:
    """Bytes a planned job holds while it runs: its largest circuit's engine estimate plus :data:`BASE_BYTES`."""
    return BASE_BYTES + plan.memory_bytes


def estimate_job_memory(device: Device, circuits: Sequence[Circuit], budget: int) -> int:
    """Bytes the largest circuit of a job needs on ``device`` (at least :data:`BASE_BYTES`), planned as submitted."""
    options = PlanOptions(compile=True, memory_limit=budget, defer_compile=True)
    return job_memory(device.plan(list(circuits), 1, options))
