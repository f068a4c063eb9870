"""OpenQASM 3 front end: the statements ``qiskit.qasm3.dumps`` writes for static and dynamic circuits, read by the
OpenQASM 2 parser (in its version 3 mode) after a statement-by-statement rewrite that keeps every line where it was.

Read: ``OPENQASM 3[.0];``, ``include "stdgates.inc";``, ``input float[64] name;`` (a free parameter),
``qubit[n] q;`` / ``qubit q;``, ``bit[n] c;`` / ``bit c;``, gate calls with parameter expressions, ``gate``
definitions, ``c[0] = measure q[0];`` / ``c = measure q;``, ``reset``, ``barrier``, ``delay[100ns] q[0];`` (units
ns, us, µs, ms, s), ``if (c[0]) { ... } else { ... }`` / ``if (!c[0])`` / ``if (c[0] == 1)`` / ``if (c == 3)``
(nested, ``else if``, or one statement without braces) as if/else blocks, ``for int i in [0:3] { ... }``
(literal ranges or sets, unrolled; see :mod:`xihe.qasm.control_flow`), and physical qubits ``$0``, ``$3`` (as
``qiskit.qasm3.dumps`` writes a transpiled circuit; they become register ``q`` of ``max + 1`` qubits). Refused
with line and column: ``while``, ``switch``, subroutines, ``let`` aliases, classical types and
assignments, durations in ``dt``, and any name used in an expression that no ``input`` declares.

Because the rewritten text goes through :class:`xihe.qasm.parser.Parser`, the same :class:`ParseLimits`, gate
table and error messages apply to both versions, and a QASM 3 error keeps its line (columns shift only inside a
rewritten declaration or measurement, after a bare bit condition, and after a physical qubit).

>>> from xihe import qasm
>>> qc = qasm.loads('OPENQASM 3.0; include "stdgates.inc"; input float[64] t; qubit[2] q; bit[2] c;'
...                 ' rx(t) q[0]; cx q[0], q[1]; c = measure q;')
>>> sorted(qc.parameters), qc.count_ops()
(['t'], {'rx': 1, 'cx': 1, 'measure': 2})
"""

from __future__ import annotations

import re
from collections.abc import Callable

from xihe.circuit.circuit import Circuit
from xihe.circuit.control import has_control_flow
from xihe.qasm.errors import QasmError
from xihe.qasm.exporter import dumps as dumps2

_VERSION3 = re.compile(r"\A(?:\s|//[^\n]*\n|/\*.*?\*/)*OPENQASM\s+3(?:\.\d+)?\s*;", re.DOTALL)
_STRING = re.compile(r'"[^"\n]*"')
_PHYSICAL = re.compile(r"\$(\d+)")
# Bounded repeats: each 'for' is looked at over a few hundred characters at most, so hostile text stays linear.
_LOOP_SET = re.compile(r"\bfor\b[^;{}]{0,200}?\bin\s{0,20}(\{[^{};]{0,100000}\})")
# Every match consumes at least one character and none fails, so finditer is linear even without terminators.
_STATEMENT = re.compile(r"[^;{}]+[;{}]?|[;{}]")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_REFUSED = {
    "while": "'while' loops", "def": "subroutines ('def')", "let": "'let' aliases",
    "const": "'const' declarations", "box": "'box'", "extern": "'extern'", "return": "'return'",
    "int": "classical variables", "uint": "classical variables", "float": "classical variables",
    "angle": "classical variables", "bool": "classical variables", "duration": "classical variables",
    "stretch": "'stretch'", "output": "'output' declarations", "cal": "pulse calibrations",
    "defcal": "pulse calibrations", "defcalgrammar": "pulse calibrations", "ctrl": "gate modifiers",
    "inv": "gate modifiers", "pow": "gate modifiers", "negctrl": "gate modifiers", "break": "'break'",
    "continue": "'continue'", "switch": "'switch'", "gphase": "'gphase'",
}
_DELAY_UNITS = {"ns": "ns", "us": "us", "µs": "us", "ms": "ms", "s": "s"}


def is_qasm3(text: str) -> bool:
    """True when the program's version line says OpenQASM 3 (comments and blank lines may come before it)."""
    return _VERSION3.match(text) is not None


def _blank(text: str) -> str:
    """``text`` with every character but newlines turned into a space (keeps lines and columns)."""
    return re.sub(r"[^\n]", " ", text)


