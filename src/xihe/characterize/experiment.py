"""The experiment protocol: a generator of circuits, an analysis of their results, and the runner contract.

An experiment never executes anything itself: :meth:`Experiment.circuits` returns plain circuits (on the
experiment's physical qubits, measured into ``c[i]`` for ``qubits[i]``), something else runs them, and
:meth:`Experiment.analyse` turns the results into :class:`ExperimentResult` figures with 95% confidence
intervals. The something else is a *runner*::

    runner(circuits, shots, seed, compile=False) -> list[Result]

``compile=False`` means the circuits are already written in the backend's native gates on its physical qubits and
must run verbatim (every experiment but quantum volume); ``compile=True`` means they are logical circuits the
backend's compiler should lay out and route (quantum volume). :mod:`xihe.characterize.runners` has runners for a
device object and for :func:`xihe.simulate`; the service wraps its job queue in the same signature.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

import numpy as np

from xihe.characterize.fitting import Estimate, Fit
from xihe.circuit import Circuit, ClassicalRegister, QuantumRegister
from xihe.errors import XiheError
from xihe.results import Result


class Runner(Protocol):
    """Runs circuits and returns one :class:`~xihe.results.Result` per circuit, in order."""

    def __call__(self, circuits: Sequence[Circuit], shots: int, seed: int | None,
                 compile: bool = False) -> list[Result]: ...


@dataclass
class ExperimentResult:
    """What an experiment measured: named estimates with 95% intervals, the data and fitted curve for plots."""

    experiment: str
    qubits: tuple[int, ...]
    estimates: dict[str, Estimate]
    data: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def __getitem__(self, name: str) -> Estimate:
        return self.estimates[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the service stores and the dashboard plots from)."""
        return {
            "experiment": self.experiment,
            "qubits": list(self.qubits),
            "estimates": {k: v.to_dict() for k, v in self.estimates.items()},
            "data": _jsonable(self.data),
            "fit": _jsonable(self.fit),
            "metadata": _jsonable(self.metadata),
            "time": self.time,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentResult:
        return cls(
            experiment=str(data["experiment"]),
            qubits=tuple(int(q) for q in data["qubits"]),
            estimates={k: Estimate.from_dict(v) for k, v in data.get("estimates", {}).items()},
            data=dict(data.get("data", {})),
            fit=data.get("fit"),
            metadata=dict(data.get("metadata", {})),
            time=str(data.get("time", "")),
        )

    def summary(self) -> str:
        lines = [f"{self.experiment} on qubits {list(self.qubits)}"]
        lines += [f"  {name}: {est}" for name, est in self.estimates.items()]
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def fit_data(fit: Fit, x_curve: np.ndarray) -> dict[str, Any]:
    """A fit's parameters plus a sampled curve, so plots need only the stored dict."""
    out = fit.to_dict()
    out["curve"] = {"x": list(map(float, x_curve)), "y": list(map(float, fit.curve(x_curve)))}
    return out


class Experiment(ABC):
    """Circuits on physical ``qubits`` of a ``num_qubits``-wide backend, and the analysis of their results."""

    name: ClassVar[str]
    #: True when the circuits are logical and the backend's compiler must lay them out (quantum volume).
    needs_compiler: ClassVar[bool] = False

    def __init__(self, qubits: Sequence[int], num_qubits: int | None = None, seed: int | None = None) -> None:
        self.qubits = tuple(int(q) for q in qubits)
        if not self.qubits:
            raise XiheError(f"{self.name}: give at least one qubit")
        if len(set(self.qubits)) != len(self.qubits):
            raise XiheError(f"{self.name}: repeated qubits {list(self.qubits)}")
        self.num_qubits = int(num_qubits) if num_qubits is not None else max(self.qubits) + 1
        if max(self.qubits) >= self.num_qubits or min(self.qubits) < 0:
            raise XiheError(f"{self.name}: qubits {list(self.qubits)} do not fit a {self.num_qubits}-qubit backend")
        # A concrete seed even when none is given, so analysis can regenerate the same circuits and results
        # record what made them.
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().generate_state(1)[0])

    def new_circuit(self, label: str) -> Circuit:
        """An empty circuit with ``c[i]`` for ``qubits[i]``."""
        return Circuit(QuantumRegister("q", self.num_qubits), ClassicalRegister("c", len(self.qubits)),
                       name=f"{self.name}-{label}")

    def measure(self, qc: Circuit) -> Circuit:
        return qc.measure(list(self.qubits), list(range(len(self.qubits))))

    @abstractmethod
    def circuits(self) -> list[Circuit]:
        """The circuits to run, in the order :meth:`analyse` expects their results."""

    @abstractmethod
    def analyse(self, results: Sequence[Result], circuits: Sequence[Circuit] | None = None) -> ExperimentResult:
        """Fit the results; ``circuits`` are the circuits as run (native), when the analysis counts their gates."""

    def run(self, runner: Runner, shots: int = 1024, seed: int | None = None,
            translate: Any = None) -> ExperimentResult:
        """Generate, (translate to native gates,) run and analyse.

        ``translate`` maps a logical circuit to the backend's native one (a
        :class:`~xihe.characterize.native.NativeGates`), used for verbatim experiments.
        """
        circuits = self.circuits()
        if self.needs_compiler:
            results = runner(circuits, shots, seed, compile=True)
            compiled_out = self.analyse(results, circuits)
            compiled_out.metadata.setdefault("seed", self.seed)
            return compiled_out
        if translate is not None:
            circuits = [translate(c) for c in circuits]
        results = runner(circuits, shots, seed, compile=False)
        if len(results) != len(circuits):
            raise XiheError(f"{self.name}: the runner returned {len(results)} results for {len(circuits)} circuits")
        out = self.analyse(results, circuits)
        out.metadata.setdefault("seed", self.seed)
        return out


def bit_probabilities(result: Result, num_bits: int) -> np.ndarray:
    """P(bit i = 1) for each classical bit ``i`` (key position ``i``, c0 leftmost)."""
    ones = np.zeros(num_bits)
    total = 0
    for key, n in result.counts.items():
        bits = key.replace(" ", "")
        total += n
        for i in range(num_bits):
            if bits[i] == "1":
                ones[i] += n
    if total == 0:
        raise XiheError("a result has no counts")
    return ones / total


def outcome_probability(result: Result, outcome: str) -> float:
    """The measured frequency of one whole outcome string."""
    total = sum(result.counts.values())
    if total == 0:
        raise XiheError("a result has no counts")
    return result.counts.get(outcome, 0) / total
