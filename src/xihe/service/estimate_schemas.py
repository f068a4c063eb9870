"""Wire schemas of the Estimator primitive (``/api/v1/estimate``): PUBs in, expectation values and std errors out.

Label convention (Qiskit's ``SparsePauliOp``): in a Pauli label, qubit 0 is the **rightmost** character, so
``"XZ"`` is X on qubit 1 and Z on qubit 0. A label has one character per circuit qubit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xihe.mitigation.folding import check_noise_factors
from xihe.service.schemas import MAX_SEED
from xihe.service.states import JobStatus

# Qiskit's BackendEstimatorV2 default: 1/64, i.e. 4096 shots per measured circuit.
DEFAULT_PRECISION = 0.015625
MAX_OBSERVABLES = 1000
MAX_TERMS = 10_000

Observable = Annotated[dict[str, float], Field(min_length=1, max_length=MAX_TERMS)]


class EstimatePub(BaseModel):
    """One primitive unified bloc: a circuit, observables, an array of parameter bindings, a precision.

    The PUB's elements are every (binding, observable) pair: values come back as ``[binding][observable]``.
    """

    model_config = ConfigDict(extra="forbid")

    circuit: str = Field(min_length=1, description="OpenQASM 2.0 source (measurements in it are ignored).")
    observables: list[Observable] = Field(
        min_length=1, max_length=MAX_OBSERVABLES,
        description="Pauli sums as {label: coefficient}, labels in SparsePauliOp order (qubit 0 rightmost).")
    parameter_values: list[dict[str, float]] | None = Field(
        default=None, min_length=1, description="Bindings of the circuit's parameters, one per row of values.")
    precision: float | None = Field(
        default=None, ge=0, le=1,
        description="Target standard error; shots per measured circuit = ceil(1/precision^2). 0: exact values "
                    "(std 0), ideal simulators only. Default: the request's precision.")


class ZneOptions(BaseModel):
    """Zero-noise extrapolation: each measured circuit is compiled once, globally folded to each noise factor
    (``U (U^dagger U)^k``), run verbatim, and the values extrapolated to factor 0."""

    model_config = ConfigDict(extra="forbid")

    noise_factors: list[int] = Field(default_factory=lambda: [1, 3, 5], min_length=2, max_length=7,
                                     description="Odd, increasing integers >= 1.")
    extrapolator: Literal["richardson", "exponential"] = "richardson"

    @model_validator(mode="after")
    def _factors(self) -> ZneOptions:
        check_noise_factors(self.noise_factors)
        return self


Randomizations = Annotated[int, Field(ge=1, le=1000)] | Literal["auto"]
ShotsPerRandomization = Annotated[int, Field(ge=1, le=10_000_000)] | Literal["auto"]


class MeasureTwirling(BaseModel):
    """Measurement twirling (qiskit-ibm-runtime's ``twirling.enable_measure``): each measured circuit runs as
    ``num_randomizations`` circuits with random X flips before their measurements (seeded), ``shots_per_randomization``
    shots each, the flips undone in the counts. "auto" follows qiskit-ibm-runtime: ``max(64, ceil(shots / 32))``
    shots each and as many randomizations as cover the PUB's shots."""

    model_config = ConfigDict(extra="forbid")

    num_randomizations: Randomizations = "auto"
    shots_per_randomization: ShotsPerRandomization = "auto"


class MitigationOptions(BaseModel):
    """Error mitigation of sampled estimates (qiskit-ibm-runtime's ``resilience_level`` 1 is ``readout``, 2 adds
    ``zne``)."""

    model_config = ConfigDict(extra="forbid")

    readout: bool = Field(default=False, description="Undo each measured qubit's readout confusion.")
    readout_calibration: Literal["calibrated", "measured", "twirled"] = Field(
        default="calibrated", description="'calibrated': the device's calibration data; 'measured': two circuits "
                                          "in the same job (all |0>, all |1>) measure it afresh on the qubits used; "
                                          "'twirled': TREX, measurements twirled and each Pauli term divided by its "
                                          "factor measured on a twirled |0...0> in the same job.")
    measure_twirling: MeasureTwirling | None = Field(
        default=None, description="Twirl the measurements (default randomizations with 'twirled' readout; without "
                                  "readout mitigation the twirled estimates are not rescaled).")
    zne: ZneOptions | None = None

    @model_validator(mode="after")
    def _twirling(self) -> MitigationOptions:
        if self.measure_twirling is not None and self.readout and self.readout_calibration != "twirled":
            raise ValueError("twirled measurements make each qubit's readout a symmetric flip, which the "
                             f"'{self.readout_calibration}' confusion does not describe: use readout_calibration="
                             "'twirled' (TREX) with measure_twirling")
        return self

    def twirling(self) -> MeasureTwirling | None:
        """The measurement twirling the job runs: as given, or the default one for TREX."""
        if self.measure_twirling is None and self.readout and self.readout_calibration == "twirled":
            return MeasureTwirling()
        return self.measure_twirling

    @property
    def trex(self) -> bool:
        return self.readout and self.readout_calibration == "twirled"


class EstimateCreate(BaseModel):
    """An estimation job: PUBs on one backend."""

    model_config = ConfigDict(extra="forbid")

    pubs: list[EstimatePub] = Field(min_length=1, max_length=1000)
    backend: str = Field(min_length=1, max_length=64)
    precision: float = Field(default=DEFAULT_PRECISION, ge=0, le=1)
    compile: bool = True
    optimization_level: int = Field(default=2, ge=0, le=3)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    name: str | None = Field(default=None, max_length=256)
    tags: list[str] = Field(default_factory=list, max_length=32)
    priority: int = Field(default=0, ge=0, le=10)
    mitigation: MitigationOptions | None = None

    @model_validator(mode="after")
    def _tags(self) -> EstimateCreate:
        if any(len(tag) > 64 or not tag for tag in self.tags):
            raise ValueError("each tag must be 1 to 64 characters")
        return self


class PubEstimatePublic(BaseModel):
    """One PUB's answer: ``values[i][j]`` is <observable j> under binding i, ``stds[i][j]`` its standard error."""

    values: list[list[float]]
    stds: list[list[float]]
    shots: int = Field(description="Shots per measured circuit (0: exact).")
    exact: bool
    groups: int = Field(description="Qubit-wise commuting groups: measured circuits per binding.")
    readout_mitigated: bool = False
    measure_twirling: list[int] | None = Field(
        default=None, description="With twirled measurements: [randomizations, shots per randomization].")
    trex_factors: list[list[float]] | None = Field(
        default=None, description="With TREX: trex_factors[i][t] is the factor the t-th Pauli term (observables in "
                                  "order, each one's terms in order) was divided by under binding i (1 for identity).")
    noise_factors: list[int] | None = None
    factor_values: list[list[list[float]]] | None = Field(
        default=None, description="With ZNE: factor_values[i][k][j] is <observable j> under binding i at "
                                  "noise_factors[k] (readout-mitigated if asked), before extrapolation.")
    extrapolation: str | None = Field(default=None, description="The fit used (with ZNE).")


class EstimatePublic(BaseModel):
    id: str
    status: JobStatus
    backend: str
    label_order: str = "qubit0_rightmost"
    pubs: list[PubEstimatePublic] | None = None