def _mask_comments(text: str) -> str:
    """``text`` with its comments blanked (lines and columns kept), in one linear pass: a regular expression with
    a lazy ``/[*].*?[*]/`` would rescan to the end from every unterminated ``/*`` (quadratic on hostile input)."""
    parts: list[str] = []
    position = 0
    line = text.find("//")
    block = text.find("/*")
    while True:
        # Each search resumes past the last comment, never from an earlier place: linear in the text.
        if 0 <= line < position:
            line = text.find("//", position)
        if 0 <= block < position:
            block = text.find("/*", position)
        if line < 0 and block < 0:
            break
        start = min(x for x in (line, block) if x >= 0)
        if start == line:
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
        else:
            end = text.find("*/", start + 2)
            end = len(text) if end < 0 else end + 2
        parts.append(text[position:start])
        parts.append(_blank(text[start:end]))
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _Rewriter:
    def __init__(self, source: str, filename: str | None) -> None:
        self.source = source
        self.filename = filename
        self.inputs: set[str] = set()
        self.gate_depth = 0
        self.physical_size = 0
        self.physical_name = "q"

    def error(self, message: str, offset: int) -> QasmError:
        line, column = _position(self.source, offset)
        return QasmError(message, line, column, self.filename)

    def rewrite(self) -> str:
        masked = _mask_comments(self.source)
        # Strings (an include's file name) are copied as they are; the statement matcher must not look inside.
        protected = _STRING.sub(lambda m: "\x00" * len(m.group()), masked)
        # A loop over a set, ``for int i in {0, 2} {``: its braces become brackets (same columns), so the statement
        # split below does not take them for a block.
        for found in _LOOP_SET.finditer(protected):
            for brace, bracket in ((found.start(1), "["), (found.end(1) - 1, "]")):
                masked = masked[:brace] + bracket + masked[brace + 1:]
                protected = protected[:brace] + bracket + protected[brace + 1:]
        # Physical qubits ($0, $3: what qiskit.qasm3.dumps writes for a transpiled circuit) become one register.
        physical = [int(m.group(1)) for m in _PHYSICAL.finditer(protected)]
        if physical:
            self.physical_size = max(physical) + 1
            taken = re.search(r"\bbit\s*(?:\[\s*\d+\s*\])?\s+q\s*;", protected) is not None
            self.physical_name = "qphys" if taken else "q"
        out: list[str] = []
        position = 0
        for match in _STATEMENT.finditer(protected):
            out.append(masked[position:match.start()])
            out.append(self.statement(masked[match.start():match.end()], match.start()))
            position = match.end()
        out.append(masked[position:])
        return "".join(out)

    def statement(self, text: str, offset: int) -> str:
        out = self._statement(text, offset)
        if self.physical_size and "$" in out:
            out = _PHYSICAL.sub(lambda m: f"{self.physical_name}[{m.group(1)}]", out)
        return out

    def _statement(self, text: str, offset: int) -> str:
        body = text.strip()
        lead = len(text) - len(text.lstrip())
        at = offset + lead
        word = re.match(_IDENT + "|µ", body)
        head = word.group() if word else ""
        if body == "}":
            self.gate_depth = max(self.gate_depth - 1, 0)
            return text
        if head == "gate" and body.endswith("{"):
            self.gate_depth += 1
            return text
        if head in ("if", "else", "for"):
            return self.control(text, body, head, lead, at)
        if body.endswith("{"):
            raise self.error(f"{_REFUSED.get(head, 'this block')} is not supported in OpenQASM 3 input yet", at)
        if head in _REFUSED:
            raise self.error(f"{_REFUSED[head]} is not supported in OpenQASM 3 input yet", at)
        if head == "OPENQASM":
            version = re.sub(r"OPENQASM\s+3(?:\.\d+)?", "OPENQASM 2.0", text, count=1)
            if self.physical_size:  # declared on the version line, so every other line keeps its number
                version += f" qreg {self.physical_name}[{self.physical_size}];"
            return version
        if head == "qubit" and self.physical_size:
            raise self.error("a program that uses physical qubits ($0, $1, ...) declares no qubit registers", at)
        if head == "input":
            return self.input(text, body, at)
        if head in ("qubit", "bit"):
            return self.declaration(text, body, head, at)
        if head == "delay":
            return self.delay(text, at)
        measured = re.fullmatch(rf"({_IDENT}(?:\s*\[\s*\d+\s*\])?)\s*=\s*measure\s+(.+?)\s*;", body, re.DOTALL)
        if measured:
            return text[:lead] + f"measure {measured.group(2)} -> {measured.group(1)};"
        if "=" in body:
            raise self.error("classical assignments are not supported in OpenQASM 3 input yet", at)
        return text

    def control(self, text: str, body: str, head: str, lead: int, at: int) -> str:
        """A block header in the canonical form :mod:`xihe.qasm.control_flow` reads (same line)."""
        if head == "else":
            rest = body[4:].lstrip()
            if rest == "{":
                return text
            offset = len(body) - len(rest)
            if not re.match(r"if\b", rest):  # else with one statement and no braces
                if not rest.endswith(";"):
                    raise self.error("expected '{', 'if' or one statement after 'else'", at)
                return text[:lead] + "else " + self.statement(rest, at + offset)
            return text[:lead] + "else " + self.control(rest, rest, "if", 0, at + offset)
        if head == "for":
            return text[:lead] + self.loop(body, at)
        match = re.fullmatch(r"if\s*\((.*)\)\s*(\{|.*;)", body, re.DOTALL)
        if not match:
            raise self.error("expected 'if (condition) {' or 'if (condition) statement;'", at)
        condition = self.condition(match.group(1), at + match.start(1))
        tail = match.group(2)
        if not tail.startswith("{"):
            tail = self.statement(tail, at + match.start(2))
        return text[:lead] + f"if ({condition}) " + tail.lstrip()

    def condition(self, text: str, at: int) -> str:
        """``c[0]``, ``!c[0]``, ``c[0] == 1`` (or true/false, or ``!=``), ``c == 3``, edited in place into
        ``c[0]==1`` / ``c == 3`` forms (names and numbers keep their columns for the parser's errors)."""
        match = re.fullmatch(rf"\s*(!\s*)?({_IDENT})\s*(\[\s*(?:\d+|{_IDENT})\s*\])?\s*"
                             r"(?:(==|!=)\s*(\d+|true|false)\s*)?", text)
        if not match:
            raise self.error("Xihe reads conditions on one bit (c[0], !c[0], c[0] == 1) or on a register "
                             "compared with an integer (c == 3)", at)
        negate, _, index, operator, value = match.groups()
        if index is None and (negate or operator != "=="):
            raise self.error("a register condition compares with '==' and an integer, as in c == 3", at)
        if index is None:
            return text
        number = 1 if value is None else {"true": 1, "false": 0}.get(value)
        if number is None:
            number = int(value)
            if number > 1:
                raise self.error(f"a bit compares with 0 or 1, not {value}", at + match.start(5))
        number ^= bool(negate) ^ (operator == "!=")
        out = list(text)
        if negate:
            out[match.start(1)] = " "
        if operator is None:
            return "".join(out).rstrip() + f"=={number}"
        out[match.start(4):match.end(4)] = "=="
        out[match.start(5):match.end(5)] = str(number).ljust(match.end(5) - match.start(5))
        return "".join(out)

    def loop(self, body: str, at: int) -> str:
        """``for [type] name in [a:b] {`` (or ``[a:s:b]``) as ``for name(a,s,b) {``; a set as ``for name[a,b] {``."""
        match = re.fullmatch(rf"for\s+(?:(?:u?int|float|angle)(?:\s*\[\s*\d+\s*\])?\s+)?({_IDENT})\s+in\s+"
                             r"(\[[^\]]*\]|\{.*)\s*\{?", body, re.DOTALL)
        if not match:
            raise self.error("expected 'for int name in [start:stop] {' (Xihe unrolls loops over integer "
                             "literal ranges and sets)", at)
        name, values = match.group(1), match.group(2)
        integer = r"\s*(-?\s*\d+)\s*"
        if values.startswith("[") and ":" not in values:  # a set {0, 2, 5}, its braces made brackets by rewrite()
            items = [item.replace(" ", "").replace("\n", "") for item in values[1:-1].split(",")]
            if not all(re.fullmatch(r"-?\d+", item) for item in items):
                raise self.error("a loop set holds integer literals, as in {0, 2, 5}", at + match.start(2))
            return f"for {name}[{','.join(items)}] {{"
        if values.startswith("["):
            parts = re.fullmatch(rf"\[{integer}:{integer}(?::{integer})?\]", values)
            if not parts:
                raise self.error("a loop range is [start:stop] or [start:step:stop] with integer literals",
                                 at + match.start(2))
            numbers = [p.replace(" ", "") for p in parts.groups() if p is not None]
            first, step, stop = (numbers[0], "1", numbers[1]) if len(numbers) == 2 else numbers
            return f"for {name}({first},{step},{stop}) {{"
        raise self.error("expected a range [start:stop] or a set {a, b, ...} of integer literals after 'in'",
                         at + match.start(2))

    def input(self, text: str, body: str, at: int) -> str:
        match = re.fullmatch(rf"input\s+(?:float|angle)(?:\s*\[\s*\d+\s*\])?\s+({_IDENT})\s*;", body)
        if not match:
            raise self.error("only 'input float[64] name;' (a circuit parameter) is read as an input", at)
        self.inputs.add(match.group(1))
        return _blank(text)

    def declaration(self, text: str, body: str, kind: str, at: int) -> str:
        match = re.fullmatch(rf"{kind}\s*(?:\[\s*(\d+)\s*\])?\s+({_IDENT})\s*;", body)
        if not match:
            raise self.error(f"expected '{kind}[size] name;' or '{kind} name;'", at)
        size = match.group(1) or "1"
        register = "qreg" if kind == "qubit" else "creg"
        return text[:len(text) - len(text.lstrip())] + f"{register} {match.group(2)}[{size}];"

    def delay(self, text: str, at: int) -> str:
        match = re.search(r"delay\s*\[\s*([0-9.eE+-]+)\s*([A-Za-zµ]+)\s*\]", text)
        if not match:
            raise self.error("expected 'delay[<number><unit>] qubits;' (as in delay[100ns] q[0];)", at)
        unit = _DELAY_UNITS.get(match.group(2))
        if unit is None:
            where = at + (match.start(2) - (len(text) - len(text.lstrip())))
            raise self.error(f"delay unit '{match.group(2)}' is not supported; use ns, us, ms or s", where)
        return text[:match.start()] + f"delay({match.group(1)}{unit})" + text[match.end():]

    def check_parameters(self, parameters: set[str], masked: str) -> None:
        """A name a QASM 3 program uses in an expression must be one of its ``input`` declarations."""
        for name in sorted(parameters - self.inputs):
            found = re.search(rf"\b{re.escape(name)}\b", masked)
            raise self.error(f"'{name}' is not declared; declare a circuit parameter with 'input float[64] "
                             f"{name};'", found.start() if found else 0)


