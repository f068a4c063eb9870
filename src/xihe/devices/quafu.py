"""Reader of the Quafu chip-info JSON (as pyquafu and QSteed use it) into a compiler :class:`Target`.

Numbering (DESIGN.md, as pyquafu's ``get_chip_info`` numbers a chip): physical qubit ``i`` is the ``i``-th of the
qubits named in ``topological_structure`` sorted by number, the chip's other qubits following (:func:`labels`); the
chip's names (``Q0103``) stay as labels. A qubit missing from ``qubits_info`` is dead; a coupler missing from
``topological_structure`` or of fidelity 0 in ``all_topological_structure`` is dead. For a directed gate
(``CX``) the pair ``Qa_Qb`` means ``a`` controls; ``CZ`` is symmetric and listed both ways in the Target.

Coherence: ``T2echo`` is the Target's ``t2`` (gates, and idle qubits under dynamical decoupling), ``T2star`` its
``t2_ramsey`` (idle qubits without decoupling); each falls back on the other, and both are capped at 2 T1. Readout:
the file's ``readout_fidelity_0``/``readout_fidelity_1`` (F(0|0), F(1|1)) where a qubit has them, else the device
default's model (:meth:`~xihe.devices.defaults.DeviceDefaults.readout_for`). A coupler whose fidelity is exactly the
placeholder value (0.900 on Dongling) gets the median of the chip's measured couplers of that gate.
"""

from __future__ import annotations

import ast
import math
import re
import statistics
from datetime import UTC, datetime
from typing import Any

from xihe.circuit import is_symmetric, is_virtual
from xihe.compiler.target import InstructionProperties, Target
from xihe.devices.defaults import DeviceDefaults
from xihe.errors import ValidationError

_DIGITS = re.compile(r"\d+")
ONE_QUBIT_NATIVE = frozenset({"rx", "ry", "rz", "h", "id", "x", "y", "z", "sx", "s", "t", "u3"})


def basis_gates(data: dict[str, Any]) -> list[str]:
    """The file's ``basis_gates`` (a list, or the string of a Python list as Quafu writes it), lower case."""
    raw = data.get("basis_gates", [])
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError) as exc:
            raise ValidationError(f"chip file: cannot read basis_gates {raw!r}") from exc
    return [str(g).lower() for g in raw]


def calibration_time(data: dict[str, Any]) -> datetime:
    text = str(data.get("calibration_time", "1970-01-01 00:00:00"))
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"chip file: cannot read calibration_time {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _label_number(label: str) -> tuple[int, int, str]:
    """pyquafu's sort key of a qubit name: its first run of digits (``Q0103`` -> 103); names without digits last."""
    digits = _DIGITS.search(label)
    return (0, int(digits.group()), label) if digits else (1, 0, label)


def labels(data: dict[str, Any]) -> list[str]:
    """The chip's qubit names in physical-qubit order, as pyquafu numbers them (``Backend.get_chip_info``).

    The qubits named in ``topological_structure`` come first, sorted by their number; the other qubits of the file
    (no working coupler, or dead) follow, sorted the same way.
    """
    names = list(data.get("all_qubits_info") or data.get("qubits_info") or {})
    coupled: set[str] = set()
    for pair in (data.get("topological_structure") or {}):
        coupled.update(str(pair).split("_"))
    names += sorted(coupled - set(names))
    if not names:
        raise ValidationError("chip file: no qubits (all_qubits_info is empty)")
    first = sorted((n for n in names if n in coupled), key=_label_number)
    return first + sorted((n for n in names if n not in coupled), key=_label_number)


