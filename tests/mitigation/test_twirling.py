"""The algebra of twirled readout error extinction (TREX), without a server.

Oracles: exact distributions computed here with numpy (a state's ideal distribution from Qiskit's ``Statevector``,
pushed through a tensored confusion matrix built in the test), the closed forms ``prod (1 - p10 - p01)`` and
``prod (1 - 2p)``, and Qiskit Aer sampling a readout-error model built in the test.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm2
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError

from xihe import qasm
from xihe.circuit import Circuit
from xihe.mitigation import (
    exact_factor,
    merge_counts,
    parity_mean,
    randomizations,
    twirl_masks,
    twirl_measurements,
    untwirl_counts,
)

SCALE = 10**12  # exact probabilities as integer "counts"


def state(n: int, seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    for q in range(n):
        qc.ry(float(rng.uniform(0, math.pi)), q)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc


def ideal_distribution(qc: QuantumCircuit) -> np.ndarray:
    """P(x) indexed by the integer whose bit i is qubit i's outcome."""
    return np.abs(Statevector(qc).data) ** 2


def read(distribution: np.ndarray, errors: list[tuple[float, float]], mask: int) -> dict[str, int]:
    """Exact counts (scaled) of: flip the qubits in ``mask``, read through the tensored confusion ``errors``; keys
    ``c0_leftmost``."""
    n = len(errors)
    out: dict[str, int] = {}
    for x in range(2**n):
        flipped = x ^ mask
        for y in range(2**n):
            p = distribution[x]
            for q, (p10, p01) in enumerate(errors):
                a, b = flipped >> q & 1, y >> q & 1
                p *= (1 - p10 if b == 0 else p10) if a == 0 else (p01 if b == 0 else 1 - p01)
            key = "".join(str(y >> q & 1) for q in range(n))
            out[key] = out.get(key, 0) + round(p * SCALE)
    return out


def z_string(n: int, qubits: tuple[int, ...]) -> SparsePauliOp:
    return SparsePauliOp("".join("Z" if q in qubits else "I" for q in reversed(range(n))))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_full_twirl_turns_any_tensored_confusion_into_one_factor_per_z_string(seed: int) -> None:
    """Averaged over every flip mask, the untwirled parity of qubits S is prod_{q in S} (1 - p10 - p01) times the
    ideal <Z_S>, for every S, and the twirled |0...0> gives exactly that factor; without twirling it is not."""
    n = 3
    rng = np.random.default_rng(seed)
    errors = [(float(a), float(b)) for a, b in rng.uniform(0.01, 0.2, size=(n, 2))]
    qc = state(n, seed)
    data = merge_counts(untwirl_counts(read(ideal_distribution(qc), errors, m), m) for m in range(2**n))
    zeros = np.zeros(2**n)
    zeros[0] = 1.0
    calibration = merge_counts(untwirl_counts(read(zeros, errors, m), m) for m in range(2**n))
    plain = read(ideal_distribution(qc), errors, 0)
    for size in (1, 2, 3):
        for subset in itertools.combinations(range(n), size):
            ideal = Statevector(qc).expectation_value(z_string(n, subset)).real
            factor = exact_factor([errors[q] for q in subset])
            assert parity_mean(calibration, list(subset)) == pytest.approx(factor, abs=1e-9)
            assert parity_mean(data, list(subset)) == pytest.approx(factor * ideal, abs=1e-9)
            assert parity_mean(data, list(subset)) / parity_mean(calibration, list(subset)) == \
                pytest.approx(ideal, abs=1e-8)
            if abs(ideal) > 0.1:  # the untwirled parity is no such multiple: an asymmetric confusion biases it
                assert abs(parity_mean(plain, list(subset)) - factor * ideal) > 1e-3


def test_symmetric_flips_give_prod_one_minus_two_p() -> None:
    errors = [(0.05, 0.05), (0.1, 0.1), (0.02, 0.02)]
    zeros = np.zeros(8)
    zeros[0] = 1.0
    calibration = merge_counts(untwirl_counts(read(zeros, errors, m), m) for m in range(8))
    assert parity_mean(calibration, [0, 1, 2]) == pytest.approx(0.9 * 0.8 * 0.96, abs=1e-9)


