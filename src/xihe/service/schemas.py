"""Wire schemas of the native API (requests and responses), separate from the storage models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from xihe.limits import MIN_SHOTS
from xihe.service.states import JobStatus
from xihe.service.text import PlainStr, plain

MAX_SEED = 2**63 - 1


class JobCreate(BaseModel):
    """A submission: one ``qasm`` circuit, a batch of ``circuits``, or a parametrized ``qasm`` with ``parameters``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    qasm: str | None = Field(default=None, min_length=1, description="OpenQASM 2.0 source of one circuit.")
    circuits: list[str] | None = Field(default=None, min_length=1, description="A batch of OpenQASM 2.0 sources.")
    backend: PlainStr = Field(min_length=1, max_length=64)
    shots: int = Field(default=1024, ge=MIN_SHOTS, le=2**31 - 1)
    compile: bool = True
    optimization_level: int = Field(default=2, ge=0, le=3)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    # The length limit on the str itself, before the control-character check: pydantic then counts characters
    # ("at most 256 characters"; on the optional PlainStr it said "at most 256 items after validation").
    name: Annotated[str, Field(max_length=256), AfterValidator(plain)] | None = None
    tags: list[PlainStr] = Field(default_factory=list, max_length=32)
    priority: int = Field(default=0, ge=0, le=10)
    parameters: list[dict[str, float]] | None = Field(default=None, min_length=1,
                                                       description="Bindings of a parametrized qasm (a sweep).")
    memory: bool = False
    precision: Literal["double", "single"] = Field(
        default="double", description="Simulation precision: 'single' (complex64, as Aer's) runs the statevector "
        "and trajectories engines in half the memory; other engines run in double.")
    dynamical_decoupling: Literal["XY4", "CPMG"] | None = Field(
        default=None, description="On a twin, fill the circuit's long idle windows with XY4 or CPMG refocusing pulses "
        "(Quafu's open_dd); its idle qubits then dephase with T2echo instead of T2*. Compiled and verbatim jobs alike.")

    @model_validator(mode="after")
    def _one_source(self) -> JobCreate:
        if (self.qasm is None) == (self.circuits is None):
            raise ValueError("give exactly one of 'qasm' (one circuit) or 'circuits' (a batch)")
        if self.parameters is not None and self.qasm is None:
            raise ValueError("'parameters' (a sweep) goes with one parametrized 'qasm', not with 'circuits'")
        if any(len(tag) > 64 or not tag for tag in self.tags):
            raise ValueError("each tag must be 1 to 64 characters")
        if self.circuits is not None and any(not text.strip() for text in self.circuits):
            raise ValueError("a circuit in 'circuits' is empty")
        return self

    @property
    def kind(self) -> Literal["single", "batch", "sweep"]:
        if self.circuits is not None:
            return "batch"
        return "sweep" if self.parameters is not None else "single"


class JobError(BaseModel):
    stage: str | None
    detail: str | None


class QueueEta(BaseModel):
    """A queued job's predicted start and finish with a band, and the reason in words (the pages show ``text``)."""

    start: datetime
    start_earliest: datetime
    start_latest: datetime
    finish: datetime
    finish_latest: datetime
    jobs_ahead: int
    running: int
    text: str


class ResultPublic(BaseModel):
    counts: dict[str, int] = Field(description=(
        "Counts by outcome; when counts_outcomes is set, only the 16,384 most frequent (the first page of "
        "counts_url, whose pages in order are the whole counts)."))
    counts_outcomes: int | None = Field(default=None, description=(
        "Distinct outcomes in all, set only when there are more than a record carries (read them from counts_url)."))
    counts_url: str | None = Field(default=None, description="Where the whole counts are served in pages "
                                                              "(?offset=&limit=), most frequent first.")
    probabilities: dict[str, float]
    shots: int
    memory: list[str] | None = Field(default=None, description=(
        "Per-shot keys, inline only when the job holds few of them in all; otherwise read them in pages from "
        "memory_url."))
    memory_shots: int | None = Field(default=None, description="How many per-shot keys the result holds (None: "
                                                                "per-shot memory was not asked for).")
    memory_url: str | None = Field(default=None, description="Where the per-shot keys are served in pages "
                                                              "(?offset=&limit=).")
    item_url: str | None = Field(default=None, description=(
        "Set only when this is a summary: the job's record carries its items whole up to a size budget, and each "
        "later item as its shots, sizes and links, its counts empty; its whole record (first page of counts, "
        "compiled circuit, layouts, metadata) is served at this URL."))
    compiled_qasm: str | None = None
    initial_layout: Any = None
    final_layout: Any = None
    calibration_id: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    bit_order: str = "c0_leftmost"
    metadata: dict[str, Any] = Field(default_factory=dict)


