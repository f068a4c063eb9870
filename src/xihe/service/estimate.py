"""The Estimator primitive as a job kind: PUBs -> qubit-wise commuting groups -> measured circuits -> values.

One estimation request is one job (kind ``estimate``). At submit, each PUB's Pauli terms are grouped so that the
terms of a group commute qubit by qubit; each (binding, group) pair becomes one measured circuit (the PUB's circuit,
its own measurements dropped, each group qubit rotated to its basis and measured). The worker runs these items with
the ordinary :func:`~xihe.service.executor.plan_item` / ``run_items`` path (so the Ray fan-out applies) and stores
one count record per item; :func:`pub_estimates` turns the stored records into values and standard errors.

``precision=0`` on an ideal simulator asks for exact values: one item per binding, whose record holds the exact
expectation of every observable (from the final state), std 0.

Mitigation (``request.mitigation``, sampled PUBs only; the mathematics is :mod:`xihe.mitigation`):

- ``readout``: the worker writes, with each measured circuit's record, the physical qubit behind each measured bit
  (from the circuit as compiled) and its calibrated readout errors; each shot's parity is then weighted so that the
  mean is unbiased under that tensored confusion (:func:`xihe.mitigation.parity_weights`). With
  ``readout_calibration="measured"`` the job ends with two more circuits (all |0>, all |1> on every qubit the job
  measured, run verbatim) and the confusion comes from their counts instead.
- ``zne``: the worker compiles each measured circuit once, folds the compiled circuit globally to each noise factor
  and runs the folds verbatim (so nothing cancels them), one record per (circuit, factor); the values per factor
  are extrapolated to zero noise, with the fit's standard error.

Label convention: Qiskit's ``SparsePauliOp`` -- qubit 0 is the rightmost character of a label. Inside this module
a term is ``{qubit: "X" | "Y" | "Z"}``, so no string order is assumed past :func:`pauli_term`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from xihe import qasm
from xihe.circuit import Circuit, IfElse
from xihe.circuit.register import ClassicalRegister
from xihe.devices import Device
from xihe.engines.observables import exact_expectations
from xihe.errors import CircuitError, ExecutionError
from xihe.mitigation import (
    calibration_circuits,
    extrapolate,
    fold_global,
    measured_confusion,
    merge_counts,
    parity_mean,
    parity_weights,
    randomizations,
    twirl_masks,
    twirl_measurements,
    untwirl_counts,
)
from xihe.service import executor
from xihe.service.catalog import DeviceCatalog
from xihe.service.estimate_schemas import EstimateCreate, PubEstimatePublic
from xihe.service.limits import QubitQuota, input_limits, parse_job_circuits
from xihe.service.models import Job, User
from xihe.service.primitive_jobs import bad_pub, pub_bindings, store_primitive_job
from xihe.service.schemas import JobCreate, ResultPublic
from xihe.service.settings import Settings
from xihe.service.submit import plan_on_device
from xihe.status import DeviceKind, JobKind

ESTIMATE_KIND = JobKind.ESTIMATE
CALIBRATION_RECORDS = 2  # all |0>, all |1>: a measured readout calibration's circuits, at the end of the job
TWIRLED_CALIBRATION_RECORDS = 1  # TREX: the twirled |0...0>, its randomizations merged into one record
MIN_TREX_FACTOR = 0.05  # below this the rescaling would multiply shot noise more than twentyfold
MEASURE_REGISTER = "xihe_est"
Term = dict[int, str]


def pauli_term(label: str, num_qubits: int) -> Term:
    """``{qubit: pauli}`` of a SparsePauliOp label (qubit 0 rightmost), identities left out.

    >>> pauli_term("XIZ", 3)
    {0: 'Z', 2: 'X'}
    """
    text = label.upper()
    if len(text) != num_qubits or set(text) - set("IXYZ"):
        raise ValueError(f"Pauli label '{label}' must be {num_qubits} letters of I, X, Y, Z (one per circuit qubit, "
                         "qubit 0 rightmost as in Qiskit's SparsePauliOp)")
    return {q: ch for q, ch in enumerate(reversed(text)) if ch != "I"}


def qubit0_leftmost(term: Term, num_qubits: int) -> str:
    """The label of ``term`` in :func:`xihe.estimate`'s order (qubit 0 leftmost)."""
    return "".join(term.get(q, "I") for q in range(num_qubits))


