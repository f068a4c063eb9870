"""Prometheus metrics of one app (its own registry, so several apps in one process never collide)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from xihe.service.db import Database
from xihe.service.repositories import jobs


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

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
