"""Error mitigation for expectation values: readout-error inversion, gate folding and zero-noise extrapolation.

Pure of the service: circuits in (the IR), numbers out. The Estimator job kind (``xihe.service.estimate``) uses it
as its ``mitigation`` options, and Qiskit's ``resilience_level`` maps onto those (``xihe.qiskit_primitives``).

- :mod:`.readout` -- per-shot weights that undo a tensored (per-qubit) readout confusion in a Pauli-Z parity, and
  the two circuits that measure that confusion afresh.
- :mod:`.folding` -- global unitary folding ``U (U^dagger U)^k`` of a compiled circuit, for odd noise factors.
- :mod:`.twirling` -- twirled readout error extinction (TREX): random X flips before measurement, undone in the
  counts, and the per-Z-string factor measured on a twirled |0...0> that the twirled estimates are divided by.
- :mod:`.extrapolation` -- Richardson and exponential fits to noise factor 0, with their standard errors.

Why our own code rather than mitiq: see ``docs/decisions.md`` ("Error mitigation: own code, mitiq as a test
oracle").
"""

from xihe.mitigation.extrapolation import EXTRAPOLATORS, Extrapolated, exponential, extrapolate, richardson
from xihe.mitigation.folding import check_noise_factors, fold_global
from xihe.mitigation.readout import calibration_circuits, measured_confusion, native_flip, parity_weights
from xihe.mitigation.twirling import (
    exact_factor,
    merge_counts,
    parity_mean,
    randomizations,
    twirl_masks,
    twirl_measurements,
    untwirl_counts,
)

__all__ = [
    "EXTRAPOLATORS",
    "Extrapolated",
    "calibration_circuits",
    "check_noise_factors",
    "exact_factor",
    "exponential",
    "extrapolate",
    "fold_global",
    "measured_confusion",
    "merge_counts",
    "native_flip",
    "parity_mean",
    "parity_weights",
    "randomizations",
    "richardson",
    "twirl_masks",
    "twirl_measurements",
    "untwirl_counts",
]
