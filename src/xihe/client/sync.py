"""The blocking Python SDK: :class:`Client` talks to one Xihe server, :class:`Job` is a handle on one job.

Example (against a running server)::

    from xihe import Circuit
    from xihe.client import Client

    client = Client("http://127.0.0.1:8000", token="xh_...")
    job = client.run(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]), backend="sim", shots=1000)
    print(job.result().counts)           # waits, with progress on a terminal

The calls themselves (arguments, defaults, documentation, request and reading of the answer) are defined once in
:mod:`xihe.client.calls`; this module sends them and blocks, :mod:`xihe.client.aio` sends them and awaits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
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
from xihe.client.transport import API_PREFIX, RetryPolicy, SyncTransport
from xihe.results import Result

P = ParamSpec("P")
T = TypeVar("T")
H = TypeVar("H", bound="Job")


class Job:
    """A live handle on one job; ``info`` is the last snapshot the server sent."""

    def __init__(self, client: Client, info: JobInfo) -> None:
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.id

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.info.status} on {self.info.backend}>"

    def refresh(self, wait: float | None = None) -> JobInfo:
        """Fetch the job again; with ``wait`` the server holds the answer up to that many seconds for a change."""
        self.info = self._client._send(calls.job(self.id, wait))
        return self.info

    def status(self) -> str:
        """The job's current status: QUEUED, RUNNING, DONE, FAILED or CANCELLED."""
        return self.refresh().status

    def wait(self, timeout: float | None = None, progress: bool = True) -> JobInfo:
        """Block until the job finishes (or ``timeout`` seconds pass: :class:`JobTimeoutError`).

        Uses the server's ``?wait=`` long poll, so a finished job is noticed at once without busy polling.
        """
        schedule = WaitSchedule(self.id, timeout, progress)
        with WaitProgress(self.id, enabled=progress) as shown:
            shown.update(self.info)
            while not self.info.finished:
                self.refresh(wait=schedule.next_poll(self.info))
                shown.update(self.info)
                pause = schedule.pause(self.info)
                if pause is not None:
                    time.sleep(pause)
        return self.info

    def result(self, timeout: float | None = None, progress: bool = False) -> Result | list[Result]:
        """The job's :class:`~xihe.results.Result` (a list for a batch or sweep), waiting for it if needed."""
        if not self.info.finished:
            self.wait(timeout=timeout, progress=progress)
        if needs_full_record(self.info):
            self.refresh()
        # Item by item, each answer bounded: summarized items' records, then per-shot keys and counts in pages.
        return self._client._drive(calls.read_results(self.info))

    def cancel(self) -> JobInfo:
        """Ask the server to cancel the job (a running job stops at its next chunk); returns the new snapshot.

        A job that has already finished is left as it is (the server answers 200, not 409): its snapshot comes back.
        """
        self.info = self._client._send(calls.cancel(self.id))
        return self.info

    def _answer(self, call: Call[T], timeout: float | None, progress: bool) -> T:
        """Wait for the job, raise the typed error of a failed or cancelled one, then fetch ``call``'s answer."""
        if not self.info.finished:
            self.wait(timeout=timeout, progress=progress)
        results_of(self.info)
        return self._client._send(call)


class EstimateJob(Job):
    """A handle on an estimation job: :meth:`estimates` waits and gives each PUB's values and std errors."""

    def estimates(self, timeout: float | None = None, progress: bool = False) -> list[PubEstimate]:
        return self._answer(calls.estimates(self.id), timeout, progress)


class SampleJob(Job):
    """A handle on a sampling job: :meth:`samples` waits and gives each PUB's per-register shots."""

    def samples(self, timeout: float | None = None, progress: bool = False) -> list[PubSamples]:
        if not self.info.finished:
            self.wait(timeout=timeout, progress=progress)
        results_of(self.info)
        return self._client._drive(calls.read_samples(self.id))  # page by page, each answer bounded


def _method(call: Callable[..., Any], method: Callable[..., Any], returns: str | None = None) -> None:
    """Give ``method`` (made from ``call``) the name, documentation and signature ``help`` shows."""
    method.__name__ = method.__qualname__ = call.__name__
    method.__doc__ = call.__doc__
    method.__signature__ = calls.method_signature(call, "Client", returns)  # type: ignore[attr-defined]


def _submits(call: Callable[P, Call[JobInfo]], handle: type[H]) -> Callable[Concatenate[Client, P], H]:
    """A :class:`Client` method that sends ``call`` and returns a ``handle`` on the job it made."""
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> H:
        return handle(self, self._send(call(*args, **kwargs)))
    _method(call, method, handle.__name__)
    return method


def _reads(call: Callable[P, Call[T]]) -> Callable[Concatenate[Client, P], T]:
    """A :class:`Client` method that sends ``call`` and returns what it reads."""
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._send(call(*args, **kwargs))
    _method(call, method)
    return method


class Client:
    """A connection to one Xihe server (settings from arguments, ``XIHE_URL``/``XIHE_TOKEN``, or the config file)."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: httpx.Timeout | float | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = resolve_config(url, token)
        self.url = config.url
        self.token = config.token
        self._transport = SyncTransport(
            self.url + API_PREFIX, self.token, timeout=timeout, retry=retry, transport=transport
        )

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def _send(self, call: Call[T]) -> T:
        return call.read(self._transport.request(call.method, call.path, json=call.json, params=call.params,
                                                 headers=call.headers, timeout=call.timeout))

    def _drive(self, reads: Generator[Call[Any], Any, T]) -> T:
        """Send each call a sans-I/O reader (:func:`calls.read_results`, :func:`calls.read_samples`) yields, one
        bounded answer at a time, and return what it makes of them."""
        answer: Any = None
        while True:
            try:
                call = reads.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            answer = self._send(call)

    run = _submits(calls.run, Job)
    estimate = _submits(calls.estimate, EstimateJob)
    estimate_pubs = _submits(calls.estimate_pubs, EstimateJob)
    sample = _submits(calls.sample, SampleJob)
    sample_pubs = _submits(calls.sample_pubs, SampleJob)
    backends = _reads(calls.backends)
    backend = _reads(calls.backend)
    memory_page = _reads(calls.memory_page)
    counts_page = _reads(calls.counts_page)

    def job(self, job_id: str) -> Job:
        """A handle on an existing job."""
        return Job(self, self._send(calls.job(job_id)))

    def jobs(self, status: str | None = None, backend: str | None = None, tag: str | None = None, limit: int = 50,
             offset: int = 0) -> JobPage:
        """One page of this user's jobs, newest first, filtered by status, backend and tag."""
        page = self._send(calls.jobs(status, backend, tag, limit, offset))
        return page_from_json(page, lambda item: Job(self, JobInfo.from_json(item)), limit, offset)
