"""The one retry policy: decides, after a failed attempt, whether a job goes back to the queue or fails."""

from __future__ import annotations

from dataclasses import dataclass

from xihe.errors import XiheError


def public_reason(error: BaseException) -> str:
    """What a job's error says about an unexpected exception: its kind, never its text. The text of an
    infrastructure or library error (numpy's "Unable to allocate 3.5 GiB for an array with shape ...", a driver's
    message, a path) is for the operator's log, where the worker writes it with its traceback."""
    if isinstance(error, MemoryError):
        return "the job ran out of memory while executing"
    return f"internal error while executing ({type(error).__name__}); the operator's log has details"


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``max_attempts`` attempts per job; user errors (bad circuit, compile failure) never retry.

    A lost lease (dead worker) and an unexpected infrastructure error are retryable; a :class:`XiheError` raised
    while compiling or running is the job's own fault and fails it at once with its stage.
    """

    max_attempts: int = 3

    def after_error(self, attempts: int, error: BaseException) -> RetryDecision:
        if isinstance(error, XiheError):  # compile, validation, resource, execution errors: the job's own
            return RetryDecision(False, str(error))
        return self._budget(attempts, public_reason(error))

    def after_reported_error(self, attempts: int, reason: str, retryable: bool) -> RetryDecision:
        """A device agent's failure report: retried within the budget where the agent says it may be."""
        return self._budget(attempts, reason) if retryable else RetryDecision(False, reason)

    def after_lease_lost(self, attempts: int) -> RetryDecision:
        return self._budget(attempts, "worker lost its lease (died or stalled)")

    def _budget(self, attempts: int, reason: str) -> RetryDecision:
        if attempts < self.max_attempts:
            return RetryDecision(True, reason)
        return RetryDecision(False, f"gave up after {attempts} attempts; last: {reason}")
