"""quafusqc's Task ``options``: each one honoured, or refused by name with what to do instead.

The client sends ``options`` as the user wrote them, or ``{"clientip": ...}`` when there are none. The documented
keys are ``compiler`` (null, ``quarkcircuit``, ``qsteed``, ``qiskit``), ``correct`` (readout correction),
``open_dd`` (null, ``XY4``, ``CPMG``) and ``target_qubits`` (``[]``: automatic). Xihe:

- compiles with its own compiler: null and ``quarkcircuit`` (the platform's default) are that; ``qiskit`` and
  ``qsteed`` are refused rather than silently replaced (transpile locally and send ``compile: false``);
- honours ``correct``: the result gains ``corrected``, the counts with each measured qubit's readout confusion (the
  calibration's ``p(1|0)``, ``p(0|1)`` of the physical qubit the compiled circuit measured) inverted, negative
  parts clipped and the total kept at the shots, as quafusqc's lesson reads it (floats);
- honours ``open_dd`` (``XY4`` or ``CPMG``): the job's ``dynamical_decoupling``, refocusing pulses in the idle
  windows of the compiled (or verbatim) circuit on a twin;
- refuses a non-empty ``target_qubits`` (Xihe's layout is noise-aware; a fixed placement is a ``compile: false``
  circuit);
- ignores ``clientip`` (informational) and refuses any other key, so no option is dropped unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from xihe.service.problems import Problem

STORED_KEY = "quafusqc_options"  # where a job's honoured options are kept in its payload
DEFAULT_COMPILERS = (None, "quarkcircuit")
KNOWN = ("compiler", "correct", "open_dd", "target_qubits", "clientip")
DD_SEQUENCES = ("XY4", "CPMG")  # the job's dynamical_decoupling values
MAX_CORRECTED_BITS = 20  # the correction builds the full 2^n distribution


def _refuse(message: str) -> Problem:
    return Problem(422, "unsupported_option", message)


def parse_options(options: Any, n_clbits: int) -> dict[str, Any]:
    """The options Xihe honours for a task (stored with its job), or a :class:`Problem` naming the refused one."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise _refuse(f"'options' must be a JSON object, got {type(options).__name__}")
    unknown = sorted(set(options) - set(KNOWN))
    if unknown:
        raise _refuse(f"unknown option(s) {unknown}; Xihe reads {list(KNOWN)}")
    compiler = options.get("compiler")
    if compiler not in DEFAULT_COMPILERS:
        raise _refuse(f"compiler {compiler!r} is not offered: Xihe compiles with its own compiler (null or "
                      "'quarkcircuit', the platform's default); to use another, transpile locally and send "
                      "compile: false")
    open_dd = options.get("open_dd")
    if open_dd is not None and open_dd not in DD_SEQUENCES:
        raise _refuse(f"open_dd {open_dd!r} is not offered; send null, {' or '.join(map(repr, DD_SEQUENCES))}")
    if options.get("target_qubits"):
        raise _refuse("target_qubits is not offered: Xihe places the circuit on the best-calibrated qubits; to run "
                      "on given physical qubits, write the circuit on them and send compile: false")
    correct = options.get("correct", False)
    if not isinstance(correct, bool):
        raise _refuse(f"'correct' must be true or false, got {correct!r}")
    if correct and n_clbits > MAX_CORRECTED_BITS:
        raise _refuse(f"readout correction is offered for up to {MAX_CORRECTED_BITS} classical bits; this circuit "
                      f"has {n_clbits}")
    return ({"correct": True} if correct else {}) | ({"open_dd": open_dd} if open_dd is not None else {})


def corrected_counts(counts: Mapping[str, int], n_clbits: int, readout: Mapping[int, tuple[float, float]]
                     ) -> dict[str, float]:
    """``counts`` (keys c0 rightmost) with the readout confusion of classical bit ``k`` (``readout[k]`` =
    ``(p(1|0), p(0|1))``; bits not in it are left alone) inverted, negatives clipped, the total kept."""
    shots = sum(counts.values())
    if n_clbits == 0 or shots == 0:
        return {key: float(value) for key, value in counts.items()}
    # axis i of the tensor is classical bit n-1-i: a key's characters in order, c0 rightmost.
    probs: np.ndarray[Any, Any] = np.zeros((2,) * n_clbits)
    for key, value in counts.items():
        probs[tuple(int(ch) for ch in key)] += value / shots
    for bit, (p10, p01) in readout.items():
        confusion = np.array([[1.0 - p10, p01], [p10, 1.0 - p01]])
        probs = np.moveaxis(np.tensordot(np.linalg.inv(confusion), probs, axes=([1], [n_clbits - 1 - bit])), 0,
                            n_clbits - 1 - bit)
    probs = np.clip(probs, 0.0, None)
    probs *= shots / probs.sum()
    flat = probs.reshape(-1)
    return {format(index, f"0{n_clbits}b"): round(float(flat[index]), 6) for index in np.flatnonzero(flat > 1e-9)}
