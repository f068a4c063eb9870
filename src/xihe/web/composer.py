"""The visual composer's server half: read a program (the service's own parser, within the composer's bounds),
say whether the qubit grid can show it, list its operations for the grid, and give its ideal outcome
probabilities from the statevector engine (:mod:`xihe.web.ideal`).

The grid shows one quantum register ``q`` and one classical register ``c``, unconditioned operations of the gate
table and ``measure q[i] -> c[j]``; a program with anything else (custom gates, conditions, more registers) is
still simulated, but the page keeps it as text only (``representable`` False, ``why`` says what).
Without any measurement the probabilities are over every qubit (q[0] leftmost), as IBM's and Quafu's composers
show them; ``measures`` False tells the page to warn before submitting, since a job that measures nothing is refused
(422 ``no_measurement``) and the composer used to say "Valid" and then land the user on the editor's error.

>>> state = composer_state('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1];')
>>> state["representable"], [op["name"] for op in state["ops"]], state["probabilities"][0]
(True, ['h', 'cx'], {'outcome': '00', 'probability': 0.5})
"""

from __future__ import annotations

from typing import Any

from xihe import qasm
from xihe.circuit import Circuit
from xihe.errors import XiheError
from xihe.qasm import ParseLimits, QasmError
from xihe.web.free_parameters import free_parameter_error
from xihe.web.ideal import IdealUnavailable, ideal_of_circuit

MAX_QUBITS = 12
MAX_OPERATIONS = 500
SHOWN_OUTCOMES = 32
GRID_GATES = ("h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cz", "swap", "measure")


def _param_text(value: Any) -> str:
    return f"{value:.12g}" if isinstance(value, float) else str(value)


def _why_not_representable(circuit: Circuit) -> str | None:
    if [r.name for r in circuit.qregs] != ["q"]:
        return "the grid shows one quantum register named q"
    if [r.name for r in circuit.cregs] not in ([], ["c"]):
        return "the grid shows one classical register named c"
    for op in circuit.operations:
        if op.condition is not None:
            return "it has a classically conditioned gate"
        if op.gate.definition is not None:
            return f"it defines its own gate '{op.gate.name}'"
        if op.gate.name == "barrier":
            continue
        if op.gate.name in ("reset",) or (op.gate.spec is None and op.gate.name != "measure"):
            return f"the grid has no '{op.gate.name}'"
    return None


def grid_ops(circuit: Circuit) -> list[dict[str, Any]]:
    """The operations as the grid draws them (barriers left out)."""
    return [{"name": op.gate.name, "params": [_param_text(p) for p in op.gate.params], "qubits": list(op.qubits),
             "clbits": list(op.clbits)} for op in circuit.operations if op.gate.name != "barrier"]


def _probe(circuit: Circuit) -> tuple[Circuit, str]:
    """The circuit to simulate: itself if it measures, else a copy measuring every qubit into its own bit."""
    if any(op.gate.name == "measure" for op in circuit.operations):
        return circuit, "measured bits (c[0] leftmost)"
    probe = Circuit(circuit.num_qubits, circuit.num_qubits)
    for op in circuit.operations:
        if op.gate.name != "barrier":
            probe.append(op.gate, op.qubits)
    probe.measure(list(range(circuit.num_qubits)), list(range(circuit.num_qubits)))
    return probe, "every qubit, no measurement yet (q[0] leftmost)"


def composer_state(text: str, limits: ParseLimits | None = None) -> dict[str, Any]:
    """What the composer shows for ``text``: ``ok``, an ``error`` (line, column, message), ``representable`` and
    ``why``, ``num_qubits``, ``ops``, ``measures`` (whether any qubit is measured), the ideal ``probabilities``
    (most likely first) and what they are ``over``."""
    base = limits or ParseLimits()
    bounded = ParseLimits(max_qubits=min(base.max_qubits or MAX_QUBITS, MAX_QUBITS),
                          max_operations=min(base.max_operations or MAX_OPERATIONS, MAX_OPERATIONS))
    answer: dict[str, Any] = {"ok": False, "error": None, "representable": False, "why": None, "num_qubits": 0,
                              "ops": [], "measures": False, "probabilities": [], "over": "", "note": None}
    try:
        circuit = qasm.loads(text, limits=bounded)
    except QasmError as exc:
        answer["error"] = {"line": exc.line, "column": exc.column, "message": exc.message}
        return answer
    except (XiheError, RecursionError) as exc:
        answer["error"] = {"line": None, "column": None, "message": str(exc) or "the program cannot be read"}
        return answer
    answer["error"] = free_parameter_error(text, circuit)
    if answer["error"] is not None:
        return answer
    answer.update(ok=True, num_qubits=circuit.num_qubits, ops=grid_ops(circuit),
                  measures="measure" in circuit.count_ops())
    answer["why"] = _why_not_representable(circuit)
    answer["representable"] = answer["why"] is None
    probe, over = _probe(circuit)
    try:
        probabilities = ideal_of_circuit(probe, max_qubits=MAX_QUBITS)
    except IdealUnavailable as exc:
        answer["note"] = f"No ideal probabilities: {exc}."
        return answer
    answer["over"] = over
    answer["probabilities"] = [{"outcome": k, "probability": round(p, 12)}
                               for k, p in list(probabilities.items())[:SHOWN_OUTCOMES]]
    answer["more"] = max(0, len(probabilities) - SHOWN_OUTCOMES)
    return answer
