"""Wire schemas of the Sampler primitive (``/api/v1/sample``): PUBs in, per-register bit arrays out.

Bit order: a register's sample is an integer whose bit ``i`` is the register's bit ``i`` (Qiskit's ``BitArray``
and ``memory`` order), written as a hex string (``"0x5"``) so no JSON reader loses bits of a wide register.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xihe.limits import MIN_SHOTS
from xihe.service.schemas import MAX_SEED
from xihe.service.states import JobStatus

DEFAULT_SHOTS = 1024


class SamplePub(BaseModel):
    """One sampler PUB: a circuit, an array of parameter bindings, shots per binding."""

    model_config = ConfigDict(extra="forbid")

    circuit: str = Field(min_length=1, description="OpenQASM 2.0 or 3 source; its measurements are sampled.")
    parameter_values: list[dict[str, float]] | None = Field(
        default=None, min_length=1, description="Bindings of the circuit's parameters; one PUB element each.")
    shots: int | None = Field(default=None, ge=MIN_SHOTS, le=2**31 - 1, description="Default: the request's shots.")


class SampleCreate(BaseModel):
    """A sampling job: PUBs on one backend."""

    model_config = ConfigDict(extra="forbid")

    pubs: list[SamplePub] = Field(min_length=1, max_length=1000)
    backend: str = Field(min_length=1, max_length=64)
    shots: int = Field(default=DEFAULT_SHOTS, ge=MIN_SHOTS, le=2**31 - 1)
    compile: bool = True
    optimization_level: int = Field(default=2, ge=0, le=3)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    name: str | None = Field(default=None, max_length=256)
    tags: list[str] = Field(default_factory=list, max_length=32)
    priority: int = Field(default=0, ge=0, le=10)

    @model_validator(mode="after")
    def _tags(self) -> SampleCreate:
        if any(len(tag) > 64 or not tag for tag in self.tags):
            raise ValueError("each tag must be 1 to 64 characters")
        return self


class RegisterSamples(BaseModel):
    """One classical register of one PUB: ``samples[i][s]`` is its value in shot ``s`` of binding ``i``."""

    name: str
    num_bits: int
    samples: list[list[str]]


class RegisterPage(BaseModel):
    """One register's values in a page of shots, as hex."""

    name: str
    num_bits: int
    samples: list[str]


class PubSamplesPublic(BaseModel):
    shots: int
    registers: list[RegisterSamples]
    shots_from_counts: bool = Field(default=False, description="The device (a remote agent's driver) reported "
                                    "counts only: the shots are those counts in a seeded random order.")


class SamplePublic(BaseModel):
    id: str
    status: JobStatus
    backend: str
    bit_order: str = "register_bit0_lsb"
    pubs: list[PubSamplesPublic] | None = None


class SamplePagePublic(BaseModel):
    """Shots ``offset`` to ``offset + limit`` of one PUB under one binding: ``registers[r].samples[k]`` is
    register ``r``'s value in shot ``offset + k``; ``total`` shots in all."""

    id: str
    pub: int
    binding: int
    offset: int
    limit: int
    total: int
    shots_from_counts: bool
    registers: list[RegisterPage]
