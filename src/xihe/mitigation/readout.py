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
