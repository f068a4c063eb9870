import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.errors import ValidationError


def test_too_wide_circuit_is_refused_with_the_numbers() -> None:
    with pytest.raises(ValidationError, match="11 qubits; backend line10 has working 10"):
        devices.get("line10").validate(Circuit(11))


def test_verbatim_non_native_gate_is_named() -> None:
    qc = Circuit(3).h(1).cz(1, 2)
    with pytest.raises(ValidationError, match="gate 'cz' on qubits \\(1, 2\\) is not native"):
        devices.get("line10").validate(qc, verbatim=True)


def test_verbatim_uncoupled_pair_is_named() -> None:
    qc = Circuit(10).cx(2, 1)  # reversed direction on the directed CX chain
    with pytest.raises(ValidationError, match="'cx' on qubits \\(2, 1\\)"):
        devices.get("line10").validate(qc, verbatim=True)
    with pytest.raises(ValidationError, match="'cx' on qubits \\(1, 3\\)"):
        devices.get("line10").validate(Circuit(10).cx(1, 3), verbatim=True)


def test_verbatim_dead_qubit_is_named() -> None:
    qc = Circuit(2, 1).rx(0.1, 0).measure(0, 0)
    with pytest.raises(ValidationError, match="qubit\\(s\\) \\[0\\] are not working"):
        devices.get("dongling").validate(qc, verbatim=True)


def test_verbatim_native_circuit_passes() -> None:
    qc = Circuit(4, 2).rx(0.3, 2).ry(0.2, 3).cz(2, 3).cz(3, 2).measure([2, 3], [0, 1])
    devices.get("dongling").validate(qc, verbatim=True)


def test_compiled_mode_accepts_any_known_gate() -> None:
    devices.get("line10").validate(Circuit(3).ccx(0, 1, 2), verbatim=False)


def test_clifford_simulator_refuses_t_gates() -> None:
    with pytest.raises(ValidationError, match="gate 't' on qubits \\(0,\\) is not Clifford"):
        devices.get("sim-clifford").validate(Circuit(1).h(0).t(0))

