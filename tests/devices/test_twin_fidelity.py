"""A GHZ-5 on the dongling twin keeps the fidelity its calibration numbers predict.

The prediction is built here from the calibration numbers alone (file fidelities, T1, T2echo for gates, T2* for
idle gaps, gate durations, the documented readout defaults), independently of the emulator's Kraus channels: each
gate's error is the Pauli channel with the file's average fidelity (the Pauli twirl of relaxation over the gate's
duration, topped up with depolarizing), each idle gap relaxes, and stim's detector error model propagates every
fault to the measured bits; readout confusion is applied exactly at the end. The emulator (density-matrix engine,
untwirled channels) must land within 3 sigma of shot noise of that prediction.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import stim

from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import Target

SHOTS = 20_000
HALF_PI = math.pi / 2
STIM_1Q = {("rz", 1): "S", ("rz", 2): "Z", ("rz", 3): "S_DAG", ("ry", 1): "SQRT_Y", ("ry", 2): "Y",
           ("ry", 3): "SQRT_Y_DAG", ("rx", 1): "SQRT_X", ("rx", 2): "X", ("rx", 3): "SQRT_X_DAG"}


def ghz(n: int) -> Circuit:
    qc = Circuit(n, n).h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    return qc.measure(list(range(n)), list(range(n)))


def relaxation_paulis(t1: float, t2: float, duration: float) -> np.ndarray:
    """(pI, pX, pY, pZ) of the Pauli-twirled thermal relaxation over ``duration``."""
    p_xy = (1 - math.exp(-duration / t1)) / 4
    p_z = (1 - math.exp(-duration / t2)) / 2 - p_xy
    return np.array([1 - 2 * p_xy - p_z, p_xy, p_xy, p_z])


def gate_paulis(fidelity: float, relax: np.ndarray) -> np.ndarray:
    """Pauli probabilities with identity weight ``((d+1) F - 1) / d``, relaxation topped up with depolarizing."""
    d = round(math.sqrt(relax.size))
    target_identity = ((d + 1) * fidelity - 1) / d
    depol = max(0.0, (relax[0] - target_identity) / (relax[0] - 1 / d**2))
    return (1 - depol) * relax + depol / d**2


def stim_circuit(native: Circuit, target: Target, qubits: list[int]) -> stim.Circuit:
    index = {q: i for i, q in enumerate(qubits)}
    out = stim.Circuit()
    for op in native.operations:
        name = op.gate.name
        qs = [index[q] for q in op.qubits]
        if name == "measure":
            out.append("M", qs)
            continue
        phys = op.qubits
        if name == "delay":
            q = phys[0]
            probs = relaxation_paulis(target.t1[q], target.t2_ramsey[q], float(op.gate.params[0]))  # type: ignore[arg-type]
            out.append("PAULI_CHANNEL_1", qs, list(probs[1:]))
            continue
        if name == "cz":
            out.append("CZ", qs)
            duration = target.duration("cz", phys)
            relax = np.kron(*(relaxation_paulis(target.t1[q], target.t2[q], duration) for q in phys))
            probs = gate_paulis(1 - target.error("cz", phys), relax)
            out.append("PAULI_CHANNEL_2", qs, list(probs[1:]))
            continue
        if name == "h":
            out.append("H", qs)
        else:
            angle = float(op.gate.params[0])  # type: ignore[arg-type]
            k = round(angle / HALF_PI)
            assert abs(angle - k * HALF_PI) < 1e-9, f"non-Clifford angle in {op}"
            if k % 4:
                out.append(STIM_1Q[(name, k % 4)], qs)
        if name != "rz":
            q = phys[0]
            relax = relaxation_paulis(target.t1[q], target.t2[q], target.duration(name, phys))
            out.append("PAULI_CHANNEL_1", qs, list(gate_paulis(1 - target.error(name, phys), relax)[1:]))
    n = len(qubits)
    for i in range(n - 1):
        out.append("DETECTOR", [stim.target_rec(-n + i), stim.target_rec(-n + i + 1)])
    return out


def predicted_success(native: Circuit, target: Target, qubits: list[int], measured_order: list[int]) -> float:
    """P(all readouts equal) from the calibration: fault propagation, then exact readout confusion."""
    n = len(qubits)
    dem = stim_circuit(native, target, qubits).detector_error_model(approximate_disjoint_errors=True)
    # Distribution over detector patterns (bit i: m_i xor m_{i+1}) from independent fault mechanisms.
    dist = np.zeros(1 << (n - 1))
    dist[0] = 1.0
    for instruction in dem.flattened():
        if instruction.type != "error":
            continue
        p = instruction.args_copy()[0]
        mask = 0
        for t in instruction.targets_copy():
            if t.is_relative_detector_id():
                mask ^= 1 << t.val
        dist = (1 - p) * dist + p * dist[np.arange(dist.size) ^ mask]
    # Pre-readout outcome x (bit i for measured qubit i): both x and its complement, each half the pattern's weight.
    pre = np.zeros(1 << n)
    for x in range(1 << n):
        bits = [(x >> i) & 1 for i in range(n)]
        pattern = sum((bits[i] ^ bits[i + 1]) << i for i in range(n - 1))
        pre[x] = dist[pattern] / 2
    success = 0.0
    all_ones = (1 << n) - 1
    for x in range(1 << n):
        for y in (0, all_ones):
            prob = pre[x]
            for i in range(n):
                p10, p01 = target.readout_error[measured_order[i]]
                xi, yi = (x >> i) & 1, (y >> i) & 1
                prob *= (1 - p10 if yi == 0 else p10) if xi == 0 else (p01 if yi == 0 else 1 - p01)
            success += prob
    return success


def test_ghz5_on_dongling_keeps_the_fidelity_its_calibration_predicts() -> None:
    device = devices.get("dongling")
    compiled = device.compile(ghz(5), optimization_level=3, seed=7)
    native = compiled.circuit
    qubits = sorted({q for op in native.operations for q in op.qubits})
    measured_order = [next(op.qubits[0] for op in native.operations if op.gate.name == "measure" and op.clbits == (c,))
                      for c in range(5)]
    # Detector i compares measurement records i and i+1 in program order; order the readout the same way.
    program_order = [op.qubits[0] for op in native.operations if op.gate.name == "measure"]
    predicted = predicted_success(native, device.target, qubits, program_order)
    result = device.run(native, SHOTS, seed=2024)
    assert result.metadata["engine"] == "density_matrix"
    measured = (result.counts.get("00000", 0) + result.counts.get("11111", 0)) / SHOTS
    sigma = math.sqrt(predicted * (1 - predicted) / SHOTS)
    assert abs(measured - predicted) <= 3 * sigma, (measured, predicted, sigma)
    # The noise is real: the success is well below 1 and the compile-time estimate is a lower bound.
    assert predicted < 0.95
    assert compiled.estimated_success_probability <= measured
    assert sorted(measured_order) == sorted(program_order)


def test_pauli_probabilities_have_the_file_fidelity() -> None:
    relax = np.kron(relaxation_paulis(30e3, 20e3, 60), relaxation_paulis(50e3, 40e3, 60))
    probs = gate_paulis(0.97, relax)
    assert probs.sum() == pytest_approx(1.0)
    assert (4 * probs[0] + 1) / 5 == pytest_approx(0.97)
    assert all(p >= 0 for p in probs)
    assert len(list(itertools.product("IXYZ", repeat=2))) == probs.size


def pytest_approx(value: float):  # type: ignore[no-untyped-def]
    import pytest

    return pytest.approx(value, abs=1e-12)
