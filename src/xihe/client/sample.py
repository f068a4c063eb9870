"""The Sampler primitive's request body and answer, shared by the sync and async clients.

A sampler PUB is a circuit, optional parameter bindings (one PUB element each) and shots. The answer gives, per
PUB and classical register, each binding's shots as integers whose bit ``i`` is the register's bit ``i`` (the
order of Qiskit's ``BitArray`` and of ``int(memory, 2)`` for a Qiskit register).

>>> sample_pubs_body([SamplerPub("OPENQASM 2.0;", shots=10)], "sim", shots=100)["pubs"]
[{'circuit': 'OPENQASM 2.0;', 'shots': 10}]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xihe.client.payloads import CircuitLike, bindings_json, circuit_to_qasm, json_int

BIT_ORDER = "register_bit0_lsb"


@dataclass(frozen=True)
class SamplerPub:
    """One Sampler PUB: a circuit, parameter bindings (None for none), shots (None: the request's)."""

    circuit: CircuitLike
    parameter_values: Sequence[Mapping[Any, Any]] | None = None
    shots: int | None = None

    def to_json(self) -> dict[str, Any]:
        pub: dict[str, Any] = {"circuit": circuit_to_qasm(self.circuit)}
        if self.parameter_values is not None:
            pub["parameter_values"] = bindings_json(self.parameter_values, "parameter_values")
        if self.shots is not None:
            pub["shots"] = json_int(self.shots, "shots")
        return pub


def sample_pubs_body(pubs: Sequence[SamplerPub], backend: str, *, shots: int, seed: int | None = None,
                     compile: bool = True, optimization_level: int = 2, name: str | None = None,
                     tags: Sequence[str] = (), priority: int = 0) -> dict[str, Any]:
    """The JSON body of ``POST /sample``."""
    return {"pubs": [pub.to_json() for pub in pubs], "backend": backend, "shots": json_int(shots, "shots"),
            "seed": json_int(seed, "seed") if seed is not None else None, "compile": bool(compile),
            "optimization_level": int(optimization_level), "name": name, "tags": list(tags),
            "priority": int(priority)}


@dataclass(frozen=True)
class PubSamples:
    """One PUB's shots: ``registers[name][i][s]`` is register ``name``'s value in shot ``s`` of binding ``i``."""

    shots: int
    registers: dict[str, list[list[int]]]
    num_bits: dict[str, int]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PubSamples:
        return cls(shots=int(data["shots"]),
                   registers={r["name"]: [[int(v, 16) for v in row] for row in r["samples"]]
                              for r in data["registers"]},
                   num_bits={r["name"]: int(r["num_bits"]) for r in data["registers"]})

    def counts(self, register: str, binding: int = 0) -> dict[str, int]:
        """Counts of one register under one binding, keyed by its bits written with bit 0 rightmost."""
        width = self.num_bits[register]
        return dict(Counter(format(v, f"0{width}b") for v in self.registers[register][binding]))


def samples_from_json(data: Mapping[str, Any]) -> list[PubSamples]:
    if data.get("bit_order", BIT_ORDER) != BIT_ORDER:
        raise ValueError(f"the server's bit order {data.get('bit_order')!r} is not {BIT_ORDER}")
    return [PubSamples.from_json(pub) for pub in data.get("pubs") or []]
