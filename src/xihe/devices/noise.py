"""The noise model of a device, derived from its calibration by one rule set (DESIGN.md).

- A gate's file fidelity is its average gate fidelity. Its error channel is thermal relaxation over the gate's
  duration (T1, T2 = T2echo, on each of its qubits) followed by a depolarizing channel whose strength is chosen so
  that the composition has exactly that fidelity (as Qiskit Aer's device noise model does). Average gate fidelity
  is linear in the depolarizing strength, so the strength is solved exactly; if relaxation alone is already worse
  than the file's fidelity, there is no depolarizing part.
- ``rz`` and ``id`` are virtual (frame changes): no error.
- Idle periods (``delay`` operations from scheduling) relax with the qubit's T1 and dephase with its T2* (Ramsey:
  nothing refocuses an idle qubit), or with its T2echo on a qubit whose circuit refocuses it: a pi pulse between
  two idle windows, as a Hahn echo, CPMG/XY4 dynamical decoupling (the ``dynamical_decoupling`` job option) or the
  user's own pulses have (:func:`refocused_qubits`). The pulses undo the slow noise that makes T2* shorter than
  T2echo; their own errors are the gate channels'. The switch is per qubit and per circuit (the engines apply one
  idle channel per qubit), the documented approximation of noise that is really correlated in time.
- Readout confusion per qubit, from the Target (documented defaults where the file has none).

``qubits`` maps the physical qubits a run touches onto a compact register, so a 106-qubit twin simulates only them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from functools import lru_cache

from xihe.circuit import Circuit, Operation, is_virtual
from xihe.compiler.target import Target
from xihe.engines.channels import Channel, depolarizing, thermal_relaxation
from xihe.engines.noise import NoiseModel


def _relaxation(target: Target, qubit: int, duration: float) -> Channel | None:
    if duration <= 0 or qubit not in target.t1:
        return None
    return thermal_relaxation(target.t1[qubit], target.t2[qubit], duration)


def calibrated_channel(fidelity: float, relaxation: Channel | None, num_qubits: int) -> Channel:
    """Relaxation then depolarizing, the depolarizing strength solved so the whole has ``fidelity``."""
    d2 = 4**num_qubits
    if relaxation is None:
        # depolarizing(p) has average fidelity 1 - p (d - 1) / d.
        d = 1 << num_qubits
        p = min(max((1.0 - fidelity) * d / (d - 1), 0.0), d2 / (d2 - 1))
        return depolarizing(p, num_qubits)
    f0 = relaxation.average_gate_fidelity()
    if f0 > fidelity:
        f1 = relaxation.compose(depolarizing(1.0, num_qubits)).average_gate_fidelity()
        p = (f0 - fidelity) / (f0 - f1) if f0 > f1 else 0.0
        p = min(max(p, 0.0), d2 / (d2 - 1))
    else:
        p = 0.0
    if p <= 0.0:
        return relaxation
    return relaxation.compose(depolarizing(p, num_qubits))


@lru_cache(maxsize=4096)
def _cached_channel(fidelity: float, t1s: tuple[float, ...], t2s: tuple[float, ...], duration: float) -> Channel:
    relax: Channel | None = None
    if duration > 0 and t1s:
        parts = [thermal_relaxation(t1, t2, duration) for t1, t2 in zip(t1s, t2s, strict=True)]
        relax = parts[0]
        for part in parts[1:]:
            relax = relax.tensor(part)
    return calibrated_channel(fidelity, relax, max(len(t1s), 1))


def gate_channel(target: Target, name: str, qubits: tuple[int, ...]) -> Channel | None:
    """The error channel after ``name`` on physical ``qubits``, or ``None`` for a virtual/ideal gate."""
    if is_virtual(name):
        return None
    props = target.properties(name, qubits)
    if props.error <= 0 and props.duration <= 0:
        return None
    if not all(q in target.t1 for q in qubits):
        return depolarizing(min(props.error * 2 ** len(qubits) / (2 ** len(qubits) - 1), 1.0), len(qubits)) \
            if props.error > 0 else None
    t1s = tuple(target.t1[q] for q in qubits)
    t2s = tuple(target.t2[q] for q in qubits)
    return _cached_channel(round(1.0 - props.error, 12), t1s, t2s, float(props.duration))


def _is_pi_pulse(op: Operation) -> bool:
    name = op.gate.name
    if len(op.qubits) != 1 or op.condition is not None:
        return False
    if name in ("x", "y"):
        return True
    if name in ("rx", "ry") and isinstance(op.gate.params[0], (int, float)):
        return abs(abs(float(op.gate.params[0])) - math.pi) < 1e-9
    return False


def refocused_qubits(circuit: Circuit) -> set[int]:
    """Qubits on which a pi pulse (``x``, ``y``, ``rx(±pi)``, ``ry(±pi)``) sits between two idle windows (``delay``),
    virtual frame changes and barriers aside: a Hahn echo, a decoupling sequence, or the user's own refocusing."""
    after_delay: set[int] = set()  # the qubit's last real operation was a delay
    pulsed: set[int] = set()  # ... then a pi pulse
    out: set[int] = set()
    for op in circuit.operations:
        name = op.gate.name
        if name == "barrier" or (len(op.qubits) == 1 and is_virtual(name)):
            continue
        if name == "delay":
            for q in op.qubits:
                if q in pulsed:
                    out.add(q)
                pulsed.discard(q)
                after_delay.add(q)
            continue
        if _is_pi_pulse(op):
            q = op.qubits[0]
            if q in after_delay:
                pulsed.add(q)
            else:
                pulsed.discard(q)
            after_delay.discard(q)
            continue
        for q in op.qubits:
            after_delay.discard(q)
            pulsed.discard(q)
    return out


