"""The blocking Python SDK: :class:`Client` talks to one Xihe server, :class:`Job` is a handle on one job.

Example (against a running server)::

    from xihe import Circuit
    from xihe.client import Client

    client = Client("http://127.0.0.1:8000", token="xh_...")
    job = client.run(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]), backend="sim", shots=1000)
    print(job.result().counts)           # waits, with progress on a terminal
"""

from __future__ import annotations

import time
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
from xihe.client.transport import API_PREFIX, RetryPolicy, SyncTransport
from xihe.results import Result


class Job:
    """A live handle on one job; ``info`` is the last snapshot the server sent."""

    def __init__(self, client: Client, info: JobInfo) -> None:
        self._client = client
        self.info = info

    @property
    def id(self) -> str:
        return self.info.id

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.info.status} on {self.info.backend}>"

    def refresh(self, wait: float | None = None) -> JobInfo:
        """Fetch the job again; with ``wait`` the server holds the answer up to that many seconds for a change."""
        self.info = self._client._get_job(self.id, wait=wait)
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
        return results_of(self.info)

    def cancel(self) -> JobInfo:
        """Ask the server to cancel the job (a running job stops at its next chunk); returns the new snapshot.

        A job that has already finished is left as it is (the server answers 200, not 409): its snapshot comes back.
        """
        self.info = JobInfo.from_json(self._client._transport.request("POST", f"jobs/{self.id}/cancel"))
        return self.info


class EstimateJob(Job):
    """A handle on an estimation job: :meth:`estimates` waits and gives each PUB's values and std errors."""

    def estimates(self, timeout: float | None = None, progress: bool = False) -> list[PubEstimate]:
        if not self.info.finished:
            self.wait(timeout=timeout, progress=progress)
        results_of(self.info)  # raises the typed error of a failed or cancelled job
        return estimates_from_json(self._client._transport.request("GET", f"estimate/{self.id}"))


class SampleJob(Job):
    """A handle on a sampling job: :meth:`samples` waits and gives each PUB's per-register shots."""

    def samples(self, timeout: float | None = None, progress: bool = False) -> list[PubSamples]:
        if not self.info.finished:
            self.wait(timeout=timeout, progress=progress)
        results_of(self.info)  # raises the typed error of a failed or cancelled job
        return samples_from_json(self._client._transport.request("GET", f"sample/{self.id}"))


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

    def backends(self) -> list[BackendInfo]:
        """Every backend the server offers, with its status."""
        return [BackendInfo.from_json(item) for item in items_of(self._transport.request("GET", "backends"))]

    def backend(self, name: str, at: datetime | str | None = None) -> BackendInfo:
        """One backend with its calibration and topology (``at``: the calibration in force at that time)."""
        return BackendInfo.from_json(self._transport.request("GET", f"backends/{name}", params=backend_params(at)))

    def run(
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
    ) -> Job:
        """Submit a circuit (or a list of circuits: one batch job); returns at once with a :class:`Job`.

        ``compile=False`` runs the circuit verbatim (it must already use native gates on coupled qubits);
        ``parameters`` is a list of bindings that makes a parameter sweep.
        """
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
        return Job(self, JobInfo.from_json(self._transport.request("POST", "jobs", json=body, headers=headers)))

    def estimate(
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
    ) -> EstimateJob:
        """Submit one Estimator PUB (one job); ``job.estimates()[0].values[i][j]`` is <observables[j]> under
        ``parameter_values[i]``.

        Labels follow Qiskit's ``SparsePauliOp``: qubit 0 is the rightmost character. ``precision`` is the target
        standard error (shots per measured circuit: ceil(1/precision^2)); 0 gives exact values on ideal simulators.
        """
        body = estimate_body(circuit, backend, observables, parameter_values, precision=precision, seed=seed,
                             compile=compile, optimization_level=optimization_level, name=name, tags=tags,
                             priority=priority, mitigation=mitigation)
        return EstimateJob(self, JobInfo.from_json(self._transport.request("POST", "estimate", json=body)))

    def estimate_pubs(
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
    ) -> EstimateJob:
        """Submit several Estimator PUBs as one job; ``job.estimates()[p]`` answers ``pubs[p]``."""
        body = estimate_pubs_body(pubs, backend, precision=precision, seed=seed, compile=compile,
                                  optimization_level=optimization_level, mitigation=mitigation, name=name,
                                  tags=tags, priority=priority)
        return EstimateJob(self, JobInfo.from_json(self._transport.request("POST", "estimate", json=body)))

    def sample(
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
    ) -> SampleJob:
        """Submit one Sampler PUB (one job); ``job.samples()[0].registers["c"][i]`` holds register ``c``'s
        ``shots`` values under ``parameter_values[i]`` (bit i of a value is the register's bit i)."""
        return self.sample_pubs([SamplerPub(circuit, parameter_values)], backend, shots=shots, seed=seed,
                                 compile=compile, optimization_level=optimization_level, name=name, tags=tags,
                                 priority=priority)

    def sample_pubs(
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
    ) -> SampleJob:
        """Submit several Sampler PUBs as one job (a PUB without shots of its own takes ``shots``)."""
        body = sample_pubs_body(pubs, backend, shots=shots, seed=seed, compile=compile,
                                optimization_level=optimization_level, name=name, tags=tags, priority=priority)
        return SampleJob(self, JobInfo.from_json(self._transport.request("POST", "sample", json=body)))

    def job(self, job_id: str) -> Job:
        """A handle on an existing job."""
        return Job(self, self._get_job(job_id))

    def jobs(
        self,
        status: str | None = None,
        backend: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> JobPage:
        """One page of this user's jobs, newest first, filtered by status, backend and tag."""
        page = self._transport.request("GET", "jobs", params=list_params(status, backend, tag, limit, offset))
        return page_from_json(page, lambda item: Job(self, JobInfo.from_json(item)), limit, offset)

    def _get_job(self, job_id: str, wait: float | None = None) -> JobInfo:
        return JobInfo.from_json(self._transport.request(**job_request(job_id, wait)))
