"""Python SDK for a Xihe server over its native HTTP API (``/api/v1``).

:class:`Client` (blocking) and :class:`AsyncClient` (asyncio) submit circuits, follow jobs and fetch results as
:class:`xihe.results.Result`. Importing this package does no I/O and loads neither the simulators (numba, stim,
scipy) nor the service, so it is cheap on a laptop that only talks to a remote server.
"""

from xihe.client.aio import AsyncClient, AsyncJob
from xihe.client.config import ClientConfig, config_path, resolve_config, write_config_file
from xihe.client.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    NotLoggedInError,
    PermissionDeniedError,
    QuotaError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
)
from xihe.client.models import TERMINAL_STATUSES, BackendInfo, JobInfo, JobPage
from xihe.client.sync import Client, Job
from xihe.client.transport import RetryPolicy

__all__ = [
    "TERMINAL_STATUSES",
    "APIError",
    "AsyncClient",
    "AsyncJob",
    "AuthenticationError",
    "BackendInfo",
    "Client",
    "ClientConfig",
    "ConflictError",
    "Job",
    "JobCancelledError",
    "JobFailedError",
    "JobInfo",
    "JobPage",
    "JobTimeoutError",
    "NotFoundError",
    "NotLoggedInError",
    "PermissionDeniedError",
    "QuotaError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "config_path",
    "resolve_config",
    "write_config_file",
]