def idle_t2(target: Target, qubit: int, decoupled: bool) -> float:
    """The T2 (ns) an idle ``qubit`` dephases with: T2echo when refocused, else T2* (Ramsey)."""
    if decoupled:
        return target.t2[qubit]
    return target.t2_ramsey.get(qubit, target.t2[qubit])


def device_noise_model(target: Target, qubits: Sequence[int] | None = None,
                       decoupled: Collection[int] = ()) -> NoiseModel:
    """Noise on the compact register ``0..len(qubits)-1`` standing for physical ``qubits`` (all if omitted).

    ``decoupled``: the physical qubits whose idle windows are refocused (:func:`refocused_qubits`); they dephase
    with T2echo when idle, the others with T2*.
    """
    model = NoiseModel()
    if target.unconstrained:
        return model
    physical = list(qubits) if qubits is not None else list(range(target.num_qubits))
    compact = {p: i for i, p in enumerate(physical)}
    for p, i in compact.items():
        if p in target.t1:
            model.set_relaxation(i, target.t1[p], idle_t2(target, p, p in decoupled))
        if p in target.readout_error:
            p10, p01 = target.readout_error[p]
            if p10 or p01:
                model.add_readout_error(p10, p01, i)
    for name, props in (target.gates or {}).items():
        for qs in props:
            if not all(q in compact for q in qs):
                continue
            channel = gate_channel(target, name, qs)
            if channel is not None:
                model.add_gate_error(channel, name, tuple(compact[q] for q in qs))
    return model


def pauli_twirl(channel: Channel) -> Channel:
    """The Pauli channel with the same Pauli-diagonal as ``channel`` (its Pauli twirl)."""
    import itertools

    import numpy as np

    from xihe.engines.channels import pauli_channel, pauli_matrix

    n = channel.num_qubits
    d = 1 << n
    probs = {}
    for letters in itertools.product("IXYZ", repeat=n):
        label = "".join(letters)
        p = pauli_matrix(label)
        probs[label] = float(sum(abs(np.trace(p @ k)) ** 2 for k in channel.kraus) / d**2)
    total = sum(probs.values())
    return pauli_channel({k: v / total for k, v in probs.items()}, name=f"twirl({channel.name})")


def pauli_twirled_noise_model(target: Target, qubits: Sequence[int]) -> NoiseModel:
    """The device noise with every gate channel twirled to Pauli and no idle relaxation (for the stabilizer engine)."""
    full = device_noise_model(target, qubits)
    model = NoiseModel()
    for q, (p10, p01) in full.readout_errors().items():
        model.add_readout_error(p10, p01, q)
    compact = {p: i for i, p in enumerate(qubits)}
    for name, props in (target.gates or {}).items():
        for qs in props:
            if all(q in compact for q in qs):
                channel = gate_channel(target, name, qs)
                if channel is not None:
                    model.add_gate_error(pauli_twirl(channel), name, tuple(compact[q] for q in qs))
    return model