def test_twirled_circuits_keep_the_ideal_distribution_once_untwirled() -> None:
    """The X flips land on the measured qubits of the masked bits (Qiskit's exact distribution of each twirled
    circuit, read back with the mask undone, is the untwirled circuit's)."""
    circuit = Circuit(3, 3).ry(0.7, 0).cx(0, 1).ry(1.9, 2).measure([0, 1, 2], [2, 0, 1])
    reference = qasm2.loads(qasm.dumps(circuit))
    reference.remove_final_measurements()
    ideal = Statevector(reference).probabilities_dict()  # keys: qubit 0 rightmost
    qubit_of = (1, 2, 0)  # clbit c holds qubit qubit_of[c]

    def as_counts(probabilities: dict[str, float]) -> dict[str, int]:
        return {"".join(key[::-1][q] for q in qubit_of): round(p * SCALE) for key, p in probabilities.items()}

    for mask in [*twirl_masks(3, 6, seed=11), 0b111]:
        twirled = twirl_measurements(circuit, mask, {"x", "cx", "ry"})
        flips = [op.qubits[0] for op in twirled.operations if op.gate.name == "x"]
        assert sorted(flips) == sorted(qubit_of[c] for c in range(3) if mask >> c & 1)
        ran = qasm2.loads(qasm.dumps(twirled))
        ran.remove_final_measurements()
        assert untwirl_counts(as_counts(Statevector(ran).probabilities_dict()), mask) == as_counts(ideal)


def test_masks_are_seeded_and_cover_both_values() -> None:
    masks = twirl_masks(4, 64, seed=3)
    assert masks == twirl_masks(4, 64, seed=3) and masks != twirl_masks(4, 64, seed=4)
    for bit in range(4):
        assert 16 < sum(m >> bit & 1 for m in masks) < 48


def test_randomizations_follow_qiskit_ibm_runtime_auto_rules() -> None:
    assert randomizations(4096) == (32, 128)  # max(64, ceil(4096 / 32)) = 128 shots each
    assert randomizations(100) == (2, 64)
    assert randomizations(100, 5) == (5, 20)
    assert randomizations(100, "auto", 30) == (4, 30)
    assert randomizations(100, 3, 7) == (3, 7)


def test_aer_sampled_twirled_calibration_matches_the_closed_form() -> None:
    """Aer with a symmetric readout flip p per qubit (a model built here): the twirled |000>'s parities are
    prod (1 - 2p) within 4 standard errors; the twirled estimates of a state divided by them are its ideal <Z_S>."""
    p = [0.04, 0.08, 0.12]
    noise = NoiseModel()
    for q, pq in enumerate(p):
        noise.add_readout_error(ReadoutError([[1 - pq, pq], [pq, 1 - pq]]), [q])
    simulator = AerSimulator(noise_model=noise)
    n, count, shots = 3, 16, 4000
    prepared = state(n, 5)
    circuits = {"zeros": Circuit(n, n).measure([0, 1, 2], [0, 1, 2])}
    measured = prepared.copy()
    measured.measure_all()
    circuits["state"] = qasm.loads(qasm2.dumps(measured))
    merged = {}
    for name, circuit in circuits.items():
        parts = []
        for k, mask in enumerate(twirl_masks(n, count, seed=21)):  # a seed per run: independent samples
            ran = simulator.run(qasm2.loads(qasm.dumps(twirl_measurements(circuit, mask, {"x"}))), shots=shots,
                                seed_simulator=100 + k).result().get_counts()
            parts.append(untwirl_counts({key[::-1]: v for key, v in ran.items()}, mask))  # to c0_leftmost
        merged[name] = merge_counts(parts)
    total = count * shots
    for size in (1, 2, 3):
        for subset in itertools.combinations(range(n), size):
            factor = math.prod(1 - 2 * p[q] for q in subset)
            measured = parity_mean(merged["zeros"], list(subset))
            assert abs(measured - factor) < 4 * math.sqrt((1 - factor**2) / total), (subset, measured, factor)
            ideal = Statevector(prepared).expectation_value(z_string(n, subset)).real
            estimate = parity_mean(merged["state"], list(subset)) / measured
            assert abs(estimate - ideal) < 4 * math.sqrt(2 / total) / factor, (subset, estimate, ideal)
