"""Client-side views of the server's JSON: backends, job records, result pages, and the conversion to ``Result``.

These are read-only snapshots of one server answer; the live handle on a job is :class:`xihe.client.Job`. Each
keeps the whole JSON in ``raw`` so fields added by newer servers are never lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, overload

from xihe.client.errors import JobCancelledError, JobFailedError
from xihe.results import BIT_ORDER, Result
from xihe.status import TERMINAL, JobStatus

TERMINAL_STATUSES = frozenset(TERMINAL)
JOB_STATUSES = tuple(JobStatus)


@dataclass(frozen=True)
class BackendInfo:
    """A backend as the server describes it: size, gates, topology, status and (in detail views) calibration."""

    name: str
    kind: str
    num_qubits: int
    status: str
    system_id: int | None
    native_gates: tuple[str, ...]
    coupling_map: tuple[tuple[int, int], ...] | None
    working_qubits: tuple[int, ...] | None
    max_shots: int | None
    queue_length: int | None
    calibration: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def num_working_qubits(self) -> int:
        if self.working_qubits is not None:
            return len(self.working_qubits)
        return int(self.raw.get("num_working_qubits", self.num_qubits))

    @property
    def max_connected_qubits(self) -> int:
        """How many qubits one circuit can use together (the largest connected group of working qubits)."""
        return int(self.raw.get("max_connected_qubits", self.num_working_qubits))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BackendInfo:
        raw_topology = data.get("topology")
        topology: Mapping[str, Any] = raw_topology if isinstance(raw_topology, Mapping) else {}
        coupling = data.get("coupling_map", topology.get("coupling_map"))
        working = data.get("working_qubits", topology.get("working_qubits"))
        calibration = data.get("calibration")
        return cls(
            name=str(data["name"]),
            kind=str(data.get("kind", "")),
            num_qubits=int(data.get("num_qubits", 0)),
            status=str(data.get("status", "")),
            system_id=int(data["system_id"]) if data.get("system_id") is not None else None,
            native_gates=tuple(str(g) for g in data.get("native_gates") or ()),
            coupling_map=tuple((int(a), int(b)) for a, b in coupling) if coupling is not None else None,
            working_qubits=tuple(int(q) for q in working) if working is not None else None,
            max_shots=int(data["max_shots"]) if data.get("max_shots") is not None else None,
            queue_length=int(data["queue_length"]) if data.get("queue_length") is not None else None,
            calibration=dict(calibration) if isinstance(calibration, Mapping) else None,
            raw=dict(data),
        )


@dataclass(frozen=True)
class JobInfo:
    """One snapshot of a job record (the server's JobPublic)."""

    id: str
    status: str
    backend: str
    shots: int
    name: str | None
    tags: tuple[str, ...]
    kind: str
    num_circuits: int
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    queue_position: int | None
    error: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobInfo:
        error = data.get("error")
        return cls(
            id=str(data["id"]),
            status=str(data["status"]).upper(),
            backend=str(data.get("backend", "")),
            shots=int(data.get("shots") or 0),
            name=data.get("name"),
            tags=tuple(data.get("tags") or ()),
            kind=str(data.get("kind", "single")),
            num_circuits=int(data.get("num_circuits") or 1),
            created_at=_parse_time(data.get("created_at")),
            started_at=_parse_time(data.get("started_at")),
            finished_at=_parse_time(data.get("finished_at")),
            queue_position=data.get("queue_position"),
            error=dict(error) if isinstance(error, Mapping) else None,
            raw=dict(data),
        )

    def results(self) -> list[Result]:
        """Every circuit's result in submission order (one for a single job)."""
        many = self.raw.get("results")
        if many:
            return [result_from_json(item, job_id=self.id, index=i) for i, item in enumerate(many)]
        one = self.raw.get("result")
        return [result_from_json(one, job_id=self.id)] if one else []


@dataclass(frozen=True)
class JobPage(Sequence[Any]):
    """One page of a job listing; iterates over its jobs."""

    items: list[Any]
    total: int
    limit: int
    offset: int

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]


_RESULT_METADATA_FIELDS = (
    "compiled_qasm",
    "initial_layout",
    "final_layout",
    "calibration_id",
    "versions",
)


def result_from_json(data: Mapping[str, Any], *, job_id: str | None = None, index: int | None = None) -> Result:
    """A :class:`xihe.results.Result` from the server's ResultPublic, provenance kept in ``metadata``."""
    shots = int(data.get("shots") or 0)
    metadata: dict[str, Any] = dict(data.get("metadata") or {})
    for key in _RESULT_METADATA_FIELDS:
        if data.get(key) is not None:
            metadata[key] = data[key]
    if job_id is not None:
        metadata["job_id"] = job_id
    if index is not None:
        metadata["circuit_index"] = index
    probabilities = data.get("probabilities")
    memory = data.get("memory")
    return Result(
        counts={str(k): int(v) for k, v in (data.get("counts") or {}).items()},
        shots=shots,
        memory=[str(m) for m in memory] if memory is not None else None,
        # With shots the server's probabilities are counts/shots; only a shots=0 run carries exact ones.
        exact_probabilities=dict(probabilities) if probabilities is not None and shots == 0 else None,
        metadata=metadata,
        bit_order=str(data.get("bit_order") or BIT_ORDER),
    )


def _records(info: JobInfo) -> list[Mapping[str, Any]]:
    many = info.raw.get("results")
    if many:
        return list(many)
    one = info.raw.get("result")
    return [one] if one else []


def items_of(data: Any) -> list[Any]:
    if isinstance(data, Mapping):
        return list(data.get("items", []))
    return list(data or [])


def page_from_json(data: Any, make: Callable[[Any], Any], limit: int, offset: int) -> JobPage:
    items = items_of(data)
    total = int(data.get("total", len(items))) if isinstance(data, Mapping) else len(items)
    limit = int(data.get("limit", limit)) if isinstance(data, Mapping) else limit
    offset = int(data.get("offset", offset)) if isinstance(data, Mapping) else offset
    return JobPage(items=[make(item) for item in items], total=total, limit=limit, offset=offset)


@overload
def results_of(info: JobInfo) -> Result | list[Result]: ...


@overload
def results_of(info: JobInfo, records_only: Literal[True]) -> list[Mapping[str, Any]]: ...


def results_of(info: JobInfo, records_only: bool = False) -> Result | list[Result] | list[Mapping[str, Any]]:
    """The result(s) of a finished job (with ``records_only``, their records as the snapshot carries them), or the
    typed error that says why there are none."""
    if info.status == JobStatus.FAILED:
        error = info.error or {}
        raise JobFailedError(
            f"job {info.id} failed: {error.get('detail', 'no reason given')}", stage=error.get("stage")
        )
    if info.status == JobStatus.CANCELLED:
        raise JobCancelledError(f"job {info.id} was cancelled")
    single = info.kind == "single" and not info.raw.get("results")
    if single and not _records(info):
        raise JobFailedError(f"job {info.id} is {info.status} but the server sent no result")
    if records_only:
        return _records(info)
    results = info.results()
    return results[0] if single else results


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