def to_qasm2(text: str, filename: str | None = None) -> tuple[str, set[str]]:
    """The OpenQASM 2 text that reads as the OpenQASM 3 program ``text`` does, and the declared input names.

    Raises :class:`QasmError` (with line and column) for a construct this front end does not read.
    """
    rewriter = _Rewriter(text, filename)
    return rewriter.rewrite(), rewriter.inputs


def parse3(text: str, parse: Callable[[str, str | None], Circuit], filename: str | None = None) -> Circuit:
    """Read an OpenQASM 3 program with ``parse`` (the OpenQASM 2 parser, with its limits) after :func:`to_qasm2`."""
    rewriter = _Rewriter(text, filename)
    circuit = parse(rewriter.rewrite(), filename)
    rewriter.check_parameters({str(p) for p in circuit.parameters}, _mask_comments(text))
    return circuit





# -- writing ------------------------------------------------------------------------------------------------------
# Gates Xihe writes by name that OpenQASM 3's stdgates.inc lacks: their definitions, written before use (each in
# terms of stdgates.inc and earlier entries). Equal to Xihe's gates up to a global phase.
_DEFINITIONS3 = {
    "u0": "gate u0(gamma) q { U(0, 0, 0) q; }",
    "sxdg": "gate sxdg a { s a; h a; s a; }",
    "cu1": "gate cu1(lambda) a, b { u1(lambda/2) a; cx a, b; u1(-lambda/2) b; cx a, b; u1(lambda/2) b; }",
    "cu3": "gate cu3(theta, phi, lambda) c, t { u1((lambda+phi)/2) c; u1((lambda-phi)/2) t; cx c, t; "
           "u3(-theta/2, 0, -(phi+lambda)/2) t; cx c, t; u3(theta/2, phi, 0) t; }",
    "csx": "gate csx a, b { h b; cu1(pi/2) a, b; h b; }",
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "ryy": "gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; rx(-pi/2) a; "
           "rx(-pi/2) b; }",
    "rzx": "gate rzx(theta) a, b { h b; cx a, b; rz(theta) b; cx a, b; h b; }",
}
_DEPENDS = {"csx": ("cu1",)}
_STD_GATES = frozenset({"p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy", "cz",
                        "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase", "cphase", "id",
                        "u1", "u2", "u3", "U"})
