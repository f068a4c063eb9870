"""A quafu-sdk task detail from a Xihe job and its results: counts c0-rightmost, measurements, executed QASM."""

from __future__ import annotations

import re
from typing import Any

from xihe.service.api import compat
from xihe.service.models import Job
from xihe.service.states import JobStatus

_REG = re.compile(r"\b(qreg|creg)\s+(\w+)\s*\[\s*(\d+)\s*\]\s*;")
_MEASURE = re.compile(r"\bmeasure\s+(\w+)\s*(?:\[\s*(\d+)\s*\])?\s*->\s*(\w+)\s*(?:\[\s*(\d+)\s*\])?\s*;")


def _registers(qasm: str) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]], list[dict[str, Any]]]:
    """Each register's (offset, size) in the flat numbering, quantum and classical, and the classical list."""
    flat: dict[str, dict[str, tuple[int, int]]] = {"qreg": {}, "creg": {}}
    offsets = {"qreg": 0, "creg": 0}
    for kind, name, size in _REG.findall(qasm):
        flat[kind][name] = (offsets[kind], int(size))
        offsets[kind] += int(size)
    cregs = [{"name": name, "size": size} for name, (_offset, size) in flat["creg"].items()]
    return flat["qreg"], flat["creg"], cregs


def clbit_count(qasm: str) -> int:
    """The classical bits ``qasm`` declares (all ``creg``s)."""
    return sum(size for _offset, size in _registers(qasm)[1].values())


def measurements(qasm: str) -> dict[int, int]:
    """Flat classical bit -> flat qubit of every ``measure`` in ``qasm`` (broadcast ``measure q -> c`` too)."""
    qregs, cregs, _ = _registers(qasm)
    found: dict[int, int] = {}
    for qreg, qi, creg, ci in _MEASURE.findall(qasm):
        if qreg not in qregs or creg not in cregs:
            continue
        (qoff, qsize), (coff, _csize) = qregs[qreg], cregs[creg]
        if qi and ci:
            found[coff + int(ci)] = qoff + int(qi)
        else:
            for k in range(qsize):
                found[coff + k] = qoff + k
    return found


def task_detail(job: Job, results: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    payload = job.payload or {}
    circuits = payload.get("circuits") or [""]
    source = circuits[min(seq, len(circuits) - 1)]
    bindings = payload.get("parameters")
    status = JobStatus(job.status)
    stored = compat.result_of(results, seq)
    compiled = stored.get("compiled_qasm") or None
    _q, cregs, registers = _registers(source)
    n_clbits = sum(size for _offset, size in cregs.values())
    virtual = measurements(source)
    physical = measurements(compiled) if compiled else virtual
    result = None
    if status == JobStatus.DONE:
        counts = compat.c0_rightmost(stored.get("counts") or {})
        result = {"counts": counts, "bit_order": "c0_rightmost", "n_clbits": n_clbits,
                  "shots_returned": sum(counts.values()), "classical_registers": registers}
    error = None
    if status == JobStatus.FAILED:
        error = {"category": f"runtime.{job.error_stage or 'execute'}Failed", "stage": job.error_stage or "execute",
                 "retryable": False, "detail": job.error_detail or "no reason recorded", "vars": {}}
    return {"task_id": f"{job.id}-{seq}", "status": compat.STATUS_WORDS[status], "target": job.backend,
            "kind": "sim", "chip": None, "name": job.name, "result": result, "error": error,
            "circuit": {"measurements": [{"cbit": c, "physical_qubit": physical.get(c, q), "virtual_qubit": q}
                                         for c, q in sorted(virtual.items())],
                        "executed": {"text": compiled or source}},
            "execution": {"shots_requested": job.shots,
                          "compiler": {"name": "xihe", "version": (stored.get("versions") or {}).get("xihe"),
                                       "optimization_level": payload.get("optimization_level"),
                                       "seed": payload.get("seed")}},
            "calibration": {"id": stored.get("calibration_id")},
            "job": {"seq": seq, "parameter_values": bindings[seq] if bindings and seq < len(bindings) else None,
                    "evaluation_index": None, "iteration": None}}
