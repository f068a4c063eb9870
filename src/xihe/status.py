"""The words every layer shares: job status, attempt outcome, error stage, job kind, device kind and status.

One enum per fact, imported by the service, its protocol adapters, the web pages and the client alike (this module
imports nothing, so ``xihe.client`` stays light). Each is a :class:`~enum.StrEnum`: its members compare equal to
the strings stored in the database and sent on the wire, so they are the wire words themselves. The job state
machine (which transitions are allowed) lives with the queue in :mod:`xihe.service.states`.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})


class AttemptOutcome(StrEnum):
    """How one attempt (one claim of a job by a worker or agent) ended, as its attempt record says."""

    DONE = "DONE"
    FAILED = "FAILED"
    RETRY = "RETRY"  # failed, and the retry policy put the job back in the queue
    CANCELLED = "CANCELLED"
    LOST = "LOST"  # the lease ran out: the worker died or stalled


class ErrorStage(StrEnum):
    """Where a failed job failed (the problem JSON's ``stage`` and a job's ``error.stage``)."""

    VALIDATE = "validate"
    COMPILE = "compile"
    EXECUTE = "execute"


class JobKind(StrEnum):
    """What a job holds: one circuit, a batch, one circuit swept over parameter sets, a suite, or primitive PUBs."""

    SINGLE = "single"
    BATCH = "batch"
    SWEEP = "sweep"
    CHARACTERIZE = "characterize"
    ESTIMATE = "estimate"
    SAMPLE = "sample"


class DeviceKind(StrEnum):
    SIMULATOR = "simulator"
    TWIN = "twin"
    HARDWARE = "hardware"


class DeviceStatus(StrEnum):
    ONLINE = "online"
    MAINTENANCE = "maintenance"
    OFFLINE = "offline"

    @property
    def described(self) -> str:
        """The state as a sentence says it: "backend grid36 is in maintenance", not "is maintenance"."""
        return "in maintenance" if self is DeviceStatus.MAINTENANCE else self.value
