"""Expectation values of Pauli observables: ``estimate(circuit, "XZI")`` or ``estimate(circuit, {"ZZ": 0.5})``.

A Pauli string has qubit 0 leftmost (as a statevector index). Exact values come from the final state (statevector
engine) or the final density matrix (density matrix engine, when the noise model changes the state). With
``shots``, each term is measured: its qubits are rotated to the Z basis (``H`` for X, ``sdg; H`` for Y), measured,
and the parity averaged, with seeds for the terms spawned from ``SeedSequence(seed)``.

>>> from xihe.circuit import Circuit
>>> qc = Circuit(2)
>>> _ = qc.h(0).cx(0, 1)
>>> round(estimate(qc, {"ZZ": 0.5, "XX": 1.0}), 12)
1.5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from xihe.errors import ExecutionError

if TYPE_CHECKING:
    from xihe.circuit.circuit import Circuit
    from xihe.engines.noise import NoiseModel

Observable = str | Mapping[str, float]


def parse_observable(observable: Observable, num_qubits: int) -> dict[str, float]:
    """``{pauli string: coefficient}``, each string checked against the circuit's width."""
    terms = {observable: 1.0} if isinstance(observable, str) else dict(observable)
    if not terms:
        raise ExecutionError("the observable has no terms")
    out: dict[str, float] = {}
    for label, coeff in terms.items():
        label = label.upper()
        if len(label) != num_qubits or set(label) - set("IXYZ"):
            raise ExecutionError(f"Pauli term '{label}' must be {num_qubits} letters of I, X, Y, Z "
                                 "(qubit 0 leftmost)")
        if isinstance(coeff, complex) and coeff.imag:
            raise ExecutionError(f"coefficient of '{label}' must be real for a Hermitian observable")
        out[label] = out.get(label, 0.0) + float(np.real(coeff))
    return out


def _without_measurements(circuit: Circuit) -> Circuit:
    out = circuit.copy_empty()
    out.operations = [op for op in circuit.operations if op.gate.name != "measure"]
    return out


def _pauli_on_state(state: np.ndarray, label: str) -> np.ndarray:
    from xihe.circuit.standard_gates import X, Y, Z
    from xihe.engines import kernels

    n = len(label)
    out = state.copy()
    for q, ch in enumerate(label):
        if ch != "I":
            kernels.apply_1q(out, n - 1 - q, {"X": X, "Y": Y, "Z": Z}[ch])
    return out


def exact_expectation(circuit: Circuit, terms: dict[str, float], noise: NoiseModel | None) -> float:
    """``<O>`` from the final state, or ``Tr(rho O)`` when the noise changes the state."""
    return exact_expectations(circuit, [terms], noise)[0]


def exact_expectations(circuit: Circuit, observables: Sequence[dict[str, float]],
                       noise: NoiseModel | None) -> list[float]:
    """``<O_j>`` for each observable, from one final state (or density matrix): the circuit is simulated once."""
    stripped = _without_measurements(circuit)
    n = circuit.num_qubits
    if (noise is not None and noise.has_quantum_noise()) or any(
            op.gate.name == "reset" for op in stripped.operations):
        from xihe.engines.density_matrix import final_density_matrix

        rho = final_density_matrix(stripped, noise)
        dim = 1 << n
        # Tr(rho P) = sum_i (P rho)_ii, with P applied to the row qubits of the flattened matrix.
        return [sum(coeff * float(np.real(np.trace(_pauli_on_state(rho, label + "I" * n).reshape(dim, dim))))
                    for label, coeff in terms.items()) for terms in observables]
    from xihe.engines.program import lower
    from xihe.engines.statevector import final_state

    prog = lower(stripped)
    if prog.is_dynamic:
        raise ExecutionError("an exact expectation of a circuit with conditions needs noise-free, "
                             "condition-free circuits; give shots")
    state = final_state(prog)
    return [sum(coeff * float(np.real(np.vdot(state, _pauli_on_state(state, label))))
                for label, coeff in terms.items()) for terms in observables]


def sampled_expectation(circuit: Circuit, terms: dict[str, float], shots: int, seed: int | None,
                        noise: NoiseModel | None) -> float:
    """``<O>`` estimated from ``shots`` measurements of each term in its own basis."""
    from xihe.circuit.register import ClassicalRegister
    from xihe.engines.simulate import simulate

    stripped = _without_measurements(circuit)
    children = np.random.SeedSequence(seed).spawn(len(terms))
    total = 0.0
    for (label, coeff), child in zip(terms.items(), children, strict=True):
        support = [q for q, ch in enumerate(label) if ch != "I"]
        if not support:
            total += coeff
            continue
        qc = stripped.copy()
        reg = ClassicalRegister("est" if "est" not in {r.name for r in qc.cregs} else f"est{len(qc.cregs)}",
                                len(support))
        qc.add_register(reg)
        for q in support:
            if label[q] == "X":
                qc.h(q)
            elif label[q] == "Y":
                qc.sdg(q).h(q)
        offset = qc.creg_offset(reg.name)
        qc.measure(support, [offset + i for i in range(len(support))])
        result = simulate(qc, shots=shots, seed=int(child.generate_state(1)[0]), noise=noise)
        value = 0.0
        for key, count in result.counts.items():
            parity = key[offset:offset + len(support)].count("1") % 2
            value += count * (-1.0 if parity else 1.0)
        total += coeff * value / shots
    return total


def estimate(circuit: Circuit, observable: Observable, shots: int | None = None, seed: int | None = None,
             noise: NoiseModel | None = None) -> float:
    """Expectation value of a Pauli string or a weighted sum of them: exact, or from ``shots`` per term."""
    terms = parse_observable(observable, circuit.num_qubits)
    if shots is None or shots == 0:
        return exact_expectation(circuit, terms, noise)
    if shots < 0:
        raise ExecutionError(f"shots must be positive, not {shots}")
    return sampled_expectation(circuit, terms, shots, seed, noise)
