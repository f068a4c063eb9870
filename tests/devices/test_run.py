import pytest

import xihe
from xihe import devices
from xihe.circuit import Circuit
from xihe.devices.driver import Driver, EmulatorDriver
from xihe.errors import ResourceError, ValidationError


def _ghz(n: int) -> Circuit:
    qc = Circuit(n, n).h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    return qc.measure(list(range(n)), list(range(n)))


def test_twin_run_simulates_only_touched_qubits_and_keeps_clbits() -> None:
    d = devices.get("dongling")
    compiled = d.compile(_ghz(3), seed=3)
    result = d.run(compiled.circuit, 500, seed=1, compiled=compiled)
    assert result.metadata["num_qubits"] == 3
    assert result.metadata["physical_qubits"] == sorted(compiled.initial_layout)
    assert result.metadata["initial_layout"] == compiled.initial_layout
    assert all(len(k) == 3 for k in result.counts) and sum(result.counts.values()) == 500
    assert result.counts.get("000", 0) + result.counts.get("111", 0) > 350


def test_same_seed_same_counts() -> None:
    d = devices.get("line10")
    native = d.compile(_ghz(4), seed=2).circuit
    assert d.run(native, 300, seed=5).counts == d.run(native, 300, seed=5).counts


def test_twin_refuses_a_non_native_circuit() -> None:
    uncoupled = Circuit(3, 3).h(0).cx(0, 2).measure([0, 2], [0, 2])
    with pytest.raises(ValidationError, match=r"cx.* on qubits \(0, 2\): no working coupler"):
        devices.get("line10").run(uncoupled, 10)


def test_wide_clifford_circuit_goes_to_the_stabilizer_engine() -> None:
    d = devices.get("dongling")
    compiled = d.compile(_ghz(40), optimization_level=1, seed=1)
    result = d.run(compiled.circuit, 200, seed=1)
    assert result.metadata["engine"] == "stabilizer"
    assert sum(result.counts.values()) == 200


def test_wide_entangled_non_clifford_circuit_is_a_clear_error() -> None:
    """A 30-qubit brickwork of CXs and T gates, 24 layers deep: each cut carries up to 12 entangling gates, too
    much for a small MPS, no stabilizer, no state vector. (A 40-qubit GHZ with a T gate now runs, as an MPS:
    tests/engines/test_entanglement.py.)"""
    d = devices.get("dongling")
    qc = Circuit(30, 30)
    for q in range(30):
        qc.h(q)
    for layer in range(24):
        for q in range(30):
            qc.t(q)
        for q in range(layer % 2, 29, 2):
            qc.cx(q, q + 1)
    qc.measure(list(range(30)), list(range(30)))
    compiled = d.compile(qc, optimization_level=1, seed=1)
    with pytest.raises(ResourceError):
        d.run(compiled.circuit, 10, seed=1)


def test_simulator_runs_any_circuit() -> None:
    result = devices.get("sim").run(Circuit(3, 3).h(0).cx(0, 1).ccx(0, 1, 2).measure([0, 1, 2], [0, 1, 2]), 100, seed=1)
    assert set(result.counts) <= {"000", "111"}


def test_clifford_simulator_runs_wide_clifford_circuits() -> None:
    result = devices.get("sim-clifford").run(_ghz(200), 50, seed=1)
    assert set(result.counts) <= {"0" * 200, "1" * 200}


def test_emulator_driver_runs_native_circuits() -> None:
    d = devices.get("line10")
    driver = EmulatorDriver(d)
    assert isinstance(driver, Driver)
    counts = driver.run(d.compile(_ghz(2), seed=1).circuit, 100, seed=1)
    assert sum(counts.values()) == 100
    assert driver.calibration().id == d.calibration.id


def test_xihe_compile_reports_stats() -> None:
    compiled = xihe.compile(_ghz(5), "dongling", optimization_level=3, seed=1)
    assert compiled.two_qubit_count == 4
    assert 0 < compiled.estimated_success_probability < 1
    assert compiled.duration_ns > 0 and compiled.depth >= 6
    assert len(compiled.initial_layout) == len(compiled.final_layout) == 5


def test_conditions_and_resets_pass_through_on_mapped_qubits() -> None:
    # Prepare |1>, measure it, reset, then flip a third qubit only if the measurement read 1.
    from xihe.circuit import ClassicalRegister, QuantumRegister

    qc = Circuit(QuantumRegister("q", 3), ClassicalRegister("m", 1), ClassicalRegister("out", 2))
    qc.x(0).cx(0, 1).measure(0, 0).reset(0)
    with qc.conditioned("m", 1):
        qc.x(2)
    qc.measure([1, 2], [1, 2])
    for name in ("line10", "dongling"):
        d = devices.get(name)
        compiled = d.compile(qc, optimization_level=3, seed=4)
        d.validate(compiled.circuit, verbatim=True)
        names = {op.gate.name for op in compiled.circuit}
        assert "reset" in names and any(op.condition == ("m", 1) for op in compiled.circuit)
        counts = d.run(compiled.circuit, 400, seed=3).counts
        assert max(counts, key=counts.__getitem__) == "111"
