"""Python SDK for a Xihe server over its native HTTP API (``/api/v1``).

:class:`Client` (blocking) and :class:`AsyncClient` (asyncio) submit circuits, follow jobs and fetch results as
:class:`xihe.results.Result`. Importing this package does no I/O and loads neither the simulators (numba, stim,
scipy) nor the service, so it is cheap on a laptop that only talks to a remote server.
"""

from xihe.client.aio import AsyncClient, AsyncEstimateJob, AsyncJob, AsyncSampleJob
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
from xihe.client.estimate import EstimatorPub, Mitigation, PubEstimate
from xihe.client.models import TERMINAL_STATUSES, BackendInfo, JobInfo, JobPage
from xihe.client.sample import PubSamples, SamplerPub
from xihe.client.sync import Client, EstimateJob, Job, SampleJob
from xihe.client.transport import RetryPolicy

__all__ = [
    "TERMINAL_STATUSES",
    "APIError",
    "AsyncClient",
    "AsyncEstimateJob",
    "AsyncJob",
    "AsyncSampleJob",
    "AuthenticationError",
    "BackendInfo",
    "Client",
    "ClientConfig",
    "ConflictError",
    "EstimateJob",
    "EstimatorPub",
    "Job",
    "JobCancelledError",
    "JobFailedError",
    "JobInfo",
    "JobPage",
    "JobTimeoutError",
    "Mitigation",
    "NotFoundError",
    "NotLoggedInError",
    "PermissionDeniedError",
    "PubEstimate",
    "PubSamples",
    "QuotaError",
    "RateLimitError",
    "RetryPolicy",
    "SampleJob",
    "SamplerPub",
    "ServerError",
    "TransportError",
    "ValidationError",
    "config_path",
    "resolve_config",
    "write_config_file",
]
