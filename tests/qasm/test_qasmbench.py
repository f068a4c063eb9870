"""Every QASMBench program (small, medium, large) reads, and writing it out reads back to an equal circuit.

Seven files of the collection are not valid OpenQASM 2 (Qiskit's reader refuses them too): six ``vqe_uccsd``
files measure into registers ``q`` and ``c`` they never declare, and the 1000-qubit QAOA file applies ``cx`` to
one qubit twice. For those the test pins the exact error the user sees instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.paths import QASMBENCH
from xihe import qasm
from xihe.qasm import QasmError

FILES = sorted(QASMBENCH.rglob("*.qasm"))
INVALID = {
    "large/QAOA_3SAT_N1000_p1/random_QAOA_angles_k3_N1000_p1.qasm":
        (1400, 1, "'cx' is applied to qubit qr[325] more than once"),
    "small/vqe_uccsd_n4/vqe_uccsd_n4.qasm": (225, 9, "undefined quantum register 'q'"),
    "small/vqe_uccsd_n4/vqe_uccsd_n4_transpiled.qasm": (242, 9, "undefined quantum register 'q'"),
    "small/vqe_uccsd_n6/vqe_uccsd_n6.qasm": (2286, 9, "undefined quantum register 'q'"),
    "small/vqe_uccsd_n6/vqe_uccsd_n6_transpiled.qasm": (2128, 9, "undefined quantum register 'q'"),
    "small/vqe_uccsd_n8/vqe_uccsd_n8.qasm": (10813, 9, "undefined quantum register 'q'"),
    "small/vqe_uccsd_n8/vqe_uccsd_n8_transpiled.qasm": (9680, 9, "undefined quantum register 'q'"),
}
_GATE_DEFINITION = re.compile(r"^\s*gate\s+([A-Za-z_]\w*)", re.MULTILINE)


def _name(path: Path) -> str:
    return path.relative_to(QASMBENCH).as_posix()


def test_the_whole_collection_is_found() -> None:
    assert len(FILES) == 227
    assert {p.relative_to(QASMBENCH).parts[0] for p in FILES} == {"small", "medium", "large"}


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_qasmbench_file_reads_and_round_trips(path: Path) -> None:
    name = _name(path)
    if name in INVALID:
        with pytest.raises(QasmError) as info:
            qasm.load(path)
        assert (info.value.line, info.value.column, info.value.message) == INVALID[name]
        return
    circuit = qasm.load(path)
    assert len(circuit) > 0
    text = qasm.dumps(circuit)
    again = qasm.loads(text)
    assert again == circuit
    # Custom gates stay named definitions, in the circuit and in the text written.
    defined = set(_GATE_DEFINITION.findall(path.read_text()))
    used = {op.name for op in circuit if op.gate.definition is not None}
    assert used <= defined
    for op in circuit:
        if op.name in defined:
            assert op.gate.definition is not None, f"{op.name} lost its definition"
    for gate_name in used:
        assert re.search(rf"^gate {gate_name}\b", text, re.MULTILINE)
