"""The plan counts a dynamic circuit's outcome-tree splits without lowering it to gate matrices (issue 18: the
lowering of a long circuit took seconds of an API submit, stalling every answer of the process, ``/health`` too).
The count must be exactly what the engine's lowering keeps in its body: checked against ``lower`` on seeded random
circuits with mid-circuit measurements, resets, conditions and barriers."""

from __future__ import annotations

import random

from xihe import qasm
from xihe.devices.plan import _body_splits, branch_bytes
from xihe.engines.program import lower

H = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'


def random_program(rng: random.Random) -> str:
    n = rng.randint(1, 5)
    lines = [H, f"qreg q[{n}];\ncreg c[{n}];\n"]
    for _ in range(rng.randint(1, 25)):
        kind, a, b = rng.random(), rng.randrange(n), rng.randrange(n)
        if kind < 0.3:
            lines.append(f"measure q[{a}] -> c[{rng.randrange(n)}];\n")
        elif kind < 0.38:
            lines.append(f"reset q[{a}];\n")
        elif kind < 0.45:
            lines.append(f"if(c=={rng.randrange(1 << n)}) x q[{a}];\n")
        elif kind < 0.5:
            lines.append("barrier q;\n")
        elif kind < 0.75 or a == b:
            lines.append(f"h q[{a}];\n")
        else:
            lines.append(f"cx q[{a}],q[{b}];\n")
    return "".join(lines)


def test_splits_match_the_lowered_body_on_random_circuits() -> None:
    rng = random.Random(18)
    for _ in range(400):
        program = random_program(rng)
        circuit = qasm.loads(program)
        expected = sum(1 for ins in lower(circuit).body if ins.kind in ("measure", "reset"))
        assert _body_splits(circuit) == expected, program


def test_terminal_measurements_cost_nothing_and_mid_circuit_ones_are_priced() -> None:
    terminal = qasm.loads(H + "qreg q[3];\ncreg c[3];\nh q;\ncx q[0],q[1];\nmeasure q -> c;\n")
    assert _body_splits(terminal) == 0 and branch_bytes(terminal, 1000) == 0
    mid = qasm.loads(H + "qreg q[3];\ncreg c[3];\nh q;\nmeasure q[0] -> c[0];\ncx q[0],q[1];\nmeasure q -> c;\n")
    assert _body_splits(mid) == 1 and branch_bytes(mid, 1000) > 0