_NOT_GATES = frozenset({"OPENQASM", "include", "qreg", "creg", "gate", "measure", "reset", "barrier", "if",
                        "delay", "}"})
_STATEMENT_HEAD = re.compile(rf"^\s*(?:if\s*\([^)]*\)\s*)?({_IDENT})", re.MULTILINE)


def _line3(line: str) -> str:
    text = line.strip()
    condition = re.match(rf"if\s*\(\s*({_IDENT})\s*==\s*(\d+)\s*\)\s*(.*)\Z", text)
    if condition:
        return f"if ({condition.group(1)} == {condition.group(2)}) {{ {_line3(condition.group(3))} }}"
    if text.startswith("qreg "):
        name, size = re.fullmatch(rf"qreg\s+({_IDENT})\s*\[(\d+)\];", text).groups()  # type: ignore[union-attr]
        return f"qubit[{size}] {name};"
    if text.startswith("creg "):
        name, size = re.fullmatch(rf"creg\s+({_IDENT})\s*\[(\d+)\];", text).groups()  # type: ignore[union-attr]
        return f"bit[{size}] {name};"
    measured = re.fullmatch(r"measure\s+(.+?)\s*->\s*(.+?)\s*;", text)
    if measured:
        return f"{measured.group(2)} = measure {measured.group(1)};"
    line = re.sub(r"^(\s*)u\(", r"\1U(", line)  # OpenQASM 3's built-in U is Xihe's u; stdgates.inc has no u
    return re.sub(r"\bdelay\(([^)]*)\)", r"delay[\1]", line)


