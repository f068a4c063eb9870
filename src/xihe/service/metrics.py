"""Prometheus metrics of one app (its own registry, so several apps in one process never collide)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from xihe.service.db import Database
from xihe.service.repositories import jobs, operations
from xihe.status import AttemptOutcome

# Seconds: queue waits and attempt run times, from an interactive job to the 600 s wall limit and beyond.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 3600.0)
# An agent that claimed or beat within this many seconds counts as connected.
AGENT_SEEN_SECONDS = 30.0


class _QueueCollector(Collector):
    """Job counts by status, read from the database at scrape time (cached for a second)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._cache: tuple[float, dict[str, int], dict[str, int]] = (0.0, {}, {})

    def collect(self) -> Iterator[Any]:
        stamp, by_status, queued = self._cache
        if time.monotonic() - stamp > 1.0:
            with self.database.read() as session:
                by_status = jobs.status_counts(session)
                queued_map = jobs.queue_length(session)
            queued = queued_map if isinstance(queued_map, dict) else {}
            self._cache = (time.monotonic(), by_status, queued)
        family = GaugeMetricFamily("xihe_jobs", "Jobs by status", labels=["status"])
        for status in ("QUEUED", "RUNNING", "DONE", "FAILED", "CANCELLED"):
            family.add_metric([status], by_status.get(status, 0))
        yield family
        backlog = GaugeMetricFamily("xihe_queue_length", "Queued jobs by backend", labels=["backend"])
        for backend, count in sorted(queued.items()):
            backlog.add_metric([backend], count)
        yield backlog


def _histogram(name: str, documentation: str, distribution: operations.Distribution) -> HistogramMetricFamily:
    buckets = [(f"{bound:g}", count) for bound, count in zip(distribution.bounds, distribution.counts, strict=True)]
    buckets.append(("+Inf", distribution.total))
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=distribution.sum)


class _OperationsCollector(Collector):
    """Running jobs per backend, queue-wait and run-time histograms, retried and lost attempts: one aggregate
    query each, from the database (the workers and agents are other processes), cached for five seconds."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._cache: tuple[float, list[Any]] = (-1e9, [])

    def collect(self) -> Iterator[Any]:
        stamp, families = self._cache
        if time.monotonic() - stamp > 5.0:
            families = self._read()
            self._cache = (time.monotonic(), families)
        yield from families

    def _read(self) -> list[Any]:
        with self.database.read() as session:
            running = operations.running_by_backend(session)
            wait = operations.queue_wait(session, DURATION_BUCKETS)
            run = operations.run_time(session, DURATION_BUCKETS)
            outcomes = operations.attempt_outcomes(session)
        by_backend = GaugeMetricFamily("xihe_jobs_running", "Running jobs by backend", labels=["backend"])
        for backend, count in sorted(running.items()):
            by_backend.add_metric([backend], count)
        retries = CounterMetricFamily("xihe_job_retries", "Attempts that failed and put their job back in the queue")
        retries.add_metric([], outcomes.get(AttemptOutcome.RETRY.value, 0))
        lost = CounterMetricFamily("xihe_leases_lost", "Attempts whose lease ran out (worker or agent died or "
                                   "stalled)")
        lost.add_metric([], outcomes.get(AttemptOutcome.LOST.value, 0))
        return [by_backend,
                _histogram("xihe_job_queue_wait_seconds", "Submission to first start", wait),
                _histogram("xihe_job_run_seconds", "Attempt run time, claim to end", run),
                retries, lost]


class _AgentCollector(Collector):
    """Device agents seen by this API process (a claim or a heartbeat) within :data:`AGENT_SEEN_SECONDS`."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], float] = {}

    def saw(self, device: str, agent: str | None) -> None:
        """A claim by ``agent``; or (``agent`` None) a heartbeat of ``device``'s agent, which does not name itself:
        it renews the device's agents already seen."""
        now = time.monotonic()
        if len(self.seen) > 10_000:
            self.seen.clear()
        if agent is not None:
            self.seen[(device, agent)] = now
            return
        known = [key for key in self.seen if key[0] == device]
        for key in known or [(device, "unnamed")]:
            self.seen[key] = now

    def collect(self) -> Iterator[Any]:
        now = time.monotonic()
        counts: dict[str, int] = {}
        for (device, _agent), when in list(self.seen.items()):
            if now - when <= AGENT_SEEN_SECONDS:
                counts[device] = counts.get(device, 0) + 1
        family = GaugeMetricFamily("xihe_agents_connected", "Device agents seen in the last 30 s by this replica",
                                   labels=["device"])
        for device, count in sorted(counts.items()):
            family.add_metric([device], count)
        yield family


class ServiceMetrics:
    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry()
        self.jobs_submitted = Counter("xihe_jobs_submitted", "Jobs accepted", ["backend", "kind"],
                                      registry=self.registry)
        self.requests = Counter("xihe_http_requests", "HTTP requests", ["method", "status"], registry=self.registry)
        self.latency = Histogram("xihe_http_request_seconds", "HTTP request latency", ["method"],
                                 registry=self.registry,
                                 buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60))
        self.registry.register(_QueueCollector(database))
        self.registry.register(_OperationsCollector(database))
        self.agents = _AgentCollector()
        self.registry.register(self.agents)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
