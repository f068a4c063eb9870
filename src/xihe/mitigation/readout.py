"""Readout-error mitigation of Pauli-Z parities under a tensored confusion matrix.

A qubit whose readout flips a 0 to 1 with probability ``p10`` and a 1 to 0 with ``p01`` has the confusion matrix
``A = [[1 - p10, p01], [p10, 1 - p01]]`` (column: the state, row: what is read). For a parity
``f(x) = prod_q (-1)^x_q`` and a tensored ``A``, the weights ``g = (A^T)^-1 f`` factor per qubit, so giving each
shot the value ``prod_q g_q(x_q)`` instead of ``prod_q (-1)^x_q`` makes the mean an unbiased estimate of the
error-free parity (the same correction as applying ``A^-1`` to the measured distribution, without building it).
Qubits outside the parity keep weight 1 (the columns of ``A`` sum to 1). The standard error is that of the
weighted mean, so it grows as ``1 / (1 - p10 - p01)`` per qubit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence

from xihe.circuit import Circuit
from xihe.circuit.register import ClassicalRegister, QuantumRegister

CALIBRATION_REGISTER = "xihe_cal"

# Ways to flip |0> to |1> with one device-native gate (up to a global phase), in order of preference.
_FLIPS: list[tuple[str, Callable[[Circuit, int], object]]] = [
    ("x", lambda qc, q: qc.x(q)),
    ("rx", lambda qc, q: qc.rx(math.pi, q)),
    ("ry", lambda qc, q: qc.ry(math.pi, q)),
    ("u3", lambda qc, q: qc.u3(math.pi, 0.0, math.pi, q)),
    ("sx", lambda qc, q: qc.sx(q).sx(q)),
]


def parity_weights(p10: float, p01: float) -> tuple[float, float]:
    """``(g(0), g(1))``: the per-shot value of a read 0 and a read 1 whose mean is the mitigated ``<Z>``.

    >>> parity_weights(0.0, 0.0)
    (1.0, -1.0)
    >>> g0, g1 = parity_weights(0.1, 0.2)
    >>> round((1 - 0.1) * g0 + 0.1 * g1, 12), round(0.2 * g0 + (1 - 0.2) * g1, 12)
    (1.0, -1.0)
    """
    det = 1.0 - p10 - p01
    if det <= 0.0:
        raise ValueError(f"readout errors p(1|0)={p10}, p(0|1)={p01} leave no information to invert")
    return (1.0 - p01 + p10) / det, -(1.0 - p10 + p01) / det


def native_flip(natives: Collection[str]) -> Callable[[Circuit, int], object]:
    """A function appending an X (up to a global phase) on one qubit with one of the device's native gates.

    >>> qc = Circuit(1)
    >>> _ = native_flip({"rx", "cx"})(qc, 0)
    >>> qc.operations[0].gate.name
    'rx'
    """
    flip = next((make for name, make in _FLIPS if name in natives), None)
    if flip is None:
        raise ValueError(f"no native gate flips a qubit (the device has {sorted(natives)}; one of "
                         f"{[name for name, _ in _FLIPS]} is needed)")
    return flip


def calibration_circuits(num_qubits: int, qubits: Sequence[int], natives: Collection[str]) -> list[Circuit]:
    """Two circuits on a device of ``num_qubits`` qubits measuring ``qubits`` (bit i = ``qubits[i]``): prepared in
    |0...0>, and flipped to |1...1> with one native gate each, to run verbatim; their counts give each qubit's
    confusion as it is now (:func:`measured_confusion`).
    """
    flip = native_flip(natives)
    out = []
    for prepared in (0, 1):
        qc = Circuit(QuantumRegister("q", num_qubits), ClassicalRegister(CALIBRATION_REGISTER, len(qubits)),
                     name=f"readout-calibration-{prepared}")
        if prepared:
            for q in qubits:
                flip(qc, q)
        qc.measure(list(qubits), list(range(len(qubits))))
        out.append(qc)
    return out


def measured_confusion(qubits: Sequence[int], zeros: Mapping[str, int], ones: Mapping[str, int]
                       ) -> dict[int, tuple[float, float]]:
    """``{qubit: (p(1|0), p(0|1))}`` from the counts of :func:`calibration_circuits` (``c0_leftmost`` keys).

    >>> measured_confusion([4, 7], {"00": 90, "10": 10}, {"11": 80, "01": 20})
    {4: (0.1, 0.2), 7: (0.0, 0.0)}
    """
    def flipped(counts: Mapping[str, int], bit: int, read: str) -> float:
        total = sum(counts.values())
        return sum(n for key, n in counts.items() if key.replace(" ", "")[bit] == read) / total

    return {q: (flipped(zeros, i, "1"), flipped(ones, i, "0")) for i, q in enumerate(qubits)}
