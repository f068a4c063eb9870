"""The request bodies and query strings of the native API, shared by the sync and async clients.

A circuit may be given as a :class:`xihe.Circuit` (exported with :func:`xihe.qasm.dumps`), as OpenQASM 2 text, or
as a :class:`pathlib.Path` to a ``.qasm`` file; a list or tuple of them makes one batch job.
"""

from __future__ import annotations

import numbers
import re
import reprlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from xihe.circuit import Circuit

CircuitLike = Circuit | str | Path
CircuitInput = CircuitLike | Sequence[CircuitLike]

# The longest single long poll; Job.wait loops until its own timeout. While progress is shown, polls are shorter,
# because the server answers a long poll only when the job finishes: a short poll refreshes the queue position.
MAX_LONG_POLL_S = 20.0
PROGRESS_POLL_S = 2.0


def circuit_to_qasm(circuit: CircuitLike) -> str:
    """OpenQASM 2 text for one circuit-like value."""
    if isinstance(circuit, Circuit):
        from xihe import qasm  # imported on use: the exporter is not needed to talk to the server

        return qasm.dumps(circuit)
    if isinstance(circuit, Path):
        return file_to_qasm(circuit)
    if isinstance(circuit, str):
        return circuit
    raise TypeError(f"expected a Circuit, OpenQASM text or a Path, got {type(circuit).__name__}")


_INCLUDE = re.compile(r'^\s*include\s+"([^"]*)"\s*;', re.MULTILINE)


def file_to_qasm(path: Path) -> str:
    """A program file as the server should get it: as written, or, when it includes files of its own (a local
    ``.inc``), read with its includes resolved next to it and sent expanded, since the server reads no files."""
    from xihe import qasm  # imported on use, as above
    from xihe.qasm.parser import STANDARD_INCLUDES

    text = path.read_text(encoding="utf-8")
    if all(name in STANDARD_INCLUDES for name in _INCLUDE.findall(text)):
        return text
    return qasm.dumps(qasm.load(path))


def submit_body(
    circuits: CircuitInput,
    backend: str,
    *,
    shots: int,
    compile: bool,
    seed: int | None,
    name: str | None,
    tags: Sequence[str],
    optimization_level: int,
    parameters: Sequence[Mapping[Any, Any]] | None,
    priority: int,
    memory: bool,
    precision: str = "double",
    dynamical_decoupling: str | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /jobs``: ``qasm`` for one circuit, ``circuits`` for a batch (``precision`` and
    ``dynamical_decoupling`` are sent only when they are not the default, so servers without the options still
    take the job)."""
    body: dict[str, Any] = {
        "backend": backend,
        "shots": json_int(shots, "shots"),
        "compile": bool(compile),
        "optimization_level": int(optimization_level),
        "seed": json_int(seed, "seed") if seed is not None else None,
        "name": name,
        "tags": list(tags),
        "priority": int(priority),
        "memory": bool(memory),
        "parameters": bindings_json(parameters, "parameters") if parameters is not None else None,
    }
    if precision != "double":
        body["precision"] = precision
    sequence = dd_sequence(dynamical_decoupling)
    if sequence is not None:
        body["dynamical_decoupling"] = sequence
    if isinstance(circuits, (Circuit, str, Path)):
        body["qasm"] = circuit_to_qasm(circuits)
    else:
        items = list(circuits)
        if not items:
            raise ValueError("a batch needs at least one circuit")
        body["circuits"] = [circuit_to_qasm(c) for c in items]
    return body


DD_SEQUENCES = ("XY4", "CPMG")


def dd_sequence(value: str | None) -> str | None:
    """A ``dynamical_decoupling`` choice as the API takes it: ``"XY4"``, ``"CPMG"`` (any case), or None for
    ``None``/``"none"`` (no decoupling).

    >>> dd_sequence("xy4"), dd_sequence("none"), dd_sequence(None)
    ('XY4', None, None)
    """
    if value is None or str(value).lower() == "none":
        return None
    name = str(value).upper()
    if name not in DD_SEQUENCES:
        raise ValueError(f"dynamical_decoupling must be one of {', '.join(DD_SEQUENCES)} or none, got {value!r}")
    return name


def json_int(value: Any, what: str) -> int:
    """``value`` as a plain int for JSON (numpy integers included); a clear error for anything else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {value!r} ({type(value).__name__})")
    return int(value)


def bindings_json(bindings: Any, what: str) -> list[dict[str, float]]:
    """A list of parameter bindings (``what`` names the argument) as JSON, one :func:`binding_json` each.

    Users coming from Qiskit pass values by position (``[[0.3], [1.2]]``, a numpy array) or one mapping without
    the list; both are refused here with the shape expected, not with an ``AttributeError`` from deep inside.
    """
    if isinstance(bindings, (Mapping, str, bytes)) or not isinstance(bindings, Iterable):
        raise TypeError(f"{what} must be a list of bindings, one {{name: value}} mapping per point, e.g. "
                        f"[{{'theta': 0.5}}, {{'theta': 1.0}}]; got {reprlib.repr(bindings)} "
                        f"({type(bindings).__name__})")
    return [binding_json(binding, what) for binding in bindings]


def binding_json(binding: Mapping[Any, Any], what: str = "parameter_values") -> dict[str, float]:
    """One parameter binding as JSON: keys are names (a ``Parameter`` gives its ``name``), values plain floats.

    >>> import numpy as np
    >>> from xihe.circuit import Parameter
    >>> binding_json({Parameter("theta"): np.float32(0.5), "phi": np.int64(2)})
    {'theta': 0.5, 'phi': 2.0}
    """
    if not isinstance(binding, Mapping):
        raise TypeError(f"each binding in {what} must be a {{name: value}} mapping (names or Parameters as keys), "
                        f"e.g. {{'theta': 0.5}}: values are bound by name, not by position; got "
                        f"{reprlib.repr(binding)} ({type(binding).__name__})")
    out: dict[str, float] = {}
    for key, value in binding.items():
        name = key if isinstance(key, str) else getattr(key, "name", None)
        if not isinstance(name, str):
            raise TypeError(f"a parameter binding's key must be a name or a Parameter, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"the value bound to parameter '{name}' must be a real number, got {value!r} "
                            f"({type(value).__name__})")
        if name in out:
            raise ValueError(f"parameter '{name}' is bound twice in one binding")
        out[name] = float(value)
    return out


def new_idempotency_key() -> str:
    """A fresh key for one logical submit; every retry of that submit reuses it."""
    return uuid.uuid4().hex


def list_params(
    status: str | None, backend: str | None, tag: str | None, limit: int, offset: int
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status:
        params["status"] = status.upper()
    if backend:
        params["backend"] = backend
    if tag:
        params["tag"] = tag
    return params


def long_poll_seconds(remaining: float | None, progress: bool = False) -> float:
    """How long one ``?wait=`` poll may block, given the time left to the caller's timeout."""
    longest = PROGRESS_POLL_S if progress else MAX_LONG_POLL_S
    if remaining is None:
        return longest
    return max(0.0, min(longest, remaining))
