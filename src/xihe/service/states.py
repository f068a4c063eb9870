"""Job states and the one table of allowed transitions; every other transition raises.

``QUEUED -> RUNNING -> DONE | FAILED``; ``QUEUED -> CANCELLED``; ``RUNNING -> CANCELLED`` (cooperative);
``RUNNING -> QUEUED`` when a lease expires or a retryable error happens (the retry policy decides). The legacy
Quafu protocol numbers them 0 QUEUED, 1 RUNNING, 2 DONE, 3 CANCELLED, 4 FAILED.
"""

from __future__ import annotations

from xihe.status import TERMINAL, AttemptOutcome, ErrorStage, JobStatus

__all__ = ["QUAFU_CODES", "TERMINAL", "TRANSITIONS", "AttemptOutcome", "ErrorStage", "InvalidTransition", "JobStatus",
           "check_transition", "sources_of"]

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}),
    JobStatus.DONE: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

QUAFU_CODES = {
    JobStatus.QUEUED: 0,
    JobStatus.RUNNING: 1,
    JobStatus.DONE: 2,
    JobStatus.CANCELLED: 3,
    JobStatus.FAILED: 4,
}


class InvalidTransition(RuntimeError):
    """A job was asked to move between two states the table does not connect (a bug, never user input)."""


def check_transition(current: str | JobStatus, target: str | JobStatus) -> JobStatus:
    """Return ``target`` as a :class:`JobStatus` if ``current -> target`` is allowed, else raise.

    >>> check_transition("QUEUED", "RUNNING")
    <JobStatus.RUNNING: 'RUNNING'>
    """
    source, goal = JobStatus(current), JobStatus(target)
    if goal not in TRANSITIONS[source]:
        raise InvalidTransition(f"job state {source} cannot become {goal}")
    return goal


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """The states from which ``target`` may be reached (used in guarded UPDATE ... WHERE status IN (...))."""
    return frozenset(s for s, goals in TRANSITIONS.items() if target in goals)
