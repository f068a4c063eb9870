"""The one exception root of Xihe and its direct families.

Every error a user can cause derives from :class:`XiheError`, so callers (the service, the CLI) can turn any of
them into a clear message. Each carries a ``stage`` (validate | compile | queue | execute) where one applies.
"""

from __future__ import annotations


class XiheError(Exception):
    """Root of every error Xihe raises on purpose."""

    stage: str | None = None

    def __init__(self, message: str, *, stage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if stage is not None:
            self.stage = stage


class CircuitError(XiheError):
    """A circuit is malformed: wrong arity, unknown qubit, unbound parameter..."""

    stage = "validate"


class CompileError(XiheError):
    """A circuit cannot be compiled for a target."""

    stage = "compile"


class ExecutionError(XiheError):
    """An engine cannot run a circuit (too large, unsupported instruction...)."""

    stage = "execute"


class ResourceError(ExecutionError):
    """A job does not fit the memory or thread budget."""


class ValidationError(XiheError):
    """A job or circuit does not fit a backend (width, gates, coupling, limits); the message names the culprit."""

    stage = "validate"
