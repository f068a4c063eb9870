"""The asyncio SDK: :class:`AsyncClient` and :class:`AsyncJob`, the same calls as the blocking client, awaited.

Example::

    async with AsyncClient() as client:
        jobs = [await client.run(qasm, backend="sim") for qasm in circuits]
        results = await asyncio.gather(*(job.result() for job in jobs))
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from xihe.client.config import resolve_config
from xihe.client.estimate import (
    EstimatorPub,
    Mitigation,
    ObservableLike,
    PubEstimate,
    estimate_body,
    estimate_pubs_body,
    estimates_from_json,
)
from xihe.client.models import BackendInfo, JobInfo, JobPage, items_of, page_from_json, results_of
from xihe.client.payloads import (
    CircuitInput,
    CircuitLike,
    list_params,
    new_idempotency_key,
    submit_body,
)
from xihe.client.polling import WaitSchedule, backend_params, job_request, needs_full_record
from xihe.client.progress import WaitProgress
from xihe.client.sample import PubSamples, SamplerPub, sample_pubs_body, samples_from_json
from xihe.client.transport import API_PREFIX, AsyncTransport, RetryPolicy
from xihe.results import Result


class AsyncJob:
    """A live handle on one job for asyncio code; ``info`` is the last snapshot the server sent."""

    def __init__(self, client: AsyncClient, info: JobInfo) -> None:
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.id

    def __repr__(self) -> str:
        return f"<AsyncJob {self.id} {self.info.status} on {self.info.backend}>"

    async def refresh(self, wait: float | None = None) -> JobInfo:
        self.info = await self._client._get_job(self.id, wait=wait)
        return self.info

    async def status(self) -> str:
        return (await self.refresh()).status

    async def wait(self, timeout: float | None = None, progress: bool = True) -> JobInfo:
        """Wait until the job finishes (long polls; :class:`JobTimeoutError` after ``timeout`` seconds)."""
        schedule = WaitSchedule(self.id, timeout, progress)
        with WaitProgress(self.id, enabled=progress) as shown:
            shown.update(self.info)
            while not self.info.finished:
                await self.refresh(wait=schedule.next_poll(self.info))
                shown.update(self.info)
                pause = schedule.pause(self.info)
                if pause is not None:
                    await asyncio.sleep(pause)
        return self.info

    async def result(self, timeout: float | None = None, progress: bool = False) -> Result | list[Result]:
        if not self.info.finished:
            await self.wait(timeout=timeout, progress=progress)
        if needs_full_record(self.info):
            await self.refresh()
        return results_of(self.info)

    async def cancel(self) -> JobInfo:
        self.info = JobInfo.from_json(await self._client._transport.request("POST", f"jobs/{self.id}/cancel"))
        return self.info


class AsyncEstimateJob(AsyncJob):
    """An estimation job for asyncio code: :meth:`estimates` waits and gives each PUB's values and std errors."""

    async def estimates(self, timeout: float | None = None, progress: bool = False) -> list[PubEstimate]:
        if not self.info.finished:
            await self.wait(timeout=timeout, progress=progress)
        results_of(self.info)  # raises the typed error of a failed or cancelled job
        return estimates_from_json(await self._client._transport.request("GET", f"estimate/{self.id}"))


class AsyncSampleJob(AsyncJob):
    """A sampling job for asyncio code: :meth:`samples` waits and gives each PUB's per-register shots."""

    async def samples(self, timeout: float | None = None, progress: bool = False) -> list[PubSamples]:
        if not self.info.finished:
            await self.wait(timeout=timeout, progress=progress)
        results_of(self.info)  # raises the typed error of a failed or cancelled job
        return samples_from_json(await self._client._transport.request("GET", f"sample/{self.id}"))


