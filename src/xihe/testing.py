"""Consistency checks and seeded random circuits for tests, as Cirq's ``cirq.testing`` provides.

A new gate needs one test line, ``assert_gate_consistent(gate)``; an engine or compiler pass checks its output
with ``assert_circuits_equivalent(a, b)``; tests draw their inputs with ``random_circuit(n, depth, seed)``.
Only numpy is used (no engine), so these work at every layer.

>>> from xihe.circuit import Circuit, Gate
>>> assert_gate_consistent(Gate("rzz", (0.3,)))
>>> assert_circuits_equivalent(Circuit(2).cz(0, 1), Circuit(2).h(1).cx(0, 1).h(1))
>>> random_circuit(3, 4, seed=7) == random_circuit(3, 4, seed=7)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from xihe.circuit import Circuit, Gate, Operation, Parameter, gate_specs, inverse_operations, unitary
from xihe.circuit.parameter import ParameterExpression
from xihe.circuit.protocols import decompose

__all__ = ["assert_circuits_equivalent", "assert_gate_consistent", "circuit_unitary", "final_state",
           "outcome_probabilities", "random_circuit"]

# Largest circuit compared by its full unitary; beyond it, by the final state.
_MAX_UNITARY_QUBITS = 10
_MAX_QUBITS = 16


# --- applying operations with numpy ------------------------------------------------------------------------------
def _apply(tensor: np.ndarray, matrix: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
    """Apply ``matrix`` to axes ``qubits`` of a tensor whose first axes are qubits (qubit 0 first)."""
    k = len(qubits)
    gate = matrix.reshape((2,) * (2 * k))
    moved = np.tensordot(gate, tensor, axes=(list(range(k, 2 * k)), list(qubits)))
    return np.moveaxis(moved, list(range(k)), list(qubits))


def _unitary_operations(circuit: Circuit) -> list[Operation]:
    ops = []
    for op in circuit.operations:
        if op.gate.name in ("barrier", "delay"):
            continue
        if not op.gate.is_unitary or op.condition is not None:
            raise AssertionError(f"'{op.gate.name}' is not unitary; compare circuits without it")
        ops.append(op)
    return ops


def circuit_unitary(circuit: Circuit) -> np.ndarray:
    """The circuit's matrix (qubit 0 the most significant index bit); barriers and delays are identities."""
    n = circuit.num_qubits
    if n > _MAX_UNITARY_QUBITS:
        raise AssertionError(f"{n} qubits is too many for a unitary comparison (at most {_MAX_UNITARY_QUBITS})")
    tensor = np.eye(1 << n, dtype=complex).reshape((2,) * n + (1 << n,))
    for op in _unitary_operations(circuit):
        tensor = _apply(tensor, unitary(op.gate), op.qubits)
    return tensor.reshape(1 << n, 1 << n)


def final_state(circuit: Circuit, initial: np.ndarray | None = None) -> np.ndarray:
    """The state after the unitary part of the circuit, from ``|0...0>`` or ``initial``."""
    n = circuit.num_qubits
    if n > _MAX_QUBITS:
        raise AssertionError(f"{n} qubits is too many for a numpy reference state (at most {_MAX_QUBITS})")
    state = np.zeros(1 << n, dtype=complex) if initial is None else np.asarray(initial, dtype=complex).copy()
    if initial is None:
        state[0] = 1
    tensor = state.reshape((2,) * n)
    for op in _unitary_operations(circuit):
        tensor = _apply(tensor, unitary(op.gate), op.qubits)
    return tensor.reshape(-1)


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    index = np.unravel_index(np.argmax(np.abs(a)), a.shape)
    if abs(a[index]) < atol:
        return bool(np.allclose(b, 0, atol=atol))
    phase = b[index] / a[index]
    return bool(abs(abs(phase) - 1) < 1e-6 and np.allclose(a * phase, b, atol=atol))


