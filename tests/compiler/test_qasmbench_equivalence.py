"""Every unitary QASMBench circuit compiles to an equivalent native circuit (up to layouts) on the chips.

The default run takes a representative subset (every family, the biggest circuits left out to keep the suite
fast); ``python -m tests.compiler.test_qasmbench_equivalence`` checks all of them (<= 9 qubits on line10, <= 16 on
dongling and grid36) and prints one line per circuit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.compiler.helpers import is_unitary_circuit, layout_fidelity
from tests.paths import QASMBENCH
from xihe import devices, qasm
from xihe.circuit import Circuit
from xihe.compiler import check_native

LIMITS = {"line10": 9, "dongling": 16, "grid36": 16}
DEFAULT = {
    "line10": ["adder_n4", "basis_change_n3", "bell_n4", "dnn_n8", "error_correctiond3_n5", "fredkin_n3", "hhl_n7",
               "hs4_n4", "qaoa_n6", "qft_n4", "qpe_n9", "sat_n7", "simon_n6", "toffoli_n3", "vqe_uccsd_n4",
               "wstate_n3"],
    "dongling": ["adder_n10", "bv_n14", "ising_n10", "multiply_n13", "pea_n5", "qaoa_n6", "qf21_n15", "sat_n11",
                 "vqe_uccsd_n6"],
    "grid36": ["adder_n10", "bv_n14", "dnn_n8", "ising_n10", "multiply_n13", "qpe_n9", "sat_n11", "vqe_uccsd_n4"],
}


def _repair(text: str) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from _qasmbench import repair

    return str(repair(text))


def load(name: str) -> Circuit:
    path = next(QASMBENCH.glob(f"*/{name}/{name}.qasm"))
    return qasm.loads(_repair(path.read_text()))


def unitary_circuits(limit: int) -> list[str]:
    names = []
    for path in sorted(QASMBENCH.glob("*/*/*.qasm")):
        if path.stem != path.parent.name:
            continue
        try:
            circuit = qasm.loads(_repair(path.read_text()))
        except Exception:
            continue
        if circuit.num_qubits <= limit and is_unitary_circuit(circuit):
            names.append(path.stem)
    return names


def check(device_name: str, name: str, level: int = 3, seed: int = 5) -> float:
    device = devices.get(device_name)
    circuit = load(name)
    assert is_unitary_circuit(circuit), f"{name} is not a unitary circuit"
    compiled = device.compile(circuit, optimization_level=level, seed=seed)
    check_native(compiled.circuit, device.target)
    assert set(compiled.initial_layout) <= set(device.working_qubits)
    return layout_fidelity(circuit, compiled.circuit, compiled.initial_layout, compiled.final_layout)


@pytest.mark.parametrize(("device_name", "name"), [(d, n) for d, names in DEFAULT.items() for n in names])
def test_qasmbench_circuit_compiles_to_an_equivalent_native_circuit(device_name: str, name: str) -> None:
    assert check(device_name, name) >= 1 - 1e-9


def main() -> None:
    failures = 0
    for device_name, limit in LIMITS.items():
        for name in unitary_circuits(limit):
            started = time.perf_counter()
            fidelity = check(device_name, name)
            ok = fidelity >= 1 - 1e-9
            failures += not ok
            print(f"{device_name:9} {name:24} fidelity {fidelity:.12f} {'ok' if ok else 'FAIL'} "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)
    print(f"failures: {failures}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
