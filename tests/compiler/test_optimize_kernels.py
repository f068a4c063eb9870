"""The compiled optimisation kernels (issue 19) against the Python passes they replaced (the test oracle in
``reference_optimize``): on random gate lists, every pass gives the same operations, gate for gate (names and
qubits equal, each gate's matrix equal up to phase: an Euler split of a near-identity can differ in the last bits),
in every one-qubit basis. The kernels' own pieces are checked too: the IEEE remainder and the ZYZ synthesis."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xihe.circuit import Gate, Operation, gate_spec, unitary
from xihe.compiler.dag import DAGCircuit
from xihe.compiler.passes import optimize
from xihe.compiler.passes.optimize_kernel import G_RX, G_RY, G_RZ, G_U3, euler, gate_mat, remainder
from xihe.compiler.synthesis import euler_ops
from xihe.compiler.two_qubit import equal_up_to_phase

from . import reference_optimize as reference

ONE_QUBIT = ("rz", "rx", "ry", "h", "x", "s", "t", "sx", "u3", "z")
TWO_QUBIT = ("cz", "cx", "swap")
BASES = (frozenset({"rz", "ry"}), frozenset({"rz", "rx"}), frozenset({"u3"}), frozenset({"rz", "rx", "ry"}))
# Special angles make fusion and cancellation meet identities and pi rotations (the thresholds).
ANGLES = st.one_of(st.sampled_from([0.0, math.pi / 2, math.pi, -math.pi / 2, -math.pi, 2 * math.pi]),
                   st.floats(-7, 7, allow_nan=False))


@st.composite
def gate_lists(draw: st.DrawFn) -> DAGCircuit:
    num_qubits = draw(st.integers(2, 4))
    ops: list[Operation] = []
    for _ in range(draw(st.integers(0, 50))):
        what = draw(st.integers(0, 19))
        if what < 11:
            name = draw(st.sampled_from(ONE_QUBIT))
            spec = gate_spec(name)
            assert spec is not None
            params = tuple(draw(ANGLES) for _ in range(spec.num_params))
            condition = ("c", 1) if what == 10 else None
            ops.append(Operation(Gate(name, params), (draw(st.integers(0, num_qubits - 1)),), (), condition))
        elif what < 18:
            a, b = draw(st.lists(st.integers(0, num_qubits - 1), min_size=2, max_size=2, unique=True))
            ops.append(Operation(Gate(draw(st.sampled_from(TWO_QUBIT))), (a, b)))
        elif what == 18:
            ops.append(Operation(Gate("measure"), (draw(st.integers(0, num_qubits - 1)),), (0,)))
        else:
            ops.append(Operation(Gate("barrier", num_qubits=num_qubits), tuple(range(num_qubits))))
    return DAGCircuit(ops, num_qubits)


def _same(got: list[Operation], expected: list[Operation]) -> bool:
    if len(got) != len(expected):
        return False
    for a, b in zip(got, expected, strict=True):
        if (a.gate.name, a.qubits, a.clbits, a.condition) != (b.gate.name, b.qubits, b.clbits, b.condition):
            return False
        if a.gate.is_unitary and not equal_up_to_phase(unitary(a.gate), unitary(b.gate)):
            return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gate_lists(), st.sampled_from(BASES), st.sampled_from(["Fuse1q", "CommutativeCancellation",
                                                              "OptimizeLoop"]))
def test_kernel_pass_equals_the_python_reference(dag: DAGCircuit, basis: frozenset[str], name: str) -> None:
    got = getattr(optimize, name)(basis).run(dag, {}).ops
    expected = getattr(reference, name)(basis).run(dag, {}).ops
    assert _same(got, expected), (got, expected)


@given(st.floats(-1e3, 1e3, allow_nan=False), st.sampled_from([2 * math.pi, 1.0, 0.5]))
def test_remainder_is_ieee_remainder(x: float, y: float) -> None:
    assert remainder(x, y) == math.remainder(x, y)


def test_remainder_ties_go_to_the_even_quotient() -> None:
    for x in (math.pi, -math.pi, 3 * math.pi, 0.5, 1.5, -2.5):
        y = 2 * math.pi if abs(x) > 1 and x not in (1.5, -2.5) else 1.0
        assert remainder(x, y) == math.remainder(x, y)


@settings(max_examples=200, deadline=None)
@given(st.tuples(ANGLES, ANGLES, ANGLES), st.sampled_from(BASES))
def test_euler_kernel_equals_euler_ops(angles: tuple[float, float, float], basis: frozenset[str]) -> None:
    m = unitary(Gate("u3", angles))
    names = np.empty(3, dtype=np.int64)
    params = np.zeros((3, 3))
    count = euler(m, "rz" in basis, "rx" in basis, "ry" in basis, "u3" in basis, names, params)
    expected = euler_ops(m, basis)
    labels = {G_RZ: "rz", G_RX: "rx", G_RY: "ry", G_U3: "u3"}
    assert [labels[int(n)] for n in names[:count]] == [n for n, _ in expected]
    total = np.eye(2, dtype=complex)
    for k in range(count):
        piece = np.empty((2, 2), dtype=complex)
        gate_mat(int(names[k]), params[k, 0], params[k, 1], params[k, 2], piece)
        name = labels[int(names[k])]
        spec = gate_spec(name)
        assert spec is not None
        assert np.allclose(piece, unitary(Gate(name, tuple(params[k, :spec.num_params]))), atol=1e-12)
        total = piece @ total
    assert equal_up_to_phase(total, m)
