"""pyquafu 0.4.5 has no if/else blocks: a task that ran one is answered with no circuit text (issue 15), not with a
line pyquafu cannot parse, while its measured bits and an OpenQASM 2 task's text are as before."""

from __future__ import annotations

import pytest

from xihe import qasm
from xihe.circuit import Circuit
from xihe.errors import CircuitError
from xihe.service.quafu_legacy import pyquafu_qasm, pyquafu_task_qasm


def dynamic() -> Circuit:
    qc = Circuit(2, 2)
    qc.h(0).measure(0, 0)
    with qc.if_test((0, 1)):
        qc.x(1)
    qc.measure(1, 1)
    return qc


def test_a_circuit_with_blocks_is_not_written_for_pyquafu() -> None:
    with pytest.raises(CircuitError, match="no if/else blocks"):
        pyquafu_qasm(dynamic())
    text = qasm.dumps(dynamic())
    assert pyquafu_task_qasm(text, text) == ("", [])


def test_a_static_circuit_is_still_written() -> None:
    text = qasm.dumps(Circuit(2, 2).h(0).cx(0, 1).measure([0, 1], [0, 1]))
    written, measured = pyquafu_task_qasm(text, text)
    assert "cx q[0],q[1];" in written and measured == [0, 1]
