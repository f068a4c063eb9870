"""Input limits at the service boundary: what one submitted program may cost, and the bounded parse that applies it.

A submitted program is read with :class:`~xihe.qasm.ParseLimits` built from the backend's width, the user's
``max_qubits`` and the settings' ``max_operations_per_circuit``, so a bomb (a register of 2^20 qubits broadcast
over, nested ``gate`` definitions expanding to 2^40 operations) is refused while it is read, before its
operations are built, and never inside a database transaction. Every refusal is a 4xx naming the limit and the
figure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from xihe import qasm
from xihe.circuit import Circuit
from xihe.devices import Device
from xihe.errors import CircuitError
from xihe.qasm import ParseLimits, QasmError, QasmLimitError
from xihe.service.problems import Problem
from xihe.service.settings import Settings


class QubitQuota(Protocol):
    """What reading a user's program needs of the user: a ``User`` row, or a :class:`Quota` sent to a parse
    process (a row cannot cross a process boundary)."""

    @property
    def max_qubits(self) -> int | None: ...


@dataclass(frozen=True)
class Quota:
    """A user's own qubit limit, as plain data."""

    max_qubits: int | None


def quota_of(user: QubitQuota | None) -> Quota | None:
    return None if user is None else Quota(max_qubits=user.max_qubits)


class OverInlineBudget(Exception):
    """A program expands past what the API reads in its own process (``parse_inline_operations``): it is read in
    the parse pool instead (:mod:`xihe.service.parse_pool`). Never answered to a client."""


def input_limits(settings: Settings, device: Device | None = None, user: QubitQuota | None = None) -> ParseLimits:
    """The limits for one program sent to ``device`` by ``user`` (either may be unknown yet)."""
    widths = [device.num_qubits] if device is not None else []
    user_qubits = user.max_qubits if user is not None and user.max_qubits is not None else settings.default_max_qubits
    if user_qubits is not None:
        widths.append(int(user_qubits))
    return ParseLimits(max_qubits=min(widths) if widths else None,
                       max_operations=settings.max_operations_per_circuit)


def _refusal(exc: QasmLimitError, where: str, device: Device | None) -> Problem:
    """The 4xx for a program over a limit: the user's own quota is a 403, the backend's width or the service's
    size limit a 422 (as the other quota and backend refusals are)."""
    if exc.limit == "max_qubits" and device is not None and exc.allowed >= device.num_qubits:
        code, status = "invalid_for_backend", 422  # the code every other backend refusal has
        detail = (f"{where}the program declares {exc.found} qubits; backend {device.name} has {device.num_qubits} "
                  f"(line {exc.line}, column {exc.column})")
    elif exc.limit == "max_qubits":
        code, status = "quota_qubits", 403
        detail = (f"{where}the program declares {exc.found} qubits, more than your limit of {exc.allowed} "
                  f"(line {exc.line}, column {exc.column})")
    else:
        code, status = ("too_many_operations" if exc.limit == "max_operations" else "gates_nested_too_deeply"), 422
        detail = f"{where}line {exc.line}, column {exc.column}: {exc.message}"
    return Problem(status, code, detail, stage="validate",
                   extra={"limit": exc.limit, "allowed": exc.allowed, "found": exc.found, "line": exc.line,
                          "column": exc.column})


def bounded_parse(text: str, limits: ParseLimits, index: int | None = None, device: Device | None = None) -> Circuit:
    """Parse one submitted OpenQASM 2 program within ``limits``: a syntax error is a 400 with line:col, a program
    over a limit a 403/422 naming the limit (``device``: the backend it was sent to, named in the refusal)."""
    where = "" if index is None else f"circuit {index}: "
    try:
        return qasm.loads(text, limits=limits)
    except QasmLimitError as exc:
        raise _refusal(exc, where, device) from None
    except QasmError as exc:
        raise Problem(400, "qasm_syntax", f"{where}line {exc.line}, column {exc.column}: {exc.message}",
                      stage="validate", extra={"line": exc.line, "column": exc.column, "circuit_index": index},
                      ) from None
    except CircuitError as exc:
        raise Problem(400, "invalid_circuit", f"{where}{exc}", stage="validate") from None
    except RecursionError:
        raise Problem(400, "invalid_circuit", f"{where}circuit nested too deeply", stage="validate") from None


def parse_job_circuits(texts: list[str], limits: ParseLimits, settings: Settings,
                       device: Device | None = None, *, inline_operations: int | None = None) -> list[Circuit]:
    """Parse a job's programs within ``limits`` each and within ``settings.max_operations_per_job`` together:
    each program may use only what the ones before it left, so a batch cannot multiply one circuit's bound.

    ``inline_operations``: read in the API process, the programs may expand to this many operations together;
    one that would go further raises :class:`OverInlineBudget` as soon as the reader's cost model sees it (before
    its operations are built), so the caller reads it in the parse pool instead.
    """
    circuits: list[Circuit] = []
    left = settings.max_operations_per_job
    spare = inline_operations
    per_circuit = limits.max_operations
    for index, text in enumerate(texts):
        allowed = left if per_circuit is None else min(per_circuit, left)
        capped = spare is not None and spare < allowed
        try:
            circuit = bounded_parse(text, replace(limits, max_operations=spare if capped else allowed),
                                    index if len(texts) > 1 else None, device)
        except Problem as problem:
            if capped and problem.extra.get("limit") == "max_operations":
                raise OverInlineBudget from None
            raise
        left -= len(circuit.operations)
        if spare is not None:
            spare -= len(circuit.operations)
        circuits.append(circuit)
    return circuits