def group_qubitwise(terms: Sequence[Term]) -> tuple[list[Term], list[int]]:
    """Greedy qubit-wise commuting grouping: (the groups' measurement bases, each term's group).

    Terms with the largest support are placed first; a term joins the first group whose basis agrees on every
    qubit they share. Identity terms (empty) belong to no group: their group is -1.

    >>> group_qubitwise([{0: "Z"}, {0: "Z", 1: "Z"}, {0: "X"}, {}])
    ([{0: 'Z', 1: 'Z'}, {0: 'X'}], [0, 0, 1, -1])
    """
    bases: list[Term] = []
    owner = [-1] * len(terms)
    for index in sorted(range(len(terms)), key=lambda i: -len(terms[i])):
        term = terms[index]
        if not term:
            continue
        for g, basis in enumerate(bases):
            if all(basis.get(q, p) == p for q, p in term.items()):
                basis.update(term)
                owner[index] = g
                break
        else:
            bases.append(dict(term))
            owner[index] = len(bases) - 1
    return bases, owner


def measured_circuit(circuit: Circuit, basis: Term) -> Circuit:
    """``circuit`` without its measurements, each qubit of ``basis`` rotated to Z and measured into one register
    (bit i holds qubit ``sorted(basis)[i]``)."""
    qubits = sorted(basis)
    out = Circuit(name=circuit.name)
    for reg in circuit.qregs:
        out.add_register(reg)
    out.add_register(ClassicalRegister(MEASURE_REGISTER, len(qubits)))
    out.operations = [op for op in circuit.operations if op.gate.name != "measure"]
    for q in qubits:
        if basis[q] == "X":
            out.h(q)
        elif basis[q] == "Y":
            out.sdg(q).h(q)
    out.measure(qubits, list(range(len(qubits))))
    return out


def without_measurements(circuit: Circuit) -> Circuit:
    out = circuit.copy_empty()
    out.operations = [op for op in circuit.operations if op.gate.name != "measure"]
    return out


def shots_for(precision: float) -> int:
    """Shots per measured circuit for a target standard error (as Qiskit's BackendEstimatorV2): ceil(1/p^2), read
    with a relative tolerance so that a precision given as ``1/sqrt(n)`` asks for exactly ``n`` shots.

    >>> shots_for(1 / math.sqrt(1000)), shots_for(0.02)
    (1000, 2500)
    """
    return math.ceil(1.0 / precision**2 * (1.0 - 1e-12))


@dataclass(frozen=True)
class PreparedEstimate:
    """An estimation request checked against its backend, with the payload the worker runs."""

    request: EstimateCreate
    payload: dict[str, Any]
    widths: list[int]
    num_items: int
    shots: int
    memory: int


def _pub_payload(circuit: Circuit, observables: list[dict[str, float]],
                 bindings: list[dict[str, float] | None], exact: bool, shots: int, where: str
                 ) -> tuple[dict[str, Any], list[Circuit]]:
    """One PUB's payload entry and the (bound) circuits its items run, for pricing."""
    n = circuit.num_qubits
    if any(op.condition is not None or isinstance(op, IfElse) for op in circuit.operations):
        raise bad_pub("unsupported_circuit", f"{where}: an estimator circuit cannot hold classically conditioned "
                   "operations (its measurements are replaced by the observables' bases)")
    terms: list[Term] = []
    owners: list[tuple[int, float]] = []  # (observable index, coefficient) of each term
    for j, observable in enumerate(observables):
        for label, coeff in observable.items():
            try:
                terms.append(pauli_term(label, n))
            except ValueError as exc:
                raise bad_pub("bad_observable", f"{where}, observables[{j}]: {exc}") from None
            owners.append((j, float(coeff)))
    bases, groups = group_qubitwise(terms)
    stripped = without_measurements(circuit)
    entry: dict[str, Any] = {
        "exact": exact, "shots": shots, "bindings": bindings, "num_qubits": n,
        "num_observables": len(observables),
        "terms": [[j, qubit0_leftmost(term, n), coeff, g]
                  for term, (j, coeff), g in zip(terms, owners, groups, strict=True)],
    }
    if exact:
        entry["texts"] = [qasm.dumps(stripped)]
        entry["bases"] = []
        runs = [stripped]
    else:
        made = [measured_circuit(stripped, basis) for basis in bases]
        entry["texts"] = [qasm.dumps(c) for c in made]
        entry["bases"] = [qubit0_leftmost(basis, n) for basis in bases]
        runs = made
    bound = [c.bind(dict(b)) if b is not None else c for b in bindings for c in runs]
    return entry, bound


