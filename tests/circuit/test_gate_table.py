"""Table-wide properties: every gate is unitary, matches its decomposition, its inverse undoes it, it survives a
QASM round trip, and its repr rebuilds it — all through ``xihe.testing.assert_gate_consistent``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xihe.circuit import Gate, gate_specs, unitary
from xihe.testing import assert_gate_consistent

SPECS = gate_specs()
ANGLES = st.floats(min_value=-2 * np.pi, max_value=2 * np.pi, allow_nan=False)


def _gate(name: str, params: list[float], arity: int) -> Gate:
    spec = SPECS[name]
    return Gate(name, params[: spec.num_params], num_qubits=arity if spec.num_qubits is None else None)


def _arities(name: str) -> list[int]:
    n = SPECS[name].num_qubits
    return [n] if n is not None else [1, 2, 3, 4, 5]


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=15, deadline=None)
@given(params=st.lists(ANGLES, min_size=4, max_size=4))
def test_gate_is_unitary_matches_decomposition_and_inverts(name: str, params: list[float]) -> None:
    for n in _arities(name):
        gate = _gate(name, params, n)
        assert unitary(gate).shape == (1 << n, 1 << n)
        assert_gate_consistent(gate)


def test_user_defined_gate_is_checked_the_same_way() -> None:
    from xihe.circuit import GateDefinition, Operation, Parameter

    t = Parameter("t")
    body = (Operation(Gate("h"), (0,)), Operation(Gate("cx"), (0, 1)), Operation(Gate("rz", (t / 2,)), (1,)))
    assert_gate_consistent(GateDefinition("bell", ("t",), 2, body).gate([0.7]))