class AsyncClient:
    """An asyncio connection to one Xihe server; settings resolve as for :class:`xihe.client.Client`."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        config = resolve_config(url, token)
        self.url = config.url
        self.token = config.token
        self._transport = AsyncTransport(
            self.url + API_PREFIX, self.token, timeout=timeout, retry=retry, transport=transport
        )

    def __repr__(self) -> str:
        return f"AsyncClient({self.url!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def backends(self) -> list[BackendInfo]:
        return [BackendInfo.from_json(item) for item in items_of(await self._transport.request("GET", "backends"))]

    async def backend(self, name: str, at: datetime | str | None = None) -> BackendInfo:
        data = await self._transport.request("GET", f"backends/{name}", params=backend_params(at))
        return BackendInfo.from_json(data)

    async def run(
        self,
        circuits: CircuitInput,
        backend: str,
        shots: int = 1024,
        compile: bool = True,
        seed: int | None = None,
        name: str | None = None,
        tags: Sequence[str] = (),
        optimization_level: int = 2,
        parameters: Sequence[Mapping[str, float]] | None = None,
        priority: int = 0,
        memory: bool = False,
    ) -> AsyncJob:
        body = submit_body(
            circuits,
            backend,
            shots=shots,
            compile=compile,
            seed=seed,
            name=name,
            tags=tags,
            optimization_level=optimization_level,
            parameters=parameters,
            priority=priority,
            memory=memory,
        )
        headers = {"Idempotency-Key": new_idempotency_key()}
        data = await self._transport.request("POST", "jobs", json=body, headers=headers)
        return AsyncJob(self, JobInfo.from_json(data))

    async def estimate(
        self,
        circuit: CircuitLike,
        observables: ObservableLike | Sequence[ObservableLike],
        backend: str,
        parameter_values: Sequence[Mapping[Any, float]] | None = None,
        precision: float = 0.015625,
        seed: int | None = None,
        compile: bool = True,
        optimization_level: int = 2,
        name: str | None = None,
        tags: Sequence[str] = (),
        priority: int = 0,
        mitigation: Mitigation | None = None,
    ) -> AsyncEstimateJob:
        """Submit one Estimator PUB as one job (see :meth:`xihe.client.Client.estimate`)."""
        body = estimate_body(circuit, backend, observables, parameter_values, precision=precision, seed=seed,
                             compile=compile, optimization_level=optimization_level, name=name, tags=tags,
                             priority=priority, mitigation=mitigation)
        return AsyncEstimateJob(self, JobInfo.from_json(await self._transport.request("POST", "estimate", json=body)))

    async def estimate_pubs(
        self,
        pubs: Sequence[EstimatorPub],
        backend: str,
        precision: float = 0.015625,
        seed: int | None = None,
        compile: bool = True,
        optimization_level: int = 2,
        mitigation: Mitigation | None = None,
        name: str | None = None,
        tags: Sequence[str] = (),
        priority: int = 0,
    ) -> AsyncEstimateJob:
        """Submit several Estimator PUBs as one job; ``job.estimates()[p]`` answers ``pubs[p]``."""
        body = estimate_pubs_body(pubs, backend, precision=precision, seed=seed, compile=compile,
                                  optimization_level=optimization_level, mitigation=mitigation, name=name,
                                  tags=tags, priority=priority)
        return AsyncEstimateJob(self, JobInfo.from_json(await self._transport.request("POST", "estimate", json=body)))

    async def sample(
        self,
        circuit: CircuitLike,
        backend: str,
        parameter_values: Sequence[Mapping[Any, float]] | None = None,
        shots: int = 1024,
        seed: int | None = None,
        compile: bool = True,
        optimization_level: int = 2,
        name: str | None = None,
        tags: Sequence[str] = (),
        priority: int = 0,
    ) -> AsyncSampleJob:
        """Submit one Sampler PUB (one job); ``job.samples()[0].registers["c"][i]`` holds register ``c``'s
        ``shots`` values under ``parameter_values[i]`` (bit i of a value is the register's bit i)."""
        return await self.sample_pubs([SamplerPub(circuit, parameter_values)], backend, shots=shots, seed=seed,
                                 compile=compile, optimization_level=optimization_level, name=name, tags=tags,
                                 priority=priority)

    async def sample_pubs(
        self,
        pubs: Sequence[SamplerPub],
        backend: str,
        shots: int = 1024,
        seed: int | None = None,
        compile: bool = True,
        optimization_level: int = 2,
        name: str | None = None,
        tags: Sequence[str] = (),
        priority: int = 0,
    ) -> AsyncSampleJob:
        """Submit several Sampler PUBs as one job (a PUB without shots of its own takes ``shots``)."""
        body = sample_pubs_body(pubs, backend, shots=shots, seed=seed, compile=compile,
                                optimization_level=optimization_level, name=name, tags=tags, priority=priority)
        return AsyncSampleJob(self, JobInfo.from_json(await self._transport.request("POST", "sample", json=body)))

    async def job(self, job_id: str) -> AsyncJob:
        return AsyncJob(self, await self._get_job(job_id))

    async def jobs(
        self,
        status: str | None = None,
        backend: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> JobPage:
        page = await self._transport.request("GET", "jobs", params=list_params(status, backend, tag, limit, offset))
        return page_from_json(page, lambda item: AsyncJob(self, JobInfo.from_json(item)), limit, offset)

    async def _get_job(self, job_id: str, wait: float | None = None) -> JobInfo:
        return JobInfo.from_json(await self._transport.request(**job_request(job_id, wait)))
