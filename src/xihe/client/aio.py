"""The asyncio SDK: :class:`AsyncClient` and :class:`AsyncJob`, the same calls as the blocking client, awaited.

Example::

    async with AsyncClient() as client:
        jobs = [await client.run(qasm, backend="sim") for qasm in circuits]
        results = await asyncio.gather(*(job.result() for job in jobs))

The calls are those of :mod:`xihe.client.calls`, the blocking client's too; only the sending is awaited here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from xihe.client import calls
from xihe.client.calls import Call
from xihe.client.config import resolve_config
from xihe.client.estimate import PubEstimate
from xihe.client.models import (
    JobInfo,
    JobPage,
    page_from_json,
    results_of,
)
from xihe.client.polling import WaitSchedule, needs_full_record
from xihe.client.progress import WaitProgress
from xihe.client.sample import PubSamples
from xihe.client.transport import API_PREFIX, AsyncTransport, RetryPolicy
from xihe.results import Result

P = ParamSpec("P")
T = TypeVar("T")
H = TypeVar("H", bound="AsyncJob")


class AsyncJob:
    """A live handle on one job for asyncio code; ``info`` is the last snapshot the server sent."""

    def __init__(self, client: AsyncClient, info: JobInfo) -> None:
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.info.status} on {self.info.backend}>"

    async def refresh(self, wait: float | None = None) -> JobInfo:
        """Fetch the job again; with ``wait`` the server holds the answer up to that many seconds for a change."""
        self.info = await self._client._send(calls.job(self.id, wait))
        return self.info

    async def status(self) -> str:
        """The job's current status: QUEUED, RUNNING, DONE, FAILED or CANCELLED."""
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
        """The job's :class:`~xihe.results.Result` (a list for a batch or sweep), waiting for it if needed."""
        if not self.info.finished:
            await self.wait(timeout=timeout, progress=progress)
        if needs_full_record(self.info):
            await self.refresh()
        # Item by item, each answer bounded: summarized items' records, then per-shot keys and counts in pages.
        return await self._client._drive(calls.read_results(self.info))

    async def cancel(self) -> JobInfo:
        """Ask the server to cancel the job; a finished job's snapshot comes back unchanged."""
        self.info = await self._client._send(calls.cancel(self.id))
        return self.info

    async def _answer(self, call: Call[T], timeout: float | None, progress: bool) -> T:
        """Wait for the job, raise the typed error of a failed or cancelled one, then fetch ``call``'s answer."""
        if not self.info.finished:
            await self.wait(timeout=timeout, progress=progress)
        results_of(self.info)
        return await self._client._send(call)


class AsyncEstimateJob(AsyncJob):
    """An estimation job for asyncio code: :meth:`estimates` waits and gives each PUB's values and std errors."""

    async def estimates(self, timeout: float | None = None, progress: bool = False) -> list[PubEstimate]:
        return await self._answer(calls.estimates(self.id), timeout, progress)


class AsyncSampleJob(AsyncJob):
    """A sampling job for asyncio code: :meth:`samples` waits and gives each PUB's per-register shots."""

    async def samples(self, timeout: float | None = None, progress: bool = False) -> list[PubSamples]:
        if not self.info.finished:
            await self.wait(timeout=timeout, progress=progress)
        results_of(self.info)
        return await self._client._drive(calls.read_samples(self.id))  # page by page, each answer bounded


def _method(call: Callable[..., Any], method: Callable[..., Any], returns: str | None = None) -> None:
    """Give ``method`` (made from ``call``) the name, documentation and signature ``help`` shows."""
    method.__name__ = method.__qualname__ = call.__name__
    method.__doc__ = call.__doc__
    method.__signature__ = calls.method_signature(call, "AsyncClient", returns)  # type: ignore[attr-defined]


def _submits(call: Callable[P, Call[JobInfo]], handle: type[H],
             ) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, H]]:
    """An :class:`AsyncClient` method that sends ``call`` and returns a ``handle`` on the job it made."""
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> H:
        return handle(self, await self._send(call(*args, **kwargs)))
    _method(call, method, handle.__name__)
    return method


def _reads(call: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]:
    """An :class:`AsyncClient` method that sends ``call`` and returns what it reads."""
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._send(call(*args, **kwargs))
    _method(call, method)
    return method


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

    async def _send(self, call: Call[T]) -> T:
        return call.read(await self._transport.request(call.method, call.path, json=call.json, params=call.params,
                                                       headers=call.headers, timeout=call.timeout))

    async def _drive(self, reads: Generator[Call[Any], Any, T]) -> T:
        """Send each call a sans-I/O reader (:func:`calls.read_results`, :func:`calls.read_samples`) yields, one
        bounded answer at a time, and return what it makes of them."""
        answer: Any = None
        while True:
            try:
                call = reads.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            answer = await self._send(call)

    run = _submits(calls.run, AsyncJob)
    estimate = _submits(calls.estimate, AsyncEstimateJob)
    estimate_pubs = _submits(calls.estimate_pubs, AsyncEstimateJob)
    sample = _submits(calls.sample, AsyncSampleJob)
    sample_pubs = _submits(calls.sample_pubs, AsyncSampleJob)
    backends = _reads(calls.backends)
    backend = _reads(calls.backend)
    memory_page = _reads(calls.memory_page)
    counts_page = _reads(calls.counts_page)

    async def job(self, job_id: str) -> AsyncJob:
        """A handle on an existing job."""
        return AsyncJob(self, await self._send(calls.job(job_id)))

    async def jobs(self, status: str | None = None, backend: str | None = None, tag: str | None = None,
                   limit: int = 50, offset: int = 0) -> JobPage:
        """One page of this user's jobs, newest first, filtered by status, backend and tag."""
        page = await self._send(calls.jobs(status, backend, tag, limit, offset))
        return page_from_json(page, lambda item: AsyncJob(self, JobInfo.from_json(item)), limit, offset)
