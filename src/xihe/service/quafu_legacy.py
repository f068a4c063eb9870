"""What the legacy Quafu protocol returns, in the forms pyquafu 0.4.5's own result code reads.

pyquafu builds its ``ExecResult`` from three fields of a task, and each needs a form Xihe's native API does not use:

- ``openqasm`` goes through pyquafu's ply parser, which knows fewer gates and less syntax than OpenQASM 2:
  :func:`pyquafu_qasm` writes a circuit in that dialect (``delay(55) q[1];`` in whole ns; floats always with a
  decimal point, ``2.0e-05``; gates pyquafu lacks, such as ``sydg`` or ``iswap``, decomposed into ones it has).
- pyquafu numbers result bits by the order of the ``measure`` lines of ``openqasm`` (``ExecResult.logicalq_res``,
  then ``Task.submit``'s observables), so the lines must come in the user's order, whatever order the compiler
  left them in.
- ``res`` keys hold the measured classical bits only, lowest bit leftmost (:func:`pyquafu_counts`), as pyquafu's
  ``simulate`` and the Quafu server key them; Xihe's native keys hold every classical bit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from xihe import qasm
from xihe.circuit.circuit import Circuit
from xihe.circuit.control import has_control_flow
from xihe.circuit.gate import Operation
from xihe.circuit.parameter import ParameterExpression, ParamValue
from xihe.circuit.protocols import decompose_to
from xihe.errors import CircuitError
from xihe.service.catalog import DeviceCatalog
from xihe.service.settings import Settings

# Gates pyquafu 0.4.5's QASM parser reads: its gate classes plus the definitions of its bundled qelib1.inc.
PYQUAFU_GATES = frozenset({
    "id", "h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg", "sy", "w", "sw", "rx", "ry", "rz", "p",
    "u", "u1", "u2", "u3", "cx", "cy", "cz", "ch", "cp", "cs", "ct", "csx", "swap", "rxx", "ryy", "rzz",
    "crx", "cry", "crz", "cu1", "cu3", "ccx", "cswap", "mcx", "mcy", "mcz",
})
_INSTRUCTIONS = frozenset({"measure", "barrier", "delay", "reset"})


_NON_FINITE = re.compile(r"[(,]\s*[-+]?\s*(nan|inf)\s*[,)]")


def non_finite_angle(text: str) -> str | None:
    """``"nan"`` or ``"inf"`` if the circuit has such a gate parameter (pyquafu writes NaN and infinity so)."""
    found = _NON_FINITE.search(text)
    return found.group(1) if found else None


def measured_clbits(circuit: Circuit) -> list[int]:
    """The classical bits the circuit measures into, in the order of its first ``measure`` into each."""
    seen: dict[int, None] = {}
    for op in circuit.operations:
        if op.gate.name == "measure":
            seen.setdefault(op.clbits[0], None)
    return list(seen)


def pyquafu_counts(counts: Mapping[str, int], measured: Sequence[int]) -> dict[str, int]:
    """``counts`` keyed by the ``measured`` classical bits only, the lowest bit leftmost (pyquafu's keys).

    >>> pyquafu_counts({"010": 7, "000": 3}, [1])
    {'0': 3, '1': 7}
    """
    positions = sorted(set(measured))
    out: dict[str, int] = {}
    for key, n in counts.items():
        short = "".join(key[i] for i in positions)
        out[short] = out.get(short, 0) + int(n)
    return dict(sorted(out.items()))


def _number(value: ParamValue) -> str:
    """A float as pyquafu's lexer reads it: digits, a point, and an exponent only after the point."""
    if isinstance(value, ParameterExpression):
        return value.to_qasm()
    text = repr(float(value))
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + exponent


def _is_terminal(circuit: Circuit) -> bool:
    """Whether every measurement comes after the last other operation on its qubit and nothing reads a bit."""
    done: set[int] = set()
    for op in circuit.operations:
        if op.condition is not None:
            return False
        if op.gate.name == "measure":
            done.add(op.qubits[0])
        elif op.gate.name != "barrier" and done.intersection(op.qubits):
            return False
    return True


def _in_user_order(circuit: Circuit, order: Sequence[int]) -> list[Operation]:
    """The operations, terminal measurements moved last in the order of their classical bits in ``order``."""
    if not _is_terminal(circuit):
        return list(circuit.operations)
    rank = {clbit: i for i, clbit in enumerate(order)}
    measures = [op for op in circuit.operations if op.gate.name == "measure"]
    rest = [op for op in circuit.operations if op.gate.name != "measure"]
    measures.sort(key=lambda op: rank.get(op.clbits[0], len(rank) + op.clbits[0]))
    return rest + measures


def _lowered(op: Operation) -> list[Operation]:
    if op.gate.name in _INSTRUCTIONS or (op.gate.definition is None and op.gate.name in PYQUAFU_GATES):
        return [op]
    return decompose_to(op, PYQUAFU_GATES)


def pyquafu_qasm(circuit: Circuit, measure_order: Sequence[int] = ()) -> str:
    """``circuit`` as OpenQASM 2 that pyquafu 0.4.5 parses, measurements in ``measure_order`` of classical bits.

    Raises :class:`CircuitError` for if/else blocks, which pyquafu's circuits cannot hold."""
    if has_control_flow(circuit.operations):
        raise CircuitError("pyquafu 0.4.5 has no if/else blocks; this circuit cannot be shown to it")
    qnames = [f"{reg.name}[{i}]" for reg in circuit.qregs for i in range(reg.size)]
    cnames = [f"{reg.name}[{i}]" for reg in circuit.cregs for i in range(reg.size)]
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";']
    lines += [f"qreg {reg.name}[{reg.size}];" for reg in circuit.qregs]
    lines += [f"creg {reg.name}[{reg.size}];" for reg in circuit.cregs]
    for original in _in_user_order(circuit, measure_order):
        for op in _lowered(original):
            gate = op.gate
            args = ",".join(qnames[q] for q in op.qubits)
            if gate.name == "measure":
                text = f"measure {args} -> {cnames[op.clbits[0]]}"
            elif gate.name == "delay":
                text = f"delay({max(0, round(float(gate.params[0])))}) {args}"
            elif gate.params:
                text = f"{gate.name}({','.join(_number(p) for p in gate.params)}) {args}"
            else:
                text = f"{gate.name} {args}"
            if op.condition is not None:
                text = f"if({op.condition[0]}=={op.condition[1]}) {text}"
            lines.append(text + ";")
    return "\n".join(lines) + "\n"


ReadTaskQasm = Callable[[str, str], tuple[str, list[int]]]


def read_task_qasm(_settings: Settings, _catalog: DeviceCatalog, text: str, submitted: str, *,
                   inline_operations: int | None = None) -> tuple[str, list[int]]:
    """:func:`pyquafu_task_qasm` as a parse pool task (:mod:`xihe.service.parse_pool`). The programs were stored
    under the submit's limits, so the pool decides where to read them by their bytes alone."""
    return pyquafu_task_qasm(text, submitted)


def pyquafu_task_qasm(text: str, submitted: str) -> tuple[str, list[int]]:
    """``text`` (a compiled or submitted circuit) rewritten for pyquafu, measurements in ``submitted``'s order,
    and the classical bits it measures.

    A text Xihe cannot read back (it never should) is answered as ``""``, which pyquafu accepts as no circuit.
    """
    try:
        order = measured_clbits(qasm.loads(submitted)) if submitted else []
        circuit = qasm.loads(text)
        return pyquafu_qasm(circuit, order), measured_clbits(circuit)
    except Exception:  # the answer must stay readable by pyquafu whatever was stored
        return "", []
