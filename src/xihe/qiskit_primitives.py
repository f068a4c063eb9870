"""Qiskit's V2 primitives over Xihe's primitive jobs: ``EstimatorV2(mode=backend)`` and ``SamplerV2(mode=backend)``.

As in qiskit-ibm-runtime, one ``run(pubs)`` call is one job on the server (kind ``estimate`` or ``sample``), whatever
the number of PUBs and of their elements, and the answer is Qiskit's own ``PrimitiveResult`` of ``PubResult``s
(``DataBin`` with ``evs``/``stds``) or ``SamplerPubResult``s (``DataBin`` with one ``BitArray`` per classical
register), shaped as Qiskit defines: a PUB's shape is the broadcast of its parameter-value array and (for the
estimator) its observables array. So an IBM user switches by changing an import::

    from xihe.qiskit import EstimatorV2, XiheProvider      # was: from qiskit_ibm_runtime import EstimatorV2
    estimator = EstimatorV2(mode=XiheProvider(client).get_backend("line10"), options={"resilience_level": 2})
    evs = estimator.run([(isa_circuit, observables, parameter_values)]).result()[0].data.evs

How a PUB travels: the circuit goes through :func:`xihe.qiskit.export_circuit` with its parameters renamed
``xp_0, xp_1, ...`` (valid in OpenQASM whatever Qiskit called them, e.g. ``θ[0]``); each element of the
parameter-value array is one binding; the estimator sends every observable of the array and the server answers
``[binding][observable]``, from which each broadcast element is picked (the grouping into measured circuits is over
the union of the observables, so no measured circuit is repeated for broadcasting).

Options (dicts or the dataclasses here), named as in qiskit-ibm-runtime where they mean the same:
``default_precision``/``default_shots``, ``seed_estimator``/``seed``, ``resilience_level`` (0: none; 1: readout
mitigation; 2: readout mitigation and zero-noise extrapolation), ``resilience.measure_mitigation``,
``resilience.zne_mitigation``, ``resilience.zne.noise_factors``/``extrapolator`` (``"richardson"`` or
``"exponential"``), ``twirling.enable_measure``/``num_randomizations``/``shots_per_randomization`` (measure
mitigation with twirled measurements is TREX, as runtime's level 1; off unless asked, see
:class:`TwirlingOptions`), ``optimization_level``. Mitigation applies on noisy backends (twins, hardware); an ideal
simulator has no noise to mitigate, so it is left off there, and ``precision=0`` gives exact values there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit, QuantumRegister
from qiskit.primitives import (
    BaseEstimatorV2,
    BasePrimitiveJob,
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub, EstimatorPubLike
from qiskit.primitives.containers.sampler_pub import SamplerPub, SamplerPubLike
from qiskit.providers import JobStatus

from xihe.client import EstimateJob, Job, Mitigation, PubEstimate, PubSamples, SampleJob
from xihe.client import EstimatorPub as XiheEstimatorPub
from xihe.client import SamplerPub as XiheSamplerPub
from xihe.qiskit import _STATUS, XiheBackend, export_circuit, fits_target

PARAMETER_PREFIX = "xp_"
_T = TypeVar("_T")


@dataclass
class ZneOptions:
    noise_factors: tuple[int, ...] = (1, 3, 5)
    extrapolator: str = "richardson"


@dataclass
class ResilienceOptions:
    """``None`` leaves the choice to ``resilience_level``."""

    measure_mitigation: bool | None = None
    zne_mitigation: bool | None = None
    zne: ZneOptions = field(default_factory=ZneOptions)
    readout_calibration: str = "calibrated"  # Xihe's: or "measured", two circuits in the same job


@dataclass
class TwirlingOptions:
    """qiskit-ibm-runtime's ``twirling`` options. ``enable_measure`` twirls the measurements; with measure
    mitigation on, that mitigation is then TREX (the twirled |0...0>'s factors), as runtime's. Unlike runtime,
    ``enable_measure`` is off unless set (level 1 then inverts the calibrated confusion, at no extra circuits);
    ``resilience.readout_calibration="twirled"`` also selects TREX. Gate twirling is not offered."""

    enable_gates: bool = False
    enable_measure: bool | None = None
    num_randomizations: int | str = "auto"
    shots_per_randomization: int | str = "auto"


@dataclass
class EstimatorOptions:
    """``default_shots``, when set, wins over ``default_precision`` (precision ``1/sqrt(shots)``), as in
    qiskit-ibm-runtime."""

    default_precision: float = 0.015625
    default_shots: int | None = None
    resilience_level: int = 1
    seed_estimator: int | None = None
    optimization_level: int = 2
    resilience: ResilienceOptions = field(default_factory=ResilienceOptions)
    twirling: TwirlingOptions = field(default_factory=TwirlingOptions)


@dataclass
class SamplerOptions:
    default_shots: int = 4096
    seed: int | None = None
    optimization_level: int = 2


def _apply(target: Any, values: Mapping[str, Any], where: str) -> None:
    """Set dataclass fields from a (nested) mapping; an unknown name is an error, as in qiskit-ibm-runtime."""
    names = {f.name for f in fields(target)}
    for key, value in values.items():
        if key not in names:
            raise ValueError(f"unknown option '{where}{key}'; known: {', '.join(sorted(names))}")
        current = getattr(target, key)
        if is_dataclass(current) and isinstance(value, Mapping):
            _apply(current, value, f"{where}{key}.")
        else:
            setattr(target, key, tuple(value) if isinstance(current, tuple) else value)


def _options(kind: type[_T], given: _T | Mapping[str, Any] | None) -> _T:
    if given is None:
        return kind()
    if isinstance(given, kind):
        return given
    if not isinstance(given, Mapping):
        raise TypeError(f"options must be a {kind.__name__} or a mapping, got {type(given).__name__}")
    out = kind()
    _apply(out, given, "")
    return out


def _renamed(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[Parameter]]:
    """The circuit with its parameters named ``xp_i`` (in ``circuit.parameters`` order), and that order."""
    order = list(circuit.parameters)
    if not order:
        return circuit, order
    safe = {p: Parameter(f"{PARAMETER_PREFIX}{i}") for i, p in enumerate(order)}
    return circuit.assign_parameters(safe, inplace=False), order


def _active_qubits(circuit: QuantumCircuit, observables: list[dict[str, float]]) -> list[int]:
    """Qubits an instruction acts on or an observable reads (a label's qubit 0 is its rightmost letter)."""
    n = circuit.num_qubits
    used = {circuit.find_bit(q).index for instruction in circuit.data for q in instruction.qubits
            if instruction.operation.name != "barrier"}
    used |= {n - 1 - i for observable in observables for label in observable for i, ch in enumerate(label)
             if ch != "I"}
    return sorted(used) or [0]


def _without_idle(circuit: QuantumCircuit, observables: list[dict[str, float]]
                  ) -> tuple[QuantumCircuit, list[dict[str, float]]]:
    """The circuit on its active qubits only, and the observables on them.

    A circuit transpiled for a chip declares all of the chip's qubits (130 on ``dongling``, 24 of them broken);
    Xihe compiles estimator circuits (their basis changes are not native gates), and it places the active qubits
    itself, so the idle ones are left out rather than sent.
    """
    active = _active_qubits(circuit, observables)
    if len(active) == circuit.num_qubits:
        return circuit, observables
    position = {q: i for i, q in enumerate(active)}
    out = QuantumCircuit(QuantumRegister(len(active), "q"), *circuit.cregs, name=circuit.name,
                         metadata=circuit.metadata)
    for bit in circuit.clbits:
        if not circuit.find_bit(bit).registers:
            out.add_bits([bit])
    for instruction in circuit.data:
        qubits = [position[circuit.find_bit(q).index] for q in instruction.qubits if circuit.find_bit(q).index
                  in position]
        if instruction.operation.name == "barrier":
            if qubits:
                out.barrier(*qubits)
            continue
        out.append(instruction.operation, qubits, instruction.clbits)
    n = circuit.num_qubits
    keep = [n - 1 - q for q in reversed(active)]  # label positions, leftmost first
    remapped = [{"".join(label[i] for i in keep): coeff for label, coeff in observable.items()}
                for observable in observables]
    return out, remapped


def _bindings(values: Any, order: list[Parameter], shape: tuple[int, ...]) -> list[dict[str, float]] | None:
    """One binding per element of the parameter-value array (flattened, C order); None for a bare circuit."""
    if not order:
        return None if int(np.prod(shape)) == 1 else [{} for _ in range(int(np.prod(shape)))]
    table = np.asarray(values.as_array(order), dtype=float).reshape(-1, len(order))
    return [{f"{PARAMETER_PREFIX}{i}": float(row[i]) for i in range(len(order))} for row in table]


def _element_index(shape: tuple[int, ...], broadcast: tuple[int, ...]) -> np.ndarray:
    """For each element of ``broadcast``, the flat index of the array of ``shape`` that broadcasting reads."""
    flat = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return np.broadcast_to(flat, broadcast)


class XihePrimitiveJob(BasePrimitiveJob[PrimitiveResult[Any], JobStatus]):
    """One Xihe job behind a primitive's ``run``: ``result()`` waits and converts to Qiskit's containers."""

    def __init__(self, job: Job, convert: Any) -> None:
        super().__init__(job.id)
        self.xihe_job = job
        self._convert = convert
        self._result: PrimitiveResult[Any] | None = None

    def result(self, timeout: float | None = None) -> PrimitiveResult[Any]:
        if self._result is None:
            self._result = self._convert(timeout)
        return self._result

    def status(self) -> JobStatus:
        return _STATUS[self.xihe_job.status()]

    def done(self) -> bool:
        return self.status() == JobStatus.DONE

    def running(self) -> bool:
        return self.status() == JobStatus.RUNNING

    def cancelled(self) -> bool:
        return self.status() == JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        return self.status() in (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)

    def cancel(self) -> None:
        self.xihe_job.cancel()

    def queue_position(self, refresh: bool = True) -> int | None:
        """Jobs ahead of this one on its backend while it is queued, else None (qiskit-ibm-runtime's name)."""
        info = self.xihe_job.refresh()
        return info.queue_position if info.status == "QUEUED" else None


class EstimatorV2(BaseEstimatorV2):
    """Qiskit's ``BaseEstimatorV2`` on a Xihe backend: each ``run`` is one Xihe estimation job."""

    def __init__(self, mode: XiheBackend, options: EstimatorOptions | Mapping[str, Any] | None = None) -> None:
        self._backend = mode
        self.options = _options(EstimatorOptions, options)

    @property
    def backend(self) -> XiheBackend:
        return self._backend

    def mitigation(self) -> Mitigation | None:
        """The server-side mitigation the options ask for on this backend (None on an ideal simulator)."""
        if self._backend.info.kind == "simulator":
            return None
        level = int(self.options.resilience_level)
        if level not in (0, 1, 2):
            raise ValueError(f"resilience_level must be 0, 1 or 2 (Xihe has no level {level})")
        res = self.options.resilience
        twirling = self.options.twirling
        if twirling.enable_gates:
            raise ValueError("twirling.enable_gates: Xihe twirls measurements only (twirling.enable_measure)")
        readout = res.measure_mitigation if res.measure_mitigation is not None else level >= 1
        zne = res.zne_mitigation if res.zne_mitigation is not None else level >= 2
        twirl = bool(twirling.enable_measure) or bool(readout and res.readout_calibration == "twirled")
        if not readout and not zne and not twirl:
            return None
        return Mitigation(readout=bool(readout), zne_factors=tuple(res.zne.noise_factors) if zne else None,
                          extrapolator=res.zne.extrapolator,
                          readout_calibration="twirled" if readout and twirl else res.readout_calibration,
                          measure_twirling=twirl, num_randomizations=twirling.num_randomizations,
                          shots_per_randomization=twirling.shots_per_randomization)

    def run(self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None) -> XihePrimitiveJob:
        if precision is None:
            shots = self.options.default_shots
            precision = 1.0 / math.sqrt(shots) if shots else float(self.options.default_precision)
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        if not coerced:
            raise ValueError("run needs at least one PUB")
        sent: list[XiheEstimatorPub] = []
        for pub in coerced:
            pub.validate()
            circuit, order = _renamed(pub.circuit)
            circuit, observables = _without_idle(circuit, pub.observables.ravel().tolist())
            sent.append(XiheEstimatorPub(export_circuit(circuit, keep_parameters=True).qasm, observables,
                                         _bindings(pub.parameter_values, order, pub.parameter_values.shape),
                                         precision=pub.precision))
        job = self._backend._client.estimate_pubs(
            sent, backend=self._backend.name, precision=float(precision), seed=self.options.seed_estimator,
            optimization_level=int(self.options.optimization_level), mitigation=self.mitigation())
        return XihePrimitiveJob(job, lambda timeout: self._result(job, coerced, timeout))

    def _result(self, job: EstimateJob, pubs: list[EstimatorPub], timeout: float | None) -> PrimitiveResult[Any]:
        answers = job.estimates(timeout=timeout)
        results = [self._pub_result(pub, answer) for pub, answer in zip(pubs, answers, strict=True)]
        return PrimitiveResult(results, metadata={"version": 2, "xihe_job_id": job.id})

    @staticmethod
    def _pub_result(pub: EstimatorPub, answer: PubEstimate) -> PubResult:
        shape = pub.shape
        b = _element_index(pub.parameter_values.shape, shape)
        o = _element_index(pub.observables.shape, shape)
        values, stds = np.asarray(answer.values, dtype=float), np.asarray(answer.stds, dtype=float)
        data = DataBin(evs=values[b, o], stds=stds[b, o], shape=shape)
        metadata: dict[str, Any] = {"target_precision": pub.precision, "shots": answer.shots,
                                    "circuit_metadata": dict(pub.circuit.metadata or {}),
                                    "readout_mitigated": answer.readout_mitigated}
        if answer.measure_twirling:
            metadata["twirling"] = {"num_randomizations": answer.measure_twirling[0],
                                    "shots_per_randomization": answer.measure_twirling[1]}
        if answer.trex_factors:
            metadata["trex_factors"] = answer.trex_factors  # [binding][term], the PUB's terms in order
        if answer.noise_factors:
            metadata["zne"] = {"noise_factors": answer.noise_factors, "extrapolation": answer.extrapolation,
                               "evs_noise_factors": np.asarray(answer.factor_values)[b, :, o]}
        return PubResult(data, metadata=metadata)


class SamplerV2(BaseSamplerV2):
    """Qiskit's ``BaseSamplerV2`` on a Xihe backend: each ``run`` is one Xihe sampling job."""

    def __init__(self, mode: XiheBackend, options: SamplerOptions | Mapping[str, Any] | None = None) -> None:
        self._backend = mode
        self.options = _options(SamplerOptions, options)

    @property
    def backend(self) -> XiheBackend:
        return self._backend

    def run(self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None) -> XihePrimitiveJob:
        if shots is None:
            shots = int(self.options.default_shots)
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        if not coerced:
            raise ValueError("run needs at least one PUB")
        sent: list[XiheSamplerPub] = []
        positions: list[list[int]] = []
        for pub in coerced:
            pub.validate()
            circuit, order = _renamed(pub.circuit)
            exported = export_circuit(circuit, keep_parameters=True)
            positions.append(exported.positions)
            sent.append(XiheSamplerPub(exported.qasm, _bindings(pub.parameter_values, order, pub.shape),
                                       shots=pub.shots))
        # As ``backend.run``: circuits that already fit the Target (ISA circuits) run verbatim, others compiled.
        verbatim = all(fits_target(pub.circuit, self._backend.target) for pub in coerced)
        job = self._backend._client.sample_pubs(
            sent, backend=self._backend.name, shots=int(shots), seed=self.options.seed, compile=not verbatim,
            optimization_level=int(self.options.optimization_level))
        return XihePrimitiveJob(job, lambda timeout: self._result(job, coerced, positions, timeout))

    def _result(self, job: SampleJob, pubs: list[SamplerPub], positions: list[list[int]],
                timeout: float | None) -> PrimitiveResult[Any]:
        answers = job.samples(timeout=timeout)
        results = [self._pub_result(pub, answer, where)
                   for pub, answer, where in zip(pubs, answers, positions, strict=True)]
        return PrimitiveResult(results, metadata={"version": 2, "xihe_job_id": job.id})

    @staticmethod
    def _pub_result(pub: SamplerPub, answer: PubSamples, positions: list[int]) -> SamplerPubResult:
        """Xihe's registers (in the order their bits make a key) back to the Qiskit circuit's clbits, then to
        one ``BitArray`` per Qiskit classical register."""
        circuit = pub.circuit
        elements = max(int(np.prod(pub.shape)), 1)
        clbits = np.zeros((elements, answer.shots, circuit.num_clbits), dtype=bool)
        key_position = 0
        for name, rows in answer.registers.items():
            for bit in range(answer.num_bits[name]):
                column = [[(value >> bit) & 1 for value in row] for row in rows]  # Python ints: any width
                clbits[:, :, positions[key_position]] = np.asarray(column, dtype=bool)
                key_position += 1
        arrays: dict[str, BitArray] = {}
        for register in circuit.cregs:
            index = [circuit.find_bit(bit).index for bit in register]
            bits = clbits[:, :, index].reshape(*pub.shape, answer.shots, len(index))
            arrays[register.name] = BitArray.from_bool_array(bits, order="little")
        return SamplerPubResult(DataBin(**arrays, shape=pub.shape),
                                metadata={"shots": answer.shots, "circuit_metadata": dict(circuit.metadata or {})})
