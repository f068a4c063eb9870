"""Idle noise on the twins against closed-form decay (issues 15 and 16).

A twin built here from ``line10``'s chip file with error-free gates and readout (only relaxation left), so that the
density-matrix engine's exact probabilities must equal the closed forms:

- population: after ``x`` and ``t`` ns of idling, P(1) = exp(-(t + t_gate) / T1), whether the circuit was sent
  verbatim (the idle time comes from a busy neighbour and the end-of-circuit readout) or compiled;
- Ramsey: ``rx(pi/2)``, idle ``t``, ``rx(-pi/2)`` gives P(1) = (1 - exp(-d/T2echo - t/T2*)) exp(-d/T1) / 2 without
  decoupling, and (1 - exp(-(d + t)/T2echo)) exp(-d/T1) / 2 under XY4 or CPMG (gate of duration ``d``; gates relax
  with T2echo, an idle qubit with T2* unless decoupled).
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Any

import pytest

from xihe.circuit import Circuit
from xihe.devices.calibration import CalibrationSnapshot
from xihe.devices.defaults import DeviceDefaults
from xihe.devices.device import Device
from xihe.devices.plan import PlanOptions
from xihe.devices.quafu import calibration_time, target_from_chip_info
from xihe.errors import CompileError

QUIET = DeviceDefaults(single_qubit_gate_error=0.0, readout_p1_given_0=0.0, readout_p0_given_1=0.0)


def chip_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("xihe.devices.chips").joinpath("line10.json").read_text())
    return data


def quiet_twin(data: dict[str, Any] | None = None) -> Device:
    """line10 (or ``data``) with only relaxation: no gate depolarizing, no readout error."""
    data = data if data is not None else chip_data()
    target = target_from_chip_info(data, QUIET)
    snapshot = CalibrationSnapshot.make("quiet", 1, calibration_time(data), data)
    return Device("quiet", system_id=0, kind="twin", target=target, calibration=snapshot, defaults=QUIET)


def p1(device: Device, circuit: Circuit, **options: Any) -> float:
    result = device.run(circuit, 100, seed=1, **options)
    assert result.metadata["engine"] == "density_matrix"
    assert result.exact_probabilities is not None
    return sum(p for key, p in result.exact_probabilities.items() if key[0] == "1")  # c0 leftmost


def test_verbatim_idle_relaxes_as_the_compiled_delay_and_the_closed_form() -> None:
    twin = quiet_twin()
    target = twin.target
    a, busy = 3, 4
    d_a, d_b = target.duration("rx", (a,)), target.duration("rx", (busy,))
    pulses = 120  # qubit ``busy`` works for 120 x 30 ns = 3.6 us while ``a`` waits to be read out
    verbatim = Circuit(10, 2).rx(math.pi, a)
    for _ in range(pulses):
        verbatim.rx(math.pi, busy)
    verbatim.measure(a, 0).measure(busy, 1)
    idle = pulses * d_b - d_a
    expected = math.exp(-(idle + d_a) / target.t1[a])
    assert p1(twin, verbatim) == pytest.approx(expected, abs=1e-9)
    # The same physical circuit, compiled: x then an explicit delay on the qubit the compiler picks.
    logical = Circuit(1, 1).x(0).delay(idle, 0).measure(0, 0)
    compiled = twin.compile(logical, seed=1)
    q = compiled.initial_layout[0]
    gate = next(op for op in compiled.circuit.operations if op.gate.name in ("rx", "ry"))
    closed = math.exp(-(idle + target.duration(gate.gate.name, (q,))) / target.t1[q])
    assert p1(twin, None, compiled=compiled) == pytest.approx(closed, abs=1e-9)
    if q == a:
        assert closed == pytest.approx(expected, abs=1e-12)


def ramsey(qubit: int, wait: float) -> Circuit:
    return Circuit(10, 1).rx(math.pi / 2, qubit).delay(wait, qubit).rx(-math.pi / 2, qubit).measure(qubit, 0)


@pytest.mark.parametrize("sequence", [None, "XY4", "cpmg"])
def test_ramsey_dephases_with_t2star_and_decoupling_with_t2echo(sequence: str | None) -> None:
    data = chip_data()
    data["qubits_info"]["Q0105"].update({"T1": 60.0, "T2echo": 40.0, "T2star": 10.0})  # physical qubit 3
    twin = quiet_twin(data)
    target, q, wait = twin.target, 3, 8000.0
    d = target.duration("rx", (q,))
    dephasing = d / target.t2[q] + (wait / target.t2[q] if sequence else wait / target.t2_ramsey[q])
    expected = (1 - math.exp(-dephasing)) * math.exp(-d / target.t1[q]) / 2
    assert p1(twin, ramsey(q, wait), dynamical_decoupling=sequence) == pytest.approx(expected, abs=1e-9)
    assert (target.t2_ramsey[q], target.t2[q]) == (10_000.0, 40_000.0)


def test_decoupling_fills_long_windows_and_keeps_the_duration() -> None:
    twin = quiet_twin()
    compiled = twin.compile(Circuit(1, 1).x(0).delay(2000, 0).measure(0, 0), seed=1, dynamical_decoupling="XY4")
    plain = twin.compile(Circuit(1, 1).x(0).delay(2000, 0).measure(0, 0), seed=1)
    names = [op.gate.name for op in compiled.circuit.operations]
    assert names.count("rx") - [op.gate.name for op in plain.circuit.operations].count("rx") == 2
    assert compiled.properties["decoupled_windows"] == 1 and compiled.dynamical_decoupling == "XY4"
    q = compiled.initial_layout[0]
    busy = sum(float(op.gate.params[0]) if op.gate.name == "delay" else twin.target.duration(op.gate.name, (q,))
               for op in compiled.circuit.operations if op.gate.name not in ("measure", "barrier"))
    assert busy == pytest.approx(plain.duration_ns - twin.target.measure_duration)
    # A window shorter than twice its pulses keeps its plain delay.
    short = twin.compile(Circuit(1, 1).x(0).delay(100, 0).measure(0, 0), seed=1, dynamical_decoupling="XY4")
    assert short.properties["decoupled_windows"] == 0


def test_a_hahn_echo_written_in_the_circuit_refocuses_and_a_lone_pulse_does_not() -> None:
    data = chip_data()
    data["qubits_info"]["Q0105"].update({"T1": 60.0, "T2echo": 40.0, "T2star": 10.0})
    twin = quiet_twin(data)
    target, q, wait = twin.target, 3, 8000.0
    d = target.duration("rx", (q,))
    echo = (Circuit(10, 1).rx(math.pi / 2, q).delay(wait / 2, q).rx(math.pi, q).delay(wait / 2, q)
            .rx(math.pi / 2, q).measure(q, 0))
    expected = (1 - math.exp(-2 * d / target.t2[q] - wait / target.t2[q])) * math.exp(-d / target.t1[q]) / 2
    assert p1(twin, echo) == pytest.approx(expected, abs=1e-9)
    # The pi pulse before the idle window refocuses nothing: T2* again.
    lone = (Circuit(10, 1).rx(math.pi / 2, q).rx(math.pi, q).delay(wait, q).rx(math.pi / 2, q).measure(q, 0))
    expected = (1 - math.exp(-2 * d / target.t2[q] - wait / target.t2_ramsey[q])) * math.exp(-d / target.t1[q]) / 2
    assert p1(twin, lone) == pytest.approx(expected, abs=1e-9)


def test_the_execution_plan_schedules_verbatim_jobs_and_applies_decoupling() -> None:
    data = chip_data()
    data["qubits_info"]["Q0105"].update({"T1": 60.0, "T2echo": 40.0, "T2star": 10.0})
    twin = quiet_twin(data)
    q, wait = 3, 8000.0
    circuit = Circuit(10, 1).rx(math.pi / 2, q).delay(wait, q).rx(-math.pi / 2, q).measure(q, 0)
    plain = twin.plan([circuit], 100, PlanOptions(compile=False, seeds=(1,))).circuits[0]
    dd = twin.plan([circuit], 100, PlanOptions(compile=False, seeds=(1,), dynamical_decoupling="XY4")).circuits[0]
    assert plain.noise is not None and dd.noise is not None
    assert plain.noise.relaxation(0) == (twin.target.t1[q], twin.target.t2_ramsey[q])
    assert dd.noise.relaxation(0) == (twin.target.t1[q], twin.target.t2[q])
    assert [op.gate.name for op in dd.native.operations].count("ry") == 2  # XY4's two Y pulses
    compiled = twin.plan([Circuit(1, 1).h(0).delay(wait, 0).h(0).measure(0, 0)], 100,
                         PlanOptions(seeds=(1,), dynamical_decoupling="CPMG")).circuits[0]
    assert compiled.compiled is not None and compiled.compiled.dynamical_decoupling == "CPMG"
    with pytest.raises(CompileError):
        twin.plan([circuit], 100, PlanOptions(compile=False, dynamical_decoupling="UDD"))