def prepare_estimate(settings: Settings, catalog: DeviceCatalog, request: EstimateCreate,
                     user: QubitQuota | None = None, *,
                     inline_operations: int | None = None) -> PreparedEstimate:
    """Parse, group, bind and price an estimation request (no database needed)."""
    device = catalog.get(request.backend)
    parsed = parse_job_circuits([pub.circuit for pub in request.pubs], input_limits(settings, device, user),
                                settings, device, inline_operations=inline_operations)
    mitigation = request.mitigation
    factors = list(mitigation.zne.noise_factors) if mitigation is not None and mitigation.zne is not None else None
    twirling = mitigation.twirling() if mitigation is not None else None
    trex = bool(mitigation is not None and mitigation.trex)
    pubs: list[dict[str, Any]] = []
    runs: list[Circuit] = []
    max_shots = 0
    for index, (pub, circuit) in enumerate(zip(request.pubs, parsed, strict=True)):
        where = f"pubs[{index}]"
        precision = request.precision if pub.precision is None else pub.precision
        exact = precision == 0
        if exact and device.kind != DeviceKind.SIMULATOR:
            raise bad_pub("exact_needs_simulator", f"{where}: precision 0 (exact values) needs an ideal simulator; "
                          f"{device.name} is a {device.kind}: give a precision > 0")
        if exact and mitigation is not None and (mitigation.readout or factors or twirling):
            raise bad_pub("mitigation_needs_shots", f"{where}: precision 0 gives exact values, which have no noise "
                          "to mitigate; give a precision > 0 or no mitigation")
        shots = 0 if exact else shots_for(precision)
        if device.max_shots and shots > device.max_shots:
            raise bad_pub("too_many_shots", f"{where}: precision {precision} needs {shots} shots per circuit, more "
                          f"than backend {device.name}'s maximum of {device.max_shots}")
        bindings = pub_bindings(circuit, pub.parameter_values, where)
        entry, bound = _pub_payload(circuit, list(pub.observables), bindings, exact, shots,
                                    where)
        entry["readout"] = bool(mitigation is not None and mitigation.readout) and not trex
        entry["trex"] = trex and not exact
        if twirling is not None and not exact:
            entry["twirl"] = list(randomizations(shots, twirling.num_randomizations,
                                                 twirling.shots_per_randomization))
            entry["shots"] = shots = entry["twirl"][0] * entry["twirl"][1]
        entry["noise_factors"] = factors
        entry["extrapolator"] = mitigation.zne.extrapolator if mitigation is not None and mitigation.zne else None
        pubs.append(entry)
        runs.extend(bound)
        max_shots = max(max_shots, shots)
    sampled = not all(pub["exact"] for pub in pubs)
    calibration = mitigation.readout_calibration if mitigation is not None and mitigation.readout and sampled \
        else None
    calibration = None if calibration == "calibrated" else calibration
    twirl_calibration = max((pub["twirl"] for pub in pubs if pub["trex"]), key=lambda t: t[0] * t[1], default=None)
    num_records = sum(_records_per_item(pub) for pub in _item_pubs(pubs)) + calibration_records(calibration)
    num_runs = sum(_records_per_item(pub) * _twirls(pub) for pub in _item_pubs(pubs)) \
        + (twirl_calibration[0] if twirl_calibration else calibration_records(calibration))
    if num_runs > settings.max_circuits_per_job:
        raise bad_pub("too_many_circuits", f"the PUBs make {num_runs} circuits to run (bindings x qubit-wise "
                      "commuting groups x noise factors x measurement twirls, and calibrations); a job runs at "
                      f"most {settings.max_circuits_per_job}")
    pricing = JobCreate(qasm=request.pubs[0].circuit, backend=request.backend, shots=max(max_shots, 1),
                        compile=request.compile, optimization_level=request.optimization_level)
    plan = plan_on_device(settings, device, runs, pricing)
    exact_engines = {planned.engine for planned, entry in zip(plan.circuits, _item_pubs(pubs), strict=True)
                     if entry["exact"]}
    if exact_engines - {"statevector"}:
        raise bad_pub("exact_too_large", "precision 0 (exact values) needs the statevector engine; this circuit "
                      f"would run on {sorted(exact_engines - {'statevector'})}: give a precision > 0")
    payload: dict[str, Any] = {"circuits": [], "parameters": None, "compile": request.compile,
                               "optimization_level": request.optimization_level, "seed": None, "memory": False,
                               "estimate": {"pubs": pubs, "readout_calibration": calibration,
                                            "twirl_calibration": twirl_calibration}}
    return PreparedEstimate(request=request, payload=payload, widths=[c.num_qubits for c in runs],
                            num_items=num_records, shots=max_shots, memory=plan.memory_bytes)


