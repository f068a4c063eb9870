"""Writes a :class:`~xihe.circuit.Circuit` as OpenQASM 2.0 text that :func:`xihe.qasm.loads` reads back equal.

Floats are written with ``repr`` (shortest text that reads back to the same float). User gate definitions are
written first, dependencies before the gates that use them. Built-in gates that the original ``qelib1.inc`` lacks
(``sy``, ``iswap``, ``ryy``, ``mcx``...) are written by name: Xihe's reader knows them, as pyquafu's does.
"""

from __future__ import annotations

import re

from xihe.circuit.circuit import Circuit
from xihe.circuit.control import IfElse, walk
from xihe.circuit.definition import GateDefinition
from xihe.circuit.gate import Gate, Operation, gate_spec
from xihe.circuit.parameter import format_value
from xihe.errors import CircuitError

_IDENTIFIER = re.compile(r"[a-z][A-Za-z0-9_]*\Z")
_RESERVED = frozenset({"OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure", "reset", "barrier", "if",
                       "delay", "pi", "U", "CX", "sin", "cos", "tan", "exp", "ln", "sqrt", "asin", "acos", "atan"})
# Built-ins that the language itself provides, so they can still be written when a definition shadows their name.
_PRIMITIVE_SPELLING = {"u": "U", "cx": "CX"}


def dumps(circuit: Circuit, blocks: bool = False) -> str:
    """The circuit as an OpenQASM 2.0 program.

    ``blocks`` (for the OpenQASM 3 writer only) writes if/else blocks as OpenQASM 3 does, indented by two spaces
    per level; without it a circuit with blocks is refused (OpenQASM 2 has no blocks).
    """
    definitions = _definitions(circuit)
    shadowed = set(definitions)
    lines = ["OPENQASM 2.0;"]
    # A program that defines an original qelib1 gate itself cannot also include qelib1.inc.
    if not any((spec := gate_spec(name)) is not None and spec.original_qelib1 for name in shadowed):
        lines.append('include "qelib1.inc";')
    spell = _Speller(shadowed)
    for definition in definitions.values():
        lines.append(_definition_text(definition, spell))
    lines.extend(f"qreg {reg.name}[{reg.size}];" for reg in circuit.qregs)
    lines.extend(f"creg {reg.name}[{reg.size}];" for reg in circuit.cregs)
    qnames = [f"{reg.name}[{i}]" for reg in circuit.qregs for i in range(reg.size)]
    cnames = [f"{reg.name}[{i}]" for reg in circuit.cregs for i in range(reg.size)]
    prefixes: dict[Gate, str] = {}
    append = lines.append
    for op in circuit.operations:
        gate = op.gate
        if isinstance(op, IfElse):
            if not blocks:
                raise CircuitError("the circuit has if/else blocks, which OpenQASM 2 cannot write; use "
                                   "qasm.dumps(circuit, version=3)")
            _block_lines(circuit, op, qnames, cnames, spell, lines, "")
            continue
        prefix = prefixes.get(gate)
        if prefix is None:
            prefix = prefixes[gate] = _gate_prefix(gate, spell) + " "
        qubits = op.qubits
        text = prefix + (qnames[qubits[0]] if len(qubits) == 1 else ",".join([qnames[q] for q in qubits]))
        if op.clbits:
            text += " -> " + cnames[op.clbits[0]]
        if op.condition is not None:
            text = f"if({op.condition[0]}=={op.condition[1]}) {text}"
        append(text + ";")
    return "\n".join(lines) + "\n"


def _block_lines(circuit: Circuit, block: IfElse, qnames: list[str], cnames: list[str], spell: _Speller,
                 lines: list[str], indent: str) -> None:
    """An if/else block as OpenQASM 3 writes it; its bodies as OpenQASM 2 statements (the 3 writer converts)."""
    lines.append(f"{indent}if ({_condition_text(circuit, block, cnames)}) {{")
    for body in block.bodies:
        if body is block.false_body:
            if not body:
                break
            lines.append(f"{indent}}} else {{")
        for op in body:
            if isinstance(op, IfElse):
                _block_lines(circuit, op, qnames, cnames, spell, lines, indent + "  ")
                continue
            text = f"{indent}  {_gate_prefix(op.gate, spell)} {','.join(qnames[q] for q in op.qubits)}"
            if op.clbits:
                text += " -> " + cnames[op.clbits[0]]
            lines.append(text + ";")
    lines.append(f"{indent}}}")


