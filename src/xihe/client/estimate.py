"""The Estimator primitive's request body and answer, shared by the sync and async clients (one or several PUBs,
optional server-side error mitigation).

An observable is a Pauli sum in Qiskit's ``SparsePauliOp`` label order -- **qubit 0 is the rightmost character**
-- given as ``{"XZ": 0.5, "II": 1.0}``, one label string (coefficient 1), or any object with ``to_list()``
returning ``[(label, coefficient), ...]`` (a Qiskit ``SparsePauliOp``).

>>> estimate_body("OPENQASM 2.0;", "sim", {"ZI": 2}, None, precision=0.0)["pubs"][0]["observables"]
[{'ZI': 2.0}]
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xihe.client.payloads import CircuitLike, bindings_json, circuit_to_qasm, json_int

ObservableLike = str | Mapping[str, Any] | Any
LABEL_ORDER = "qubit0_rightmost"


def _coefficient(label: str, value: Any) -> float:
    if isinstance(value, complex) or (hasattr(value, "imag") and not isinstance(value, numbers.Real)):
        if abs(complex(value).imag) > 1e-12:
            raise ValueError(f"the coefficient of '{label}' must be real for a Hermitian observable, got {value!r}")
        return float(complex(value).real)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"the coefficient of '{label}' must be a real number, got {value!r}")
    return float(value)


def observable_json(observable: ObservableLike) -> dict[str, float]:
    """One observable as ``{label: coefficient}`` (repeated labels summed).

    >>> observable_json({"ZZ": 1.5, "IZ": 2})
    {'ZZ': 1.5, 'IZ': 2.0}
    """
    if isinstance(observable, str):
        pairs: list[tuple[Any, Any]] = [(observable, 1.0)]
    elif isinstance(observable, Mapping):
        pairs = list(observable.items())
    elif hasattr(observable, "to_list"):
        pairs = list(observable.to_list())
    else:
        raise TypeError("an observable is a Pauli label, a {label: coefficient} mapping or a SparsePauliOp, "
                        f"got {type(observable).__name__}")
    out: dict[str, float] = {}
    for label, value in pairs:
        out[str(label)] = out.get(str(label), 0.0) + _coefficient(str(label), value)
    return out


@dataclass(frozen=True)
class Mitigation:
    """Error mitigation of sampled estimates, done by the server.

    ``readout``: undo each measured qubit's readout confusion, from the device's calibration data
    (``readout_calibration="calibrated"``), from two circuits the job runs for it (``"measured"``: all |0> and all
    |1> on the qubits the job measured), or by TREX (``"twirled"``: measurements twirled with random X flips, and
    each Pauli term divided by its factor measured on a twirled |0...0> in the same job). ``measure_twirling``
    twirls the measurements (implied by ``"twirled"``); ``num_randomizations`` and ``shots_per_randomization``
    (int or ``"auto"``, as qiskit-ibm-runtime's ``twirling`` options) size it. ``zne_factors``: zero-noise
    extrapolation over these odd noise factors (global folding of the compiled circuit), fitted by
    ``extrapolator`` (``"richardson"`` or ``"exponential"``). qiskit-ibm-runtime's ``resilience_level`` 1 is
    ``Mitigation(readout=True, readout_calibration="twirled")``, 2 adds ``zne_factors=(1, 3, 5)``.
    """

    readout: bool = False
    zne_factors: tuple[int, ...] | None = None
    extrapolator: str = "richardson"
    readout_calibration: str = "calibrated"
    measure_twirling: bool = False
    num_randomizations: int | str = "auto"
    shots_per_randomization: int | str = "auto"

    def to_json(self) -> dict[str, Any]:
        """The ``mitigation`` body (``measure_twirling`` only when twirled, so older servers take the rest)."""
        zne = None if not self.zne_factors else {"noise_factors": [json_int(f, "noise factor")
                                                                   for f in self.zne_factors],
                                                 "extrapolator": self.extrapolator}
        body: dict[str, Any] = {"readout": bool(self.readout), "zne": zne,
                                "readout_calibration": self.readout_calibration}
        if self.measure_twirling or self.readout_calibration == "twirled":
            body["measure_twirling"] = {"num_randomizations": _auto_or_int(self.num_randomizations,
                                                                           "num_randomizations"),
                                        "shots_per_randomization": _auto_or_int(self.shots_per_randomization,
                                                                                "shots_per_randomization")}
        return body


def _auto_or_int(value: int | str, what: str) -> int | str:
    return "auto" if value == "auto" else json_int(value, what)


@dataclass(frozen=True)
class EstimatorPub:
    """One Estimator PUB: a circuit, observables, parameter bindings (one PUB element per binding and observable),
    and an optional precision of its own."""

    circuit: CircuitLike
    observables: ObservableLike | Sequence[ObservableLike]
    parameter_values: Sequence[Mapping[Any, Any]] | None = None
    precision: float | None = None

    def to_json(self) -> dict[str, Any]:
        many = isinstance(self.observables, Sequence) and not isinstance(self.observables, str)
        items = list(self.observables) if many else [self.observables]
        pub: dict[str, Any] = {"circuit": circuit_to_qasm(self.circuit),
                               "observables": [observable_json(o) for o in items]}
        if self.parameter_values is not None:
            pub["parameter_values"] = bindings_json(self.parameter_values, "parameter_values")
        if self.precision is not None:
            pub["precision"] = float(self.precision)
        return pub


def estimate_pubs_body(pubs: Sequence[EstimatorPub], backend: str, *, precision: float, seed: int | None = None,
                       compile: bool = True, optimization_level: int = 2, mitigation: Mitigation | None = None,
                       name: str | None = None, tags: Sequence[str] = (), priority: int = 0) -> dict[str, Any]:
    """The JSON body of ``POST /estimate`` for several PUBs (one job)."""
    return {"pubs": [pub.to_json() for pub in pubs], "backend": backend, "precision": float(precision),
            "seed": json_int(seed, "seed") if seed is not None else None, "compile": bool(compile),
            "optimization_level": int(optimization_level), "name": name, "tags": list(tags),
            "priority": int(priority), "mitigation": mitigation.to_json() if mitigation is not None else None}


def estimate_body(circuit: CircuitLike, backend: str, observables: ObservableLike | Sequence[ObservableLike],
                  parameter_values: Sequence[Mapping[Any, Any]] | None, *, precision: float,
                  seed: int | None = None, compile: bool = True, optimization_level: int = 2,
                  name: str | None = None, tags: Sequence[str] = (), priority: int = 0,
                  mitigation: Mitigation | None = None) -> dict[str, Any]:
    """The JSON body of ``POST /estimate`` for one PUB."""
    return estimate_pubs_body([EstimatorPub(circuit, observables, parameter_values)], backend, precision=precision,
                              seed=seed, compile=compile, optimization_level=optimization_level,
                              mitigation=mitigation, name=name, tags=tags, priority=priority)


@dataclass(frozen=True)
class PubEstimate:
    """One PUB's answer: ``values[i][j]`` is <observable j> under binding i; ``stds[i][j]`` its standard error."""

    values: list[list[float]]
    stds: list[list[float]]
    shots: int
    exact: bool
    groups: int
    readout_mitigated: bool = False
    noise_factors: list[int] | None = None
    factor_values: list[list[list[float]]] | None = None  # with ZNE: [binding][factor][observable]
    extrapolation: str | None = None
    measure_twirling: list[int] | None = None  # [randomizations, shots per randomization] when twirled
    trex_factors: list[list[float]] | None = None  # with TREX: [binding][term], terms in observable order

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PubEstimate:
        factor_values = data.get("factor_values")
        return cls(values=[[float(v) for v in row] for row in data["values"]],
                   stds=[[float(v) for v in row] for row in data["stds"]], shots=int(data["shots"]),
                   exact=bool(data["exact"]), groups=int(data["groups"]),
                   readout_mitigated=bool(data.get("readout_mitigated", False)),
                   noise_factors=[int(f) for f in data["noise_factors"]] if data.get("noise_factors") else None,
                   factor_values=[[[float(v) for v in row] for row in block] for block in factor_values]
                   if factor_values else None, extrapolation=data.get("extrapolation"),
                   measure_twirling=[int(v) for v in data["measure_twirling"]] if data.get("measure_twirling")
                   else None,
                   trex_factors=[[float(v) for v in row] for row in data["trex_factors"]]
                   if data.get("trex_factors") else None)


def estimates_from_json(data: Mapping[str, Any]) -> list[PubEstimate]:
    if data.get("label_order", LABEL_ORDER) != LABEL_ORDER:
        raise ValueError(f"the server's label order {data.get('label_order')!r} is not {LABEL_ORDER}")
    return [PubEstimate.from_json(pub) for pub in data.get("pubs") or []]