# --- public checks -----------------------------------------------------------------------------------------------
def assert_circuits_equivalent(a: Circuit, b: Circuit, up_to_phase: bool = True, atol: float = 1e-8) -> None:
    """Raise ``AssertionError`` unless ``a`` and ``b`` act the same.

    Unitary circuits (barriers and delays allowed) of up to 10 qubits are compared by their matrices; wider ones
    (up to 16) by their action on ``|0...0>`` and on two seeded random states. Circuits that end with
    measurements are compared by their exact distribution of classical outcomes (``up_to_phase`` is then moot).
    """
    if a.num_qubits != b.num_qubits:
        raise AssertionError(f"the circuits have {a.num_qubits} and {b.num_qubits} qubits")
    if _has_measurements(a) or _has_measurements(b):
        pa, pb = outcome_probabilities(a), outcome_probabilities(b)
        if pa.shape != pb.shape or not np.allclose(pa, pb, atol=atol):
            raise AssertionError(f"the outcome distributions differ:\n{pa}\n{pb}")
        return
    if a.num_qubits <= _MAX_UNITARY_QUBITS:
        ua, ub = circuit_unitary(a), circuit_unitary(b)
        same = _equal_up_to_phase(ua, ub, atol) if up_to_phase else bool(np.allclose(ua, ub, atol=atol))
        if not same:
            worst = float(np.max(np.abs(ua - ub)))
            raise AssertionError(f"the unitaries differ (largest entry difference {worst:.3g}; "
                                 f"up_to_phase={up_to_phase})")
        return
    rng = np.random.default_rng(1234)
    n = a.num_qubits
    states = [None] + [_random_state(rng, n) for _ in range(2)]
    for initial in states:
        sa, sb = final_state(a, initial), final_state(b, initial)
        same = _equal_up_to_phase(sa, sb, atol) if up_to_phase else bool(np.allclose(sa, sb, atol=atol))
        if not same:
            raise AssertionError("the circuits map a test state to different states")


def _random_state(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=1 << n) + 1j * rng.normal(size=1 << n)
    return v / np.linalg.norm(v)


def _has_measurements(circuit: Circuit) -> bool:
    return any(op.gate.name == "measure" for op in circuit.operations)


def outcome_probabilities(circuit: Circuit) -> np.ndarray:
    """Exact probabilities of the classical outcomes (index: c[0] the most significant bit) of a circuit whose
    measurements are terminal (no gate, reset or condition acts on a qubit after it is measured)."""
    clbit_source: dict[int, int] = {}  # clbit -> the qubit last measured into it
    measured: set[int] = set()
    unitary_part = circuit.copy_empty()
    for op in circuit.operations:
        name = op.gate.name
        if name == "measure":
            clbit_source[op.clbits[0]] = op.qubits[0]
            measured.add(op.qubits[0])
        elif name == "barrier":
            continue
        elif op.condition is not None or (not op.gate.is_unitary and name != "delay"):
            raise AssertionError(f"'{name}' (or a condition) is beyond the numpy reference; only terminal "
                                 "measurements are supported")
        elif any(q in measured for q in op.qubits):
            raise AssertionError("a gate acts on a qubit after it is measured; only terminal measurements are "
                                 "supported")
        else:
            unitary_part.operations.append(op)
    n, m = circuit.num_qubits, circuit.num_clbits
    probs = np.abs(final_state(unitary_part)) ** 2
    basis = np.arange(1 << n)
    outcome = np.zeros(1 << n, dtype=np.int64)
    for clbit, qubit in clbit_source.items():
        outcome |= ((basis >> (n - 1 - qubit)) & 1) << (m - 1 - clbit)
    return np.bincount(outcome, weights=probs, minlength=1 << m)


def assert_gate_consistent(gate: Gate, atol: float = 1e-9) -> None:
    """Check a gate's matrix is unitary, equals its decomposition up to phase, is undone by its inverse, survives
    a QASM round trip, and has a repr that names it (and rebuilds it, for table gates with plain parameters)."""
    from xihe import qasm
    from xihe.circuit.gate import NON_UNITARY

    if gate.name in NON_UNITARY:
        raise AssertionError(f"'{gate.name}' is an instruction, not a gate")
    n = gate.num_qubits
    m = unitary(gate)
    if m.shape != (1 << n, 1 << n):
        raise AssertionError(f"{gate!r}: matrix shape {m.shape} for {n} qubit(s)")
    if not np.allclose(m @ m.conj().T, np.eye(1 << n), atol=atol):
        raise AssertionError(f"{gate!r}: matrix is not unitary")
    op = Operation(gate, tuple(range(n)))
    parts = decompose(op)
    if parts is not None:
        from_parts = _ops_unitary(parts, n)
        if not _equal_up_to_phase(m, from_parts, 1e-7):
            raise AssertionError(f"{gate!r}: decomposition does not match the matrix")
    inverse = _ops_unitary(inverse_operations(op), n)
    if not np.allclose(inverse @ m, np.eye(1 << n), atol=1e-7):
        raise AssertionError(f"{gate!r}: inverse does not undo the gate")
    circuit = Circuit(n).gate(gate, *range(n))
    again = qasm.loads(qasm.dumps(circuit))
    if again != circuit:
        raise AssertionError(f"{gate!r}: QASM round trip gives {again.operations[0]!r}")
    text = repr(gate)
    if gate.name not in text:
        raise AssertionError(f"repr {text!r} does not name the gate")
    plain = all(isinstance(p, float | int | Parameter) for p in gate.params)
    if gate.definition is None and plain:
        rebuilt = eval(text, {"Gate": Gate, "Parameter": Parameter})
        if rebuilt != gate:
            raise AssertionError(f"repr {text!r} rebuilds {rebuilt!r}, not the gate")


