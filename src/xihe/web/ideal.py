"""The exact, noiseless outcome distribution of a small circuit, computed by the server's own statevector engine.

Two pages use it: a twin job's results overlay the ideal distribution of the same circuit on its measured bars,
and the composer shows live ideal probabilities while a circuit is built. Both are bounded: at most
:data:`MAX_QUBITS` qubits and :data:`MAX_OPERATIONS` operations (a 16-qubit statevector is 1 MiB and takes
milliseconds), programs parsed with the service's input limits, and only circuits whose measurements are all at
the end (a mid-circuit measurement has no single final state). Anything else is :class:`IdealUnavailable` with a
sentence the page shows.

>>> round(ideal_distribution('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; '
...                          'cx q[0],q[1]; measure q -> c;')["11"], 6)
0.5
"""

from __future__ import annotations

from dataclasses import replace

from xihe import qasm
from xihe.circuit import Circuit
from xihe.engines.simulate import simulate
from xihe.errors import XiheError
from xihe.qasm import ParseLimits, QasmError

MAX_QUBITS = 16
MAX_OPERATIONS = 5000
MAX_OUTCOMES = 4096  # outcomes kept (by probability): the page never needs more
CUTOFF = 1e-12


class IdealUnavailable(Exception):
    """No ideal distribution for this program; the message says why in a sentence."""


def ideal_of_circuit(circuit: Circuit, *, max_qubits: int = MAX_QUBITS) -> dict[str, float]:
    """Outcome -> exact probability (classical bits, c[0] leftmost), rounded noise below 1e-12 dropped."""
    if circuit.num_qubits > max_qubits:
        raise IdealUnavailable(f"{circuit.num_qubits} qubits: the ideal distribution is computed for at most "
                               f"{max_qubits}")
    if len(circuit) > MAX_OPERATIONS:
        raise IdealUnavailable(f"{len(circuit)} operations: the ideal distribution is computed for at most "
                               f"{MAX_OPERATIONS}")
    if circuit.num_clbits == 0:
        raise IdealUnavailable("the circuit measures nothing")
    try:
        result = simulate(circuit, shots=0, engine="statevector", max_memory_bytes=64 * 2**20)
    except XiheError as exc:
        raise IdealUnavailable(str(exc)) from None
    probabilities = result.exact_probabilities or {}
    kept = sorted(((k, p) for k, p in probabilities.items() if p > CUTOFF), key=lambda kp: -kp[1])
    return dict(kept[:MAX_OUTCOMES])


def ideal_distribution(text: str, limits: ParseLimits | None = None, *,
                       max_qubits: int = MAX_QUBITS) -> dict[str, float]:
    """Parse ``text`` (OpenQASM 2) within ``limits`` tightened to the bounds here, then :func:`ideal_of_circuit`."""
    base = limits or ParseLimits()
    bounded = replace(base, max_qubits=min(base.max_qubits or max_qubits, max_qubits),
                      max_operations=min(base.max_operations or MAX_OPERATIONS, MAX_OPERATIONS))
    try:
        circuit = qasm.loads(text, limits=bounded)
    except QasmError as exc:
        raise IdealUnavailable(f"line {exc.line}, column {exc.column}: {exc.message}") from None
    except (XiheError, RecursionError) as exc:
        raise IdealUnavailable(str(exc) or "the program cannot be read") from None
    return ideal_of_circuit(circuit, max_qubits=max_qubits)
