"""Mutated programs either read (and then round-trip) or raise QasmError: never another exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xihe import qasm

BASE = """OPENQASM 2.0;
include "qelib1.inc";
gate foo(a,b) x,y { rz(a*2-b) x; CX x,y; barrier x,y; }
qreg q[3];
creg c[3];
h q[0]; cx q[0],q[1]; rz(pi/2) q[2]; U(1,2,3) q[0];
foo(0.1, theta) q[1],q[2];
measure q -> c;
if(c==3) x q;
barrier q;
delay(1.5us) q[0];
mcx q[0],q[1],q[2];
reset q[1];
u3(sin(0.1)^2, -ln(2), sqrt(3)/2) q[1];
"""
PIECES = [*"();,{}[]->=qcxh0123456789.e+-*/^ \n\"/", "gate", "if", "measure", "pi", "//", "opaque", "include",
          "qreg", "creg", "U", "CX", "mcx", "delay", "ns", "\x00", "é"]

EDITS = st.lists(
    st.tuples(st.sampled_from(("delete", "insert", "replace")), st.integers(0, len(BASE)), st.sampled_from(PIECES)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=400, deadline=None)
@given(EDITS)
def test_mutated_program_reads_or_raises_qasm_error(edits: list[tuple[str, int, str]]) -> None:
    chars = list(BASE)
    for kind, position, piece in edits:
        at = min(position, len(chars) - 1)
        if kind == "delete":
            del chars[at]
        elif kind == "insert":
            chars.insert(at, piece)
        else:
            chars[at] = piece
    text = "".join(chars)
    try:
        circuit = qasm.loads(text)
    except qasm.QasmError as error:
        assert error.line >= 1 and error.column >= 1 and error.message
        return
    assert qasm.loads(qasm.dumps(circuit)) == circuit