def _item_pubs(pubs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The PUB entry of each item (before folding), in item order."""
    return [pub for pub in pubs for _ in pub["bindings"] for _ in pub["texts"]]


def _records_per_item(pub: Mapping[str, Any]) -> int:
    """Stored records per item: one per noise factor with ZNE, else one."""
    return len(pub.get("noise_factors") or [1])


def _twirls(pub: Mapping[str, Any]) -> int:
    """Circuits run per stored record: one per measurement randomization when twirled, else one."""
    return int(pub["twirl"][0]) if pub.get("twirl") else 1


def calibration_records(calibration: str | None) -> int:
    """Records a readout calibration adds at the end of the job: all |0> and all |1> when measured, the merged
    twirled |0...0> for TREX."""
    return {"measured": CALIBRATION_RECORDS, "twirled": TWIRLED_CALIBRATION_RECORDS}.get(calibration or "", 0)


def submit_estimate(session: Session, settings: Settings, catalog: DeviceCatalog, user: User,
                    prepared: PreparedEstimate) -> Job:
    """Store a prepared estimation request as one QUEUED job (inside the caller's write transaction)."""
    request = prepared.request
    return store_primitive_job(
        session, settings, catalog, user, kind=ESTIMATE_KIND, backend=request.backend,
        first_circuit=request.pubs[0].circuit, shots=prepared.shots, num_items=prepared.num_items,
        widths=prepared.widths, memory=prepared.memory, payload=prepared.payload, seed=request.seed,
        name=request.name, tags=request.tags, priority=request.priority)


# -- the worker's side -------------------------------------------------------------------------------------------
def estimate_items(payload: Mapping[str, Any]) -> list[executor.WorkItem]:
    """The job's items in order: per PUB, per binding, per group (one item per binding when exact), before any
    folding for ZNE (:func:`run_job` folds)."""
    pubs = payload["estimate"]["pubs"]
    plain = [(text, binding, int(pub["shots"]), bool(pub["exact"])) for pub in pubs for binding in pub["bindings"]
             for text in pub["texts"]]
    seeds = executor.item_seeds(int(payload["seed"]), len(plain))
    # An exact item's value does not depend on compiling (a simulator runs any circuit as given): it is not compiled.
    return [executor.WorkItem(index=i, qasm=text, binding=binding, shots=max(shots, 1), seed=seeds[i],
                              compile=bool(payload.get("compile", True)) and not exact,
                              optimization_level=int(payload.get("optimization_level", 2)), memory=False)
            for i, (text, binding, shots, exact) in enumerate(plain)]


def _exact_record(device: Device, item: executor.WorkItem, pub: Mapping[str, Any]) -> dict[str, Any]:
    """The exact expectation of every observable of ``pub`` for one binding, from the final state."""
    circuit = executor.plan_item(device, item).circuits[0].circuit
    per_observable: list[dict[str, float]] = [{} for _ in range(int(pub["num_observables"]))]
    for j, label, coeff, _group in pub["terms"]:
        per_observable[j][label] = per_observable[j].get(label, 0.0) + float(coeff)
    values = exact_expectations(circuit, per_observable, None)  # one final state for every observable
    record = {"counts": {}, "probabilities": {}, "shots": 0, "bit_order": "c0_leftmost",
              "metadata": {"exact_values": values, "seed": item.seed}}
    return ResultPublic.model_validate(record).model_dump(mode="json")


def folded_items(device: Device, item: executor.WorkItem, factors: Sequence[int]) -> list[executor.WorkItem]:
    """``item`` compiled once (unless verbatim), its compiled circuit folded to each factor, to run verbatim.

    Folding the compiled circuit (not the source) keeps the compiler from cancelling the folds, and every factor
    runs on the same physical qubits with the same measured bits.
    """
    native = executor.plan_item(device, item).circuits[0].native
    seeds = executor.item_seeds(item.seed, len(factors))
    try:
        folds = [fold_global(native, int(factor)) for factor in factors]
    except (ValueError, CircuitError) as exc:
        raise ExecutionError(f"zero-noise extrapolation: {exc}") from exc
    return [replace(item, qasm=qasm.dumps(folded), binding=None, compile=False, seed=seed)
            for folded, seed in zip(folds, seeds, strict=True)]


def readout_metadata(device: Device, ran: Circuit) -> dict[str, Any]:
    """Per bit of the estimator's register, the physical qubit it measured in ``ran`` (the circuit as it ran, whose
    qubits are the device's; -1 if none) and that qubit's calibrated ``[p(1|0), p(0|1)]``: none on a noiseless device
    (a twin's ideal variant reads out perfectly; inverting its chip's confusion would push values past +-1)."""
    errors = {} if device.noiseless else device.target.readout_error
    qubit_of = {op.clbits[0]: op.qubits[0] for op in ran.operations if op.gate.name == "measure"}
    qubits = [qubit_of.get(bit, -1) for bit in range(ran.num_clbits)]
    return {"readout_qubits": qubits,
            "readout_errors": [[float(p) for p in errors.get(q, (0.0, 0.0))] for q in qubits]}


def calibration_items(device: Device, payload: Mapping[str, Any], qubits: Sequence[int], width: int,
                      first_index: int) -> list[executor.WorkItem]:
    """The measured readout calibration's two verbatim circuits on ``qubits`` (a device of ``width`` qubits)."""
    try:
        circuits = calibration_circuits(width, qubits, device.target.native_gates)
    except ValueError as exc:
        raise ExecutionError(f"readout calibration: {exc}") from exc
    shots = max(int(pub["shots"]) for pub in payload["estimate"]["pubs"])
    seeds = executor.item_seeds(int(payload["seed"]) ^ 0x5EED, len(circuits))
    return [executor.WorkItem(index=first_index + i, qasm=qasm.dumps(c), binding=None, shots=shots, seed=seeds[i],
                              compile=False, optimization_level=0, memory=False) for i, c in enumerate(circuits)]


def calibration_metadata(qubits: Sequence[int], prepared: int) -> dict[str, Any]:
    return {"readout_calibration": {"qubits": list(qubits), "prepared": prepared}}


def twirled_items(device: Device, work: executor.WorkItem, count: int, shots: int
                  ) -> list[tuple[int, executor.WorkItem]]:
    """``work`` as it runs (compiled once, unless verbatim) with ``count`` seeded random X-flip masks before its
    measurements, each ``(mask, verbatim item of shots)``; the masks' bits are undone in the counts
    (:func:`merge_twirled`)."""
    native = executor.plan_item(device, work).circuits[0].native
    masks = twirl_masks(native.num_clbits, count, work.seed)
    seeds = executor.item_seeds(work.seed ^ 0x7E1C, count)
    try:
        circuits = [twirl_measurements(native, mask, device.target.native_gates) for mask in masks]
    except ValueError as exc:
        raise ExecutionError(f"measurement twirling: {exc}") from exc
    return [(mask, replace(work, qasm=qasm.dumps(c), circuit=c, binding=None, compile=False, seed=seed,
                           shots=shots)) for mask, c, seed in zip(masks, circuits, seeds, strict=True)]


def merge_twirled(parts: Sequence[tuple[int, Mapping[str, Any]]], twirl: Sequence[int]) -> dict[str, Any]:
    """One record from a twirled circuit's randomizations ``(mask, record)``: counts untwirled and summed (so the
    ideal outcomes are as without twirling), the first randomization's record otherwise."""
    counts = merge_counts(untwirl_counts(record["counts"], mask) for mask, record in parts)
    total = sum(counts.values())
    first = parts[0][1]
    metadata = {**first["metadata"], "measure_twirling": {"randomizations": int(twirl[0]),
                                                          "shots_per_randomization": int(twirl[1])}}
    return {**first, "counts": counts, "shots": total,
            "probabilities": {key: n / total for key, n in counts.items()}, "metadata": metadata}


@dataclass(frozen=True)
class SampledRun:
    """One measured circuit to run: the item (and noise factor position) whose record it gives, whether its
    record needs the readout errors of the qubits it measured, and with twirled measurements its flip mask."""

    item: int
    factor: int
    work: executor.WorkItem
    readout: bool
    mask: int | None = None


def plan_runs(device: Device, payload: Mapping[str, Any], should_stop: Callable[[], bool]
              ) -> tuple[list[list[dict[str, Any] | None]], list[SampledRun]]:
    """The job's record slots (per item, per noise factor) with the exact records filled in, and the measured
    circuits still to run, in record order (ZNE items compiled and folded here). Shared by the worker
    (:func:`run_job`) and the agents' claim (:mod:`xihe.service.cluster.agents`)."""
    items = estimate_items(payload)
    owners = _item_pubs(payload["estimate"]["pubs"])
    slots: list[list[dict[str, Any] | None]] = [[None] * _records_per_item(pub) for pub in owners]
    runs: list[SampledRun] = []
    for item, pub in zip(items, owners, strict=True):
        if should_stop():
            raise executor.Stopped()
        readout = bool(pub.get("readout") or pub.get("trex"))  # TREX maps each bit to its physical qubit too
        if pub["exact"]:
            slots[item.index][0] = _exact_record(device, item, pub)
            continue
        plain = [SampledRun(item.index, k, folded, readout) for k, folded
                 in enumerate(folded_items(device, item, pub["noise_factors"]))] if pub.get("noise_factors") \
            else [SampledRun(item.index, 0, item, readout)]
        if not pub.get("twirl"):
            runs.extend(plain)
            continue
        count, shots = pub["twirl"]
        for run in plain:
            runs.extend(SampledRun(run.item, run.factor, twirled, readout, mask)
                        for mask, twirled in twirled_items(device, run.work, int(count), int(shots)))
    return slots, runs


def twirled_calibration_items(device: Device, payload: Mapping[str, Any], qubits: Sequence[int], width: int,
                              first_index: int) -> list[tuple[int, executor.WorkItem]]:
    """TREX's calibration: |0...0> on ``qubits`` measured with the job's twirl (randomizations, shots each)."""
    zeros = calibration_items(device, payload, qubits, width, first_index)[0]
    count, shots = payload["estimate"]["twirl_calibration"]
    return twirled_items(device, replace(zeros, circuit=qasm.loads(zeros.qasm)), int(count), int(shots))


RunItems = Callable[[Any, list[executor.WorkItem], Callable[[], bool]], list[dict[str, Any]]]


def run_job(device: Device, payload: Mapping[str, Any], should_stop: Callable[[], bool],
            run_items: RunItems = executor.run_items) -> list[dict[str, Any]]:
    """Run an estimation job's items: sampled items (folded per noise factor with ZNE) through ``run_items`` (the
    worker's, Ray's fan-out included), exact ones from the final state. Records in item order (then factor)."""
    slots, runs = plan_runs(device, payload, should_stop)
    width = 0
    twirled: dict[tuple[int, int], list[tuple[int, Mapping[str, Any]]]] = {}
    if runs:
        runnable = [replace(run.work, index=n) for n, run in enumerate(runs)]
        for run, record in zip(runs, run_items(device, runnable, should_stop), strict=True):
            if run.readout:
                ran = qasm.loads(str(record["compiled_qasm"]))
                width = max(width, ran.num_qubits)
                record = {**record, "metadata": {**record["metadata"], **readout_metadata(device, ran)}}
            if run.mask is None:
                slots[run.item][run.factor] = record
            else:
                twirled.setdefault((run.item, run.factor), []).append((run.mask, record))
    pubs = _item_pubs(payload["estimate"]["pubs"])
    for (item, factor), parts in twirled.items():
        slots[item][factor] = merge_twirled(parts, pubs[item]["twirl"])
    records = [record for row in slots for record in row if record is not None]
    calibration = payload["estimate"].get("readout_calibration")
    if calibration in ("measured", "twirled"):
        qubits = sorted({q for r in records for q in r["metadata"].get("readout_qubits", []) if q >= 0})
        if calibration == "measured":
            items = calibration_items(device, payload, qubits, width, len(records))
            for prepared, record in enumerate(run_items(device, items, should_stop)):
                records.append({**record, "metadata": {**record["metadata"],
                                                       **calibration_metadata(qubits, prepared)}})
        else:
            pairs = twirled_calibration_items(device, payload, qubits, width, len(records))
            done = run_items(device, [replace(item, index=len(records) + n) for n, (_, item) in enumerate(pairs)],
                             should_stop)
            merged = merge_twirled([(mask, r) for (mask, _), r in zip(pairs, done, strict=True)],
                                   payload["estimate"]["twirl_calibration"])
            records.append({**merged, "metadata": {**merged["metadata"], **calibration_metadata(qubits, 0)}})
    return records


# -- the answer ---------------------------------------------------------------------------------------------------
def _group_moments(record: Mapping[str, Any], terms: list[tuple[int, str, float]], qubits: list[int],
                   num_observables: int, readout: bool, confusion: Mapping[int, tuple[float, float]] | None = None
                   ) -> tuple[list[float], list[float]]:
    """Per observable, the mean and the variance of the mean of this group's part, from one measured circuit.

    Each shot gives each term the product of its qubits' per-bit values: +1/-1, or with ``readout`` the weights
    that undo the bit's readout confusion (:func:`xihe.mitigation.parity_weights`): the job's own measured
    ``confusion`` per physical qubit when given, else the calibrated errors stored with the record. The counts are
    read once, in one pass (a paged record's page by page), and computed on a page's worth of outcomes at a time
    as arrays: a Python loop over 644,000 outcomes held the API's request thread (and the GIL) for 15 s."""
    counts: Mapping[str, int] = record["counts"]
    position = {q: i for i, q in enumerate(qubits)}
    errors = record["metadata"].get("readout_errors") if readout else None
    if readout and confusion is not None and "readout_qubits" in record["metadata"]:
        errors = [list(confusion.get(q, (0.0, 0.0))) for q in record["metadata"]["readout_qubits"]]
    if readout and errors is None:
        raise ValueError("a readout-mitigated record lacks its readout errors")
    weights = [parity_weights(*errors[i]) if errors is not None else (1.0, -1.0) for i in range(len(qubits))]
    shots = 0
    sums = np.zeros(num_observables)
    squares = np.zeros(num_observables)
    for keys, weight in _count_chunks(counts):
        # One row per outcome, one column per bit (one register: bit i holds qubits[i]); each term's value is its
        # coefficient times its bits' weights, an observable's the sum of its terms'.
        bits = np.frombuffer("".join(keys).encode("ascii"), dtype=np.uint8).reshape(len(keys), -1) == ord("1")
        shot = np.zeros((len(keys), num_observables))
        for j, label, coeff in terms:
            value = np.full(len(keys), coeff)
            for q, ch in enumerate(label):
                if ch != "I":
                    i = position[q]
                    value *= np.where(bits[:, i], weights[i][1], weights[i][0])
            shot[:, j] += value
        shots += int(weight.sum())
        sums += weight @ shot
        squares += weight @ (shot * shot)
    means = [float(v) / shots for v in sums]
    variances = [max(float(sq) / shots - m * m, 0.0) / shots for sq, m in zip(squares, means, strict=True)]
    return means, variances


def _count_chunks(counts: Mapping[str, int], size: int = 1 << 14) -> Iterator[tuple[list[str], np.ndarray]]:
    """The counts in one pass, ``size`` outcomes at a time: (their keys without spaces, their counts as floats)."""
    keys: list[str] = []
    weights: list[int] = []
    for key, count in counts.items():
        keys.append(key.replace(" ", ""))
        weights.append(int(count))
        if len(keys) == size:
            yield keys, np.asarray(weights, dtype=float)
            keys, weights = [], []
    if keys:
        yield keys, np.asarray(weights, dtype=float)


def _binding_moments(pub: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
                     by_group: Mapping[int, list[tuple[int, str, float]]], constants: list[float],
                     confusion: Mapping[int, tuple[float, float]] | None) -> tuple[list[float], list[float]]:
    """One binding's values and variances (every group's measured circuit, one record each)."""
    k = len(constants)
    row = list(constants)
    variance = [0.0] * k
    for g, basis in enumerate(pub["bases"]):
        qubits = [q for q, ch in enumerate(basis) if ch != "I"]
        means, variances = _group_moments(records[g], by_group.get(g, []), qubits, k, bool(pub.get("readout")),
                                          confusion)
        row = [a + b for a, b in zip(row, means, strict=True)]
        variance = [a + b for a, b in zip(variance, variances, strict=True)]
    return row, variance


def _measured_confusion(records: Sequence[Mapping[str, Any]]) -> dict[int, tuple[float, float]]:
    """Each physical qubit's readout errors from the job's own calibration circuits (its last two records), which
    replace the device's calibration data in every record that maps its bits to qubits."""
    zeros, ones = records[-CALIBRATION_RECORDS:]
    qubits = zeros["metadata"]["readout_calibration"]["qubits"]
    return measured_confusion(qubits, zeros["counts"], ones["counts"])


class TrexFactors:
    """TREX's factor ``f_S`` of each set ``S`` of physical qubits, from the job's twirled |0...0> record (its last):
    the mean twirled parity of their bits (:func:`xihe.mitigation.parity_mean`)."""

    def __init__(self, calibration: Mapping[str, Any]) -> None:
        self._counts: Mapping[str, int] = calibration["counts"]
        self._bit = {q: i for i, q in enumerate(calibration["metadata"]["readout_calibration"]["qubits"])}
        self._cache: dict[frozenset[int], float] = {}

    def __call__(self, qubits: frozenset[int]) -> float:
        if qubits not in self._cache:
            factor = parity_mean(self._counts, [self._bit[q] for q in sorted(qubits)])
            if factor < MIN_TREX_FACTOR:
                raise ExecutionError(f"the twirled readout calibration of qubits {sorted(qubits)} gave a factor of "
                                     f"{factor:.4f}: too little signal to rescale by")
            self._cache[qubits] = factor
        return self._cache[qubits]


def _trex_terms(pub: Mapping[str, Any], block: Sequence[Mapping[str, Any]], per_item: int,
                indexed: Mapping[int, list[tuple[int, int, str, float]]], factors: TrexFactors, num_terms: int
                ) -> tuple[dict[int, list[tuple[int, str, float]]], list[float]]:
    """Each group's terms with their coefficients divided by the TREX factor of the physical qubits they read
    (from the group's first record: every noise factor ran on the same qubits), and every term's factor."""
    scaled: dict[int, list[tuple[int, str, float]]] = {}
    used = [1.0] * num_terms
    for g, basis in enumerate(pub["bases"]):
        bit_of = {q: i for i, q in enumerate(q for q, ch in enumerate(basis) if ch != "I")}
        physical = block[g * per_item]["metadata"]["readout_qubits"]
        for t, j, label, coeff in indexed.get(g, []):
            used[t] = factors(frozenset(physical[bit_of[q]] for q, ch in enumerate(label) if ch != "I"))
            scaled.setdefault(g, []).append((j, label, coeff / used[t]))
    return scaled, used


def pub_estimates(payload: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> list[PubEstimatePublic]:
    """Expectation values and standard errors per PUB element, from the job's stored item records.

    ``records`` is read by position and slice, each record's counts in one pass per use, never copied: the API
    passes :class:`~xihe.service.repositories.jobs.StoredRecords`, so a job of many large records is answered
    holding a few rows and one page of counts at a time. With TREX, each term's twirled estimate is divided by its
    factor; the standard error is the data's divided likewise (the calibration's own spread, about
    ``sqrt(1 - f^2) / f`` over its shots relative, is not added)."""
    out: list[PubEstimatePublic] = []
    position = 0
    trex: TrexFactors | None = None
    confusion: dict[int, tuple[float, float]] | None = None
    if payload["estimate"].get("readout_calibration") == "measured":
        confusion = _measured_confusion(records)
        records = records[:-CALIBRATION_RECORDS]
    elif payload["estimate"].get("readout_calibration") == "twirled":
        trex = TrexFactors(records[-1])
        records = records[:-TWIRLED_CALIBRATION_RECORDS]
    for pub in payload["estimate"]["pubs"]:
        k = int(pub["num_observables"])
        constants = [0.0] * k
        by_group: dict[int, list[tuple[int, str, float]]] = {}
        indexed: dict[int, list[tuple[int, int, str, float]]] = {}
        for t, (j, label, coeff, group) in enumerate(pub["terms"]):
            if group < 0:
                constants[j] += float(coeff)
            else:
                by_group.setdefault(int(group), []).append((int(j), str(label), float(coeff)))
                indexed.setdefault(int(group), []).append((t, int(j), str(label), float(coeff)))
        trex_factors: list[list[float]] = []
        factors: list[int] = list(pub.get("noise_factors") or [])
        per_item = max(len(factors), 1)
        values: list[list[float]] = []
        stds: list[list[float]] = []
        factor_values: list[list[list[float]]] = []
        method = None
        for _binding in pub["bindings"]:
            if pub["exact"]:
                values.append([float(v) for v in records[position]["metadata"]["exact_values"]])
                stds.append([0.0] * k)
                position += 1
                continue
            groups = len(pub["bases"])
            block = records[position:position + groups * per_item]  # group-major, then factor
            position += groups * per_item
            terms = by_group
            if trex is not None and pub.get("trex"):
                terms, used = _trex_terms(pub, block, per_item, indexed, trex, len(pub["terms"]))
                trex_factors.append(used)
            at_factor = [_binding_moments(pub, block[f::per_item], terms, constants, confusion)
                         for f in range(per_item)]
            if not factors:
                row, variance = at_factor[0]
            else:
                fits = [extrapolate(str(pub["extrapolator"]), factors, [m[0][j] for m in at_factor],
                                    [m[1][j] for m in at_factor]) for j in range(k)]
                row, variance = [f.value for f in fits], [f.variance for f in fits]
                method = ", ".join(sorted({f.method for f in fits}))
                factor_values.append([m[0] for m in at_factor])
            values.append(row)
            stds.append([math.sqrt(v) for v in variance])
        out.append(PubEstimatePublic(values=values, stds=stds, shots=int(pub["shots"]), exact=bool(pub["exact"]),
                                     groups=len(pub["bases"]),
                                     readout_mitigated=bool(pub.get("readout") or pub.get("trex")),
                                     measure_twirling=[int(v) for v in pub["twirl"]] if pub.get("twirl") else None,
                                     trex_factors=trex_factors or None, noise_factors=factors or None,
                                     factor_values=factor_values or None, extrapolation=method))
    return out