def working_couplers(data: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"Qa_Qb": {"cz": fidelity}}`` for couplers with a positive fidelity between working qubits."""
    alive = set(data.get("qubits_info") or {})
    source = data.get("topological_structure") or data.get("all_topological_structure") or {}
    out: dict[str, dict[str, float]] = {}
    for pair, gates in source.items():
        a, _, b = str(pair).partition("_")
        if a not in alive or b not in alive or not isinstance(gates, dict):
            continue
        for gate, fields in gates.items():
            fidelity = float((fields or {}).get("fidelity", 0.0)) if isinstance(fields, dict) else 0.0
            if fidelity > 0:
                out.setdefault(str(pair), {})[str(gate).lower()] = fidelity
    return out


def priority_qubits(data: dict[str, Any], index: dict[str, int]) -> list[tuple[int, ...]]:
    """The file's ``priority_qubits`` groups in Xihe's (pyquafu's) physical numbering.

    Quafu writes them as the string of a Python list of tuples; their numbers index the chip's full qubit list
    (``all_qubits_info`` sorted by number, as QSteed numbers it). Unreadable entries and unknown numbers are left out.
    """
    raw = data.get("priority_qubits") or []
    if isinstance(raw, str):
        try:
            raw = ast.literal_eval(raw) if raw.strip() else []
        except (ValueError, SyntaxError):
            return []
    chip = sorted(data.get("all_qubits_info") or data.get("qubits_info") or {}, key=_label_number)
    out = []
    for group in raw if isinstance(raw, (list, tuple)) else []:
        if not isinstance(group, (list, tuple)):
            continue
        numbers = [n for n in group if isinstance(n, int) and 0 <= n < len(chip) and chip[n] in index]
        if numbers and len(numbers) == len(group):
            out.append(tuple(index[chip[n]] for n in numbers))
    return out


def file_readout(info: dict[str, Any]) -> tuple[float, float] | None:
    """(P(1|0), P(0|1)) from a qubit's ``readout_fidelity_0``/``readout_fidelity_1``, or ``None`` if it has neither."""
    f0, f1 = info.get("readout_fidelity_0"), info.get("readout_fidelity_1")
    if not isinstance(f0, (int, float)) or not isinstance(f1, (int, float)):
        return None
    if not (0.0 <= f0 <= 1.0 and 0.0 <= f1 <= 1.0):
        raise ValidationError(f"chip file: readout fidelities must be in [0, 1], not {f0}, {f1}")
    return 1.0 - float(f0), 1.0 - float(f1)


def measured_couplers(couplers: dict[str, dict[str, float]], placeholder: float | None) \
        -> dict[str, dict[str, float]]:
    """``couplers`` with each placeholder fidelity replaced by the median of the measured ones of the same gate."""
    if placeholder is None:
        return couplers
    measured: dict[str, list[float]] = {}
    for by_gate in couplers.values():
        for gate, fidelity in by_gate.items():
            if not math.isclose(fidelity, placeholder, abs_tol=1e-12):
                measured.setdefault(gate, []).append(fidelity)
    out: dict[str, dict[str, float]] = {}
    for pair, by_gate in couplers.items():
        out[pair] = {gate: (statistics.median(measured[gate]) if math.isclose(f, placeholder, abs_tol=1e-12)
                            and measured.get(gate) else f) for gate, f in by_gate.items()}
    return out


def target_from_chip_info(data: dict[str, Any], defaults: DeviceDefaults | None = None) -> Target:
    """The compiler's view of a chip-info file, with ``defaults`` where the file is silent."""
    defaults = defaults or DeviceDefaults()
    names = labels(data)
    index = {name: i for i, name in enumerate(names)}
    qubits_info = data.get("qubits_info") or {}
    working = sorted(index[n] for n in qubits_info if n in index)
    basis = basis_gates(data)
    gates: dict[str, dict[tuple[int, ...], InstructionProperties]] = {}
    t1: dict[int, float] = {}
    t2: dict[int, float] = {}
    t2_ramsey: dict[int, float] = {}
    readout: dict[int, tuple[float, float]] = {}
    for name, info in qubits_info.items():
        if name not in index:
            continue
        q = index[name]
        duration = float(info.get("single_qubit_gate_duration") or defaults.single_qubit_gate_duration_ns)
        if info.get("T1"):
            t1[q] = float(info["T1"]) * 1e3
            echo_us = float(info.get("T2echo") or info.get("T2star") or info["T1"])
            ramsey_us = float(info.get("T2star") or echo_us)
            t2[q] = min(echo_us * 1e3, 2 * t1[q])
            t2_ramsey[q] = min(ramsey_us * 1e3, 2 * t1[q])
        frequency = info.get("qubit_frequency")
        from_file = None if name in defaults.readout_error else file_readout(info)
        readout[q] = from_file or defaults.readout_for(
            name, float(frequency) if isinstance(frequency, (int, float)) else None, t1.get(q))
        for gate in basis:
            if gate not in ONE_QUBIT_NATIVE:
                continue
            props = (InstructionProperties(0.0, 0.0) if is_virtual(gate)
                     else InstructionProperties(duration, defaults.single_qubit_gate_error))
            gates.setdefault(gate, {})[(q,)] = props
    for pair, by_gate in measured_couplers(working_couplers(data), defaults.placeholder_two_qubit_fidelity).items():
        a, _, b = pair.partition("_")
        qa, qb = index[a], index[b]
        for gate, fidelity in by_gate.items():
            props = InstructionProperties(defaults.two_qubit_duration_for(pair), max(0.0, 1.0 - fidelity))
            gates.setdefault(gate, {})[(qa, qb)] = props
            if is_symmetric(gate):
                gates[gate][(qb, qa)] = props
    return Target(len(names), gates, working_qubits=working, readout_error=readout, t1=t1, t2=t2,
                  t2_ramsey=t2_ramsey, measure_duration=defaults.measure_duration_ns, labels=names,
                  priority_qubits=priority_qubits(data, index))


def chip_info_from_target(target: Target, *, system_id: int, time: datetime, base: dict[str, Any] | None = None) \
        -> dict[str, Any]:
    """Quafu chip-info JSON for ``target`` (for a twin read from a file, that file's data is returned as is)."""
    if base is not None:
        return dict(base)
    names = target.labels
    chip = {name: i for i, name in enumerate(sorted(names, key=_label_number))}
    qubits_info = {}
    for q in target.working_qubits:
        one_q = [p for name, props in (target.gates or {}).items() for qs, p in props.items()
                 if qs == (q,) and not is_virtual(name)]
        qubits_info[names[q]] = {
            "T1": round(target.t1.get(q, math.inf) / 1e3, 3) if q in target.t1 else None,
            "T2echo": round(target.t2.get(q, 0.0) / 1e3, 3) if q in target.t2 else None,
            "single_qubit_gate_duration": one_q[0].duration if one_q else 0.0,
        }
    topo: dict[str, dict[str, dict[str, float]]] = {}
    for name, props in (target.gates or {}).items():
        for qs, p in props.items():
            if len(qs) != 2 or (is_symmetric(name) and qs[0] > qs[1]):
                continue
            topo.setdefault(f"{names[qs[0]]}_{names[qs[1]]}", {})[name.upper()] = {"fidelity": round(1 - p.error, 6)}
    return {
        "calibration_time": time.strftime("%Y-%m-%d %H:%M:%S"),
        "basis_gates": sorted(target.native_gates),
        "coupler": {},
        "all_qubits_info": {n: {} for n in names},
        "all_topological_structure": topo,
        "qubits_info": qubits_info,
        "topological_structure": topo,
        "priority_qubits": str([tuple(chip[names[q]] for q in group) for group in target.priority_qubits]),
        "system_id": system_id,
    }