class JobPublic(BaseModel):
    id: str
    status: JobStatus
    backend: str
    shots: int
    name: str | None
    tags: list[str]
    priority: int
    effective_priority: int = Field(description="The priority the queue orders by: the requested one, capped by "
                                                "the user's allowance.")
    kind: str
    num_circuits: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_position: int | None = None
    estimated_start: datetime | None = None
    eta: QueueEta | None = None
    attempts: int
    error: JobError | None = None
    result: ResultPublic | None = None
    results: list[ResultPublic] | None = None
    results_offset: int | None = Field(default=None, description=(
        "The index of the first item in results (the record's items come in pages of at most 1,000)."))
    results_next: str | None = Field(default=None, description=(
        "Set only when the job has more items than this page of its record: where the next page is served."))


class MemoryPagePublic(BaseModel):
    """A slice of one item's per-shot keys: ``memory[k]`` is shot ``offset + k``; ``total`` keys in all."""

    job_id: str
    index: int
    offset: int
    limit: int
    total: int
    memory: list[str]


class CountsPagePublic(BaseModel):
    """A slice of one item's counts in page order (most frequent first, ties by outcome): outcomes ``offset`` to
    ``offset + limit`` of ``total``."""

    job_id: str
    index: int
    offset: int
    limit: int
    total: int
    counts: dict[str, int]


class JobPage(BaseModel):
    items: list[JobPublic]
    total: int
    limit: int
    offset: int


class CalibrationPublic(BaseModel):
    id: str
    version: str
    time: datetime
    data: dict[str, Any]


class BackendSummary(BaseModel):
    name: str
    system_id: int
    kind: str
    status: str
    num_qubits: int
    num_working_qubits: int
    max_connected_qubits: int = Field(description="How many qubits one circuit can use together: the largest "
                                      "connected group of working qubits (a wider circuit is refused at submit).")
    native_gates: list[str]
    exclusive: bool
    max_shots: int
    queue_length: int
    performance: dict[str, Any] = Field(
        default_factory=dict, description="Latest characterization headline: quantum_volume, median errors "
        "(readout_error, epg_1q, gate_error_2q), t1_us, t2_echo_us and its time; empty if never characterized.")


class BackendStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["online", "maintenance", "offline"]


class CharacterizeRequest(BaseModel):
    """Admin: run a characterization suite on a backend, as a job through the queue."""

    model_config = ConfigDict(extra="forbid")

    suite: Literal["standard", "quick", "full"] = "standard"
    seed: int | None = Field(default=None, ge=0, lt=2**31)
    shots: int = Field(default=1000, ge=1, le=100_000)
    region_size: int = Field(default=4, ge=2, le=64, description="Coupled qubits the suite runs on.")
    priority: int = Field(default=0, ge=-10, le=10)


class PerformancePublic(BaseModel):
    """A backend's latest characterization figures and the history of each headline figure."""

    backend: str
    suite: str
    time: datetime
    calibration_id: str | None
    qubits: list[int]
    seed: int | None
    summary: dict[str, Any]
    experiments: dict[str, Any]
    errors: dict[str, str]
    history: dict[str, list[dict[str, Any]]]
    runs: int = Field(description="Stored runs the history is drawn from.")


class BackendDetail(BackendSummary):
    working_qubits: list[int]
    coupling_map: list[list[int]]
    calibration: CalibrationPublic | None
    max_circuits: int | None = Field(default=None, description="Most circuits (or parameter bindings) per job.")
    properties: dict[str, Any] | None = Field(
        default=None,
        description="The device's current Target in its physical numbering: per qubit T1/T2 (us), frequency (GHz), "
                    "readout error [P(1|0), P(0|1)]; measure duration (ns); per gate [[qubits], duration ns, error].")


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PlainStr = Field(default="", max_length=128)
    # Strict: JSON ``true`` is not one day (a bool is an int to a lax validator).
    expires_in_days: float | None = Field(default=None, gt=0, le=3650, strict=True)


class TokenPublic(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret; shown only in this response.")


class Health(BaseModel):
    """``status`` for everyone; the rest only for a client in XIHE_METRICS_NETWORKS or with an admin's token."""

    status: Literal["ok", "degraded"]
    database: str | None = None
    version: str | None = None
    queued: int | None = None
    running: int | None = None