def dumps3(circuit: Circuit) -> str:
    """The circuit as an OpenQASM 3 program (``include "stdgates.inc"``, ``input float[64]`` per free parameter)
    that ``qiskit.qasm3.loads`` and :func:`xihe.qasm.loads` read back."""
    text = dumps2(circuit, blocks=True)
    defined = set(re.findall(rf"^gate\s+({_IDENT})", text, re.MULTILINE))
    used = {name for name in _STATEMENT_HEAD.findall(text) if name not in _NOT_GATES} - defined - {"u"}
    needed: list[str] = []
    for name in sorted(used - _STD_GATES):
        for dependency in (*_DEPENDS.get(name, ()), name):
            if dependency not in _DEFINITIONS3:
                raise QasmError(f"gate '{dependency}' has no OpenQASM 3 spelling yet (write the circuit as "
                                "OpenQASM 2, or decompose it)", 1, 1)
            if dependency not in needed:
                needed.append(dependency)
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    lines.extend(f"input float[64] {name};" for name in sorted(str(p) for p in circuit.parameters))
    lines.extend(_DEFINITIONS3[name] for name in needed)
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith(("OPENQASM", "include")) or not stripped:
            continue
        if line.startswith("gate ") or stripped.endswith("{") or stripped.startswith("}"):
            lines.append(line)  # a definition's or a block's header or end, already as OpenQASM 3 has it
            continue
        lines.append(line[:len(line) - len(line.lstrip())] + _line3(stripped))
    return "\n".join(lines) + "\n"


def dumps(circuit: Circuit, version: int | None = None) -> str:
    """The circuit as OpenQASM ``version`` (2 or 3) text; by default 2, or 3 when the circuit has if/else blocks
    (which OpenQASM 2 cannot write), so every path that sends a circuit as text carries them."""
    if version is None:
        version = 3 if has_control_flow(circuit.operations) else 2
    if version == 2:
        return dumps2(circuit)
    if version == 3:
        return dumps3(circuit)
    raise ValueError(f"OpenQASM version {version!r}: Xihe writes 2 or 3")
__all__ = ["dumps", "dumps3", "is_qasm3", "parse3", "to_qasm2"]