def _ops_unitary(ops: list[Operation], n: int) -> np.ndarray:
    c = Circuit(n)
    c.operations = list(ops)
    return circuit_unitary(c)


# --- random circuits ---------------------------------------------------------------------------------------------
def random_circuit(
    num_qubits: int,
    depth: int,
    seed: int,
    *,
    gates: Sequence[str] | None = None,
    max_arity: int = 3,
    clifford: bool = False,
    measure: bool = False,
    parameters: Sequence[str] = (),
    conditional: bool = False,
) -> Circuit:
    """A seeded random circuit of ``depth`` layers, each filling the qubits with randomly chosen gates.

    ``gates`` limits the gate names (default: every table gate of arity <= ``max_arity``, variable-arity
    ``mcx``/``mcy``/``mcz``/``mcp`` included; ``clifford=True`` keeps only Clifford gates). Angles are uniform in
    [-2π, 2π); with ``parameters`` (names), about a third of them are expressions of those parameters. ``measure``
    adds a register ``c`` and measures every qubit at the end; ``conditional`` (needs ``measure``) also measures
    qubit 0 into ``c[0]`` mid-way and conditions some later gates on ``c``. Same arguments, same circuit.
    """
    if num_qubits < 1:
        raise ValueError("random_circuit needs at least one qubit")
    rng = np.random.default_rng(seed)
    names = _gate_pool(gates, max_arity, clifford, num_qubits)
    specs = gate_specs()
    circuit = Circuit(num_qubits, num_qubits if measure else 0)
    symbols = [Parameter(p) for p in parameters]
    for layer in range(depth):
        free = [int(q) for q in rng.permutation(num_qubits)]
        while free:
            fitting = [g for g in names if (specs[g].num_qubits or 1) <= len(free)]
            name = fitting[int(rng.integers(len(fitting)))]
            spec = specs[name]
            arity = spec.num_qubits or int(rng.integers(1, min(len(free), max_arity) + 1))
            qubits, free = free[:arity], free[arity:]
            params = [_angle(rng, symbols) for _ in range(spec.num_params)]
            condition = None
            if conditional and measure and layer > depth // 2 and rng.random() < 0.2:
                condition = ("c", int(rng.integers(1 << min(num_qubits, 8))))
            circuit.append(Gate(name, params, num_qubits=arity), qubits, condition=condition)
        if conditional and measure and layer == depth // 2:
            circuit.measure(0, 0)
    if measure:
        circuit.measure(list(range(num_qubits)), list(range(num_qubits)))
    return circuit


def _angle(rng: np.random.Generator, symbols: list[Parameter]) -> float | ParameterExpression:
    value = float(rng.uniform(-2 * math.pi, 2 * math.pi))
    if symbols and rng.random() < 1 / 3:
        symbol = symbols[int(rng.integers(len(symbols)))]
        return symbol * round(value, 3) + round(float(rng.uniform(-1, 1)), 3)  # type: ignore[return-value]
    return value


def _gate_pool(gates: Sequence[str] | None, max_arity: int, clifford: bool, num_qubits: int) -> list[str]:
    specs = gate_specs()
    if gates is None:
        pool = [name for name, spec in specs.items() if (spec.num_qubits or 1) <= max_arity]
    else:
        unknown = [g for g in gates if g not in specs]
        if unknown:
            raise ValueError(f"unknown gate(s) {unknown}")
        pool = list(gates)
    if clifford:
        pool = [g for g in pool if specs[g].clifford]
    pool = sorted(g for g in pool if (specs[g].num_qubits or 1) <= num_qubits)
    if not pool:
        raise ValueError("no gate fits these options")
    return pool
