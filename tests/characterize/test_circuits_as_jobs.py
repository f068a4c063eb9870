"""Experiment circuits in a twin's native gates survive OpenQASM 2 (the form the service queues) and validate."""

from __future__ import annotations

import pytest

from xihe import devices, qasm
from xihe.characterize import T1, InterleavedRB, NativeGates, RandomizedBenchmarking, ReadoutFidelity, T2Echo, T2Ramsey
from xihe.characterize.experiment import Experiment
from xihe.characterize.ghz import GHZFidelity
from xihe.characterize.xeb import XEB


def _experiments(chain: list[int], gate: str, width: int) -> list[Experiment]:
    a, b = chain[:2]
    scan = [0, 100, 200, 300, 400]
    return [
        ReadoutFidelity(chain, num_qubits=width),
        T1([a, b], delays_ns=scan, num_qubits=width),
        T2Ramsey([a], delays_ns=scan, num_qubits=width),
        T2Echo([a], delays_ns=scan, num_qubits=width),
        RandomizedBenchmarking([a, b], lengths=[1, 2, 3, 4], samples=1, num_qubits=width, seed=1),
        RandomizedBenchmarking([b, a], lengths=[1, 2, 3, 4], group_size=2, samples=1, num_qubits=width, seed=1),
        InterleavedRB([a, b], gate=gate, lengths=[1, 2, 3, 4], samples=1, num_qubits=width, seed=1),
        XEB([a, b], depths=[1, 2, 3], circuits_per_depth=1, two_qubit_gate=gate, num_qubits=width, seed=1),
        GHZFidelity(chain, num_qubits=width),
    ]


@pytest.mark.parametrize(("backend", "chain", "gate"), [("line10", [1, 2, 3], "cx"), ("dongling", [2, 3, 4], "cz")])
def test_native_circuits_round_trip_through_qasm_and_pass_verbatim_validation(backend: str, chain: list[int],
                                                                              gate: str) -> None:
    device = devices.get(backend)
    native = NativeGates.from_device(device)
    for exp in _experiments(chain, gate, device.num_qubits):
        for circuit in exp.circuits():
            run_form = native(circuit)
            assert qasm.loads(qasm.dumps(run_form)) == run_form
            device.validate(run_form, verbatim=True)
