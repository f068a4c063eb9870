import pytest

from xihe import devices
from xihe.circuit import Circuit
from xihe.compiler import Target
from xihe.devices.connectivity import max_connected_qubits
from xihe.errors import ValidationError


def test_too_wide_circuit_is_refused_with_the_numbers() -> None:
    with pytest.raises(ValidationError, match="11 qubits; backend line10 can use at most 9 together"):
        devices.get("line10").validate(Circuit(11))


def test_circuit_wider_than_the_largest_connected_group_is_refused() -> None:
    # line10: all 10 qubits work, but one has no working coupler, so only 9 can be used together.
    line10 = devices.get("line10")
    assert len(line10.working_qubits) == 10 and line10.max_connected_qubits == 9
    ghz = Circuit(10, 10).h(0)
    for q in range(9):
        ghz.cx(q, q + 1)
    with pytest.raises(ValidationError, match="10 qubits; backend line10 can use at most 9 together"):
        line10.validate(ghz.measure(list(range(10)), list(range(10))))
    line10.validate(Circuit(10, 1).x(0).measure(0, 0))  # declares 10, uses 1: it compiles and runs
    line10.validate(Circuit(9, 1).x(0).measure(0, 0))
    line10.validate(Circuit(10, 1).rx(3.14, 0).measure(0, 0), verbatim=True)  # physical qubits, as written


def test_max_connected_qubits_of_every_shipped_backend() -> None:
    assert {name: devices.get(name).max_connected_qubits for name in ("sim", "line10", "dongling", "grid36")} == {
        "sim": 34, "line10": 9, "dongling": 106, "grid36": 36}
    assert max_connected_qubits(Target.from_edges(6, [(0, 1), (1, 2), (3, 4)])) == 3


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
    device = devices.get("dongling")
    dead = device.target.labels.index("Q0101")
    qc = Circuit(dead + 1, 1).rx(0.1, dead).measure(dead, 0)
    with pytest.raises(ValidationError, match=rf"qubit\(s\) \[{dead}\] are not working"):
        device.validate(qc, verbatim=True)


def test_verbatim_native_circuit_passes() -> None:
    qc = Circuit(4, 2).rx(0.3, 2).ry(0.2, 3).cz(2, 3).cz(3, 2).measure([2, 3], [0, 1])
    devices.get("dongling").validate(qc, verbatim=True)


def test_compiled_mode_accepts_any_known_gate() -> None:
    devices.get("line10").validate(Circuit(3).ccx(0, 1, 2), verbatim=False)


def test_clifford_simulator_refuses_t_gates() -> None:
    with pytest.raises(ValidationError, match="gate 't' on qubits \\(0,\\) is not Clifford"):
        devices.get("sim-clifford").validate(Circuit(1).h(0).t(0))



def test_declared_but_idle_qubits_do_not_count_against_the_connected_group() -> None:
    """A circuit declared on all of line10's 10 qubits (as Qiskit's transpile writes it) that uses 3 compiles and
    runs; only the qubits it acts on must fit the 9 connected ones."""
    line10 = devices.get("line10")
    qc = Circuit(10, 3)
    qc.x(0).cx(0, 1).x(2).measure([0, 1, 2], [0, 1, 2])
    line10.validate(qc)
    compiled = line10.compile(qc, seed=3)
    assert len(set(compiled.initial_layout)) == 10
    counts = line10.run(None, shots=400, seed=3, compiled=compiled).counts
    assert max(counts, key=counts.__getitem__) == "111"
    busy = Circuit(10, 10)
    for q in range(10):
        busy.x(q)
    busy.measure(list(range(10)), list(range(10)))
    with pytest.raises(ValidationError, match="uses 10 of its 10 qubits"):
        line10.validate(busy)
