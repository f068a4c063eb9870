"""Twirled readout error extinction (TREX; van den Berg, Minev, Temme, arXiv:2012.09738).

Measurement twirling: each randomization flips a random subset of the measured qubits with an X just before their
measurement and flips the same classical bits back in the counts. The ideal outcome is unchanged, but a qubit's
readout confusion ``[[1 - p10, p01], [p10, 1 - p01]]`` is averaged with its X-conjugate into the symmetric bit flip
``p = (p10 + p01) / 2``. Under a tensored (per-qubit) confusion the twirled expectation of a Z string on qubits
``S`` is then exactly ``f_S <Z_S>`` with ``f_S = prod_{q in S} (1 - p10_q - p01_q)`` (``prod (1 - 2p)`` for a
symmetric flip ``p``): a scalar per string, whatever the state.

Extinction: the same twirled measurement of |0...0> (a calibration circuit, nothing but the twirled flips) has
``<Z_S> = 1``, so its twirled parity over ``S`` *is* ``f_S``; dividing each term's twirled estimate by the
calibration's ``f_S`` on the same physical qubits removes the readout bias, with no model of the confusion (the
factor is measured, correlated readout errors included). All functions here are pure: circuits and counts in,
circuits, counts and numbers out; the Estimator job kind (``xihe.service.estimate``) runs them.

Counts keys are ``c0_leftmost`` (character ``i`` of a key, spaces skipped, is classical bit ``i``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

from xihe.circuit import Circuit
from xihe.mitigation.readout import native_flip

# qiskit-ibm-runtime's "auto" rule: shots_per_randomization = max(64, ceil(shots / 32)).
AUTO_MIN_SHOTS_PER_RANDOMIZATION = 64
AUTO_RANDOMIZATIONS = 32


def randomizations(shots: int, num_randomizations: int | str = "auto",
                   shots_per_randomization: int | str = "auto") -> tuple[int, int]:
    """``(randomizations, shots each)`` for ``shots`` wanted, by qiskit-ibm-runtime's ``TwirlingOptions`` rules:
    both "auto": ``max(64, ceil(shots / 32))`` shots each and as many randomizations as cover ``shots``; one given:
    the other covers ``shots``; both given: as given.

    >>> randomizations(10_000), randomizations(1000), randomizations(1000, 10), randomizations(1000, "auto", 300)
    ((32, 313), (16, 64), (10, 100), (4, 300))
    """
    if num_randomizations != "auto" and shots_per_randomization != "auto":
        return int(num_randomizations), int(shots_per_randomization)
    if num_randomizations != "auto":
        return int(num_randomizations), math.ceil(shots / int(num_randomizations))
    each = max(AUTO_MIN_SHOTS_PER_RANDOMIZATION, math.ceil(shots / AUTO_RANDOMIZATIONS)) \
        if shots_per_randomization == "auto" else int(shots_per_randomization)
    return math.ceil(shots / each), each


def twirl_masks(num_bits: int, count: int, seed: int) -> list[int]:
    """``count`` random flip masks over ``num_bits`` classical bits (bit ``i`` of a mask: flip the qubit measured
    into clbit ``i``), uniform and seeded.

    >>> twirl_masks(3, 4, 7) == twirl_masks(3, 4, 7)
    True
    """
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, size=(count, num_bits))
    return [int(sum(int(b) << i for i, b in enumerate(row))) for row in bits]


def twirl_measurements(circuit: Circuit, mask: int, natives: Collection[str]) -> Circuit:
    """``circuit`` with a native X just before each measurement whose classical bit is set in ``mask``.

    >>> qc = Circuit(2, 2).h(0).measure([0, 1], [0, 1])
    >>> [op.gate.name for op in twirl_measurements(qc, 0b10, {"x"}).operations]
    ['h', 'measure', 'x', 'measure']
    """
    flip = native_flip(natives)
    out = circuit.copy_empty()
    for op in circuit.operations:
        if op.gate.name == "measure" and op.condition is None and any(mask >> c & 1 for c in op.clbits):
            for q, c in zip(op.qubits, op.clbits, strict=True):
                if mask >> c & 1:
                    flip(out, q)
        out.operations.append(op)
    return out


def untwirl_counts(counts: Mapping[str, int], mask: int) -> dict[str, int]:
    """The counts with the classical bits of ``mask`` flipped back (keys ``c0_leftmost``, spaces kept).

    >>> untwirl_counts({"10 1": 5, "00 0": 3}, 0b101)
    {'00 0': 5, '10 1': 3}
    """
    out: Counter[str] = Counter()
    for key, n in counts.items():
        chars, bit = [], 0
        for ch in key:
            if ch == " ":
                chars.append(ch)
                continue
            chars.append(("1" if ch == "0" else "0") if mask >> bit & 1 else ch)
            bit += 1
        out["".join(chars)] += int(n)
    return dict(out)


def merge_counts(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The sum of several counts dicts (the randomizations of one twirled circuit, each already untwirled)."""
    out: Counter[str] = Counter()
    for part in parts:
        out.update({k: int(v) for k, v in part.items()})
    return dict(out)


def parity_mean(counts: Mapping[str, int], bits: Sequence[int]) -> float:
    """The mean of ``prod_{i in bits} (-1)^{x_i}`` over the shots: for a twirled calibration of |0...0>, the TREX
    factor ``f_S`` of the qubits measured into ``bits``.

    >>> parity_mean({"00": 90, "10": 10}, [0]), parity_mean({"00": 90, "10": 10}, [])
    (0.8, 1.0)
    """
    total = 0
    value = 0
    for key, n in counts.items():
        plain = key.replace(" ", "")
        sign = -1 if sum(plain[i] == "1" for i in bits) % 2 else 1
        value += sign * int(n)
        total += int(n)
    if total == 0:
        raise ValueError("a TREX factor needs calibration shots")
    return value / total


def exact_factor(errors: Iterable[tuple[float, float]]) -> float:
    """The TREX factor of a Z string under a tensored confusion ``[(p10, p01), ...]`` of its qubits:
    ``prod (1 - p10 - p01)``, which is ``prod (1 - 2p)`` for symmetric flips ``p``.

    >>> round(exact_factor([(0.1, 0.1), (0.02, 0.04)]), 12)
    0.752
    """
    return math.prod(1.0 - p10 - p01 for p10, p01 in errors)