def _condition_text(circuit: Circuit, block: IfElse, cnames: list[str]) -> str:
    bits = block.test_bits
    if len(bits) == 1 and (block.register is None or circuit.creg(block.register).size != 1):
        return cnames[bits[0]] if block.value else f"!{cnames[bits[0]]}"
    for reg in circuit.cregs:
        offset = circuit.creg_offset(reg.name)
        if tuple(range(offset, offset + reg.size)) == bits:
            return f"{reg.name} == {block.value}"
    raise CircuitError(f"the condition on bits {bits} is not one bit or one whole register of the circuit")


class _Speller:
    """The QASM name of a gate; refuses a built-in whose name a user definition in the same circuit took."""

    def __init__(self, shadowed: set[str]) -> None:
        self.shadowed = shadowed

    def __call__(self, gate: Gate) -> str:
        if gate.definition is not None or gate.name not in self.shadowed:
            return gate.name
        if gate.name in _PRIMITIVE_SPELLING:
            return _PRIMITIVE_SPELLING[gate.name]
        raise CircuitError(f"the circuit uses the built-in gate '{gate.name}' and also a gate definition of the "
                           "same name; OpenQASM 2 cannot tell them apart, so rename the definition")


def _gate_prefix(gate: Gate, spell: _Speller) -> str:
    if gate.name == "delay":
        return f"delay({format_value(gate.params[0])}ns)"
    name = spell(gate)
    if gate.params:
        return f"{name}({','.join(format_value(p) for p in gate.params)})"
    return name


def _definitions(circuit: Circuit) -> dict[str, GateDefinition]:
    """Every user definition the circuit uses, dependencies first; two different ones with one name are refused."""
    found: dict[str, GateDefinition] = {}

    def visit(definition: GateDefinition) -> None:
        known = found.get(definition.name)
        if known is not None:
            if known is not definition and known != definition:
                raise CircuitError(f"the circuit uses two different gate definitions named '{definition.name}'")
            return
        for op in definition.body:
            if op.gate.definition is not None:
                visit(op.gate.definition)
        found[definition.name] = definition

    seen_ids: set[int] = set()
    for op in walk(circuit.operations):
        definition = op.gate.definition
        if definition is not None and id(definition) not in seen_ids:
            seen_ids.add(id(definition))
            visit(definition)
    return found


def _definition_text(definition: GateDefinition, spell: _Speller) -> str:
    qubits = _qubit_names(definition)
    head = f"gate {definition.name}"
    if definition.params:
        head += f"({','.join(definition.params)})"
    lines = [f"{head} {','.join(qubits)} {{"]
    for op in definition.body:
        lines.append(f"  {_body_op_text(op, qubits, spell)}")
    lines.append("}")
    return "\n".join(lines)


def _body_op_text(op: Operation, qubits: list[str], spell: _Speller) -> str:
    args = ",".join(qubits[q] for q in op.qubits)
    if op.gate.name == "barrier":
        return f"barrier {args};"
    if not op.gate.is_unitary:
        raise CircuitError(f"'{op.gate.name}' cannot appear inside a gate definition")
    return f"{_gate_prefix(op.gate, spell)} {args};"


def _qubit_names(definition: GateDefinition) -> list[str]:
    names = list(definition.qubit_names)
    taken = set(definition.params) | _RESERVED
    if (len(names) == definition.num_qubits and len(set(names)) == len(names)
            and all(_IDENTIFIER.match(n) and n not in taken for n in names)):
        return names
    prefix = "q"
    while any(f"{prefix}{i}" in taken for i in range(definition.num_qubits)):
        prefix += "_"
    return [f"{prefix}{i}" for i in range(definition.num_qubits)]
