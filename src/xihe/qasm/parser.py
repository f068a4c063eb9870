"""Reads an OpenQASM 2.0 program into a :class:`~xihe.circuit.Circuit`.

Two paths share one program state. The **fast path** matches the common statement shape (a gate call with
numeric or cached parameters on up to three indexed qubits) with one compiled regular expression and builds the
operation directly, reusing one :class:`~xihe.circuit.Gate` per distinct ``(name, parameter text)``. Anything it
does not recognise at once, or where something is wrong, goes to the **general parser** (a small recursive-descent
parser over :mod:`xihe.qasm.lexer` tokens), which reads every statement of the language and reports problems with
their line and column. Errors are therefore only ever raised by the general parser or the expression parser.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from xihe.circuit.circuit import DELAY_UNITS, Circuit
from xihe.circuit.definition import GateDefinition
from xihe.circuit.gate import Gate, Operation, gate_spec, gate_specs
from xihe.circuit.parameter import Parameter, ParamValue
from xihe.circuit.register import ClassicalRegister, QuantumRegister
from xihe.errors import CircuitError
from xihe.qasm import control_flow
from xihe.qasm.errors import QasmError, location
from xihe.qasm.expressions import parse_expression_list
from xihe.qasm.lexer import SKIP, Lexer, Token, describe
from xihe.qasm.limits import ParseLimits, QasmLimitError

# Possessive quantifiers (``*+``) throughout: a name or a run of blanks is taken whole or not at all. With plain
# ones, a long name that is not a statement (``qubitqubit...`` with no ``;``) was tried at every split between the
# gate's name and its first argument's, each split rescanning the rest: quadratic (8,000 x ``qubit``: 10-50 s).
_ARG = r"([a-z][A-Za-z0-9_]*+)[ \t]*+\[[ \t]*+(\d++)[ \t]*+\]"
_FAST = re.compile(
    SKIP
    + r"([A-Za-z_][A-Za-z0-9_]*+)[ \t]*+(?:\(([^()]*+)\))?\s*+"
    + _ARG
    + r"(?:[ \t]*+,\s*+" + _ARG + r")?"
    + r"(?:[ \t]*+,\s*+" + _ARG + r")?"
    + r"[ \t]*+;",
)
# measure q[i] -> c[j]; (the other statement every program repeats)
_FAST_MEASURE = re.compile(SKIP + r"measure[ \t]++" + _ARG + r"[ \t]*+->[ \t]*+" + _ARG + r"[ \t]*+;")
_NUMBER = r"[ \t]*+[-+]?+(?:\d++\.?+\d*+|\.\d++)(?:[eE][-+]?+\d++)?+[ \t]*+"
_NUMBERS = re.compile(_NUMBER + r"(?:," + _NUMBER + r")*")

# Words that start a statement and so cannot name a gate.
KEYWORDS = frozenset(
    {"OPENQASM", "include", "qreg", "creg", "gate", "opaque", "measure", "reset", "barrier", "if", "delay", "pi",
     "U", "CX"}
)
# Largest register accepted: far beyond any device or simulator, small enough that broadcasting over it is safe.
MAX_REGISTER_SIZE = 1 << 20
# Largest register for which the fast path keeps an index table (bigger ones go through the general parser).
_FAST_INDEX_LIMIT = 1 << 16
_MAX_INCLUDE_DEPTH = 16
# The includes a program read by loads() may name: built in, so reading them opens no file.
STANDARD_INCLUDES = frozenset({"qelib1.inc", "stdgates.inc"})


class _GateKind(NamedTuple):
    """What a gate name means in the program: its IR name, parameter count, arity and user definition, with the
    number of operations one call expands to and how deeply its definition nests."""

    ir_name: str
    num_params: int
    num_qubits: int | None
    definition: GateDefinition | None
    cost: int = 1
    depth: int = 0


def _builtin_gates() -> dict[str, _GateKind]:
    gates = {name: _GateKind(name, spec.num_params, spec.num_qubits, None) for name, spec in gate_specs().items()}
    gates["U"] = _GateKind("u", 3, 1, None)
    gates["CX"] = _GateKind("cx", 0, 2, None)
    return gates


_MEASURE = Gate._trusted("measure", (), 1)
_RESET = Gate._trusted("reset", (), 1)

_new = object.__new__
_set_gate = Operation.__dict__["gate"].__set__
_set_qubits = Operation.__dict__["qubits"].__set__
_set_clbits = Operation.__dict__["clbits"].__set__
_set_condition = Operation.__dict__["condition"].__set__


def _operation(gate: Gate, qubits: tuple[int, ...], clbits: tuple[int, ...] = (),
               condition: tuple[str, int] | None = None) -> Operation:
    # Operation.__init__ goes through object.__setattr__ four times; this is the same, about twice as fast.
    op = _new(Operation)
    _set_gate(op, gate)
    _set_qubits(op, qubits)
    _set_clbits(op, clbits)
    _set_condition(op, condition)
    return op


class _Arg(NamedTuple):
    token: Token
    bits: Sequence[int]  # a range for a whole register: nothing is built per qubit before the statement is charged
    is_register: bool


class Parser:
    """The state of one program being read; :meth:`parse` reads the main text and returns the circuit."""

    def __init__(self, base_dir: Path | None, include_path: tuple[Path, ...], name: str | None = None,
                 limits: ParseLimits | None = None) -> None:
        self.circuit = Circuit(name=name)
        self.limits = limits or ParseLimits()
        self.max_operations = self.limits.max_operations if self.limits.max_operations is not None else math.inf
        self.expanded = 0  # operations the program expands to so far (broadcasts and gate definitions unrolled)
        self.base_dir = base_dir
        # True for qasm.load(path) (a person's own files); False for loads(), the text a server is sent.
        self.reads_local_files = base_dir is not None
        self.include_path = include_path
        self.include_stack: list[Path] = []
        self.gates = _builtin_gates()
        self.user_defs: dict[str, int] = {}  # name -> line of its definition
        self.used_builtins: set[str] = set()
        self.qelib1_included = False
        self.qregs: dict[str, tuple[int, int]] = {}  # name -> (offset, size)
        self.cregs: dict[str, tuple[int, int]] = {}
        self.qindex: dict[str, dict[str, int]] = {}  # register -> index text -> flat qubit (fast path)
        self.cindex: dict[str, dict[str, int]] = {}
        self.ops: list[Operation] = []
        self.cache: dict[tuple[str, str | None], tuple[Gate, int, int]] = {("reset", None): (_RESET, 1, 1)}
        self.free_params: dict[str, Parameter] = {}
        # OpenQASM 3 (set by its front end): if/else blocks and for loops (xihe.qasm.control_flow).
        self.version3 = False
        self.loop_values: dict[str, int] = {}

    def parse(self, text: str, filename: str | None = None) -> Circuit:
        self._run(text, filename)
        self.circuit.operations = self.ops
        return self.circuit

    # --- the fast path -------------------------------------------------------------------------------------------
    def _run(self, text: str, filename: str | None) -> None:
        if text.startswith("\ufeff"):  # a byte-order mark some editors write; a space keeps columns right
            text = " " + text[1:]
        match = _FAST.match
        measure = _FAST_MEASURE.match
        cache = self.cache
        qindex = self.qindex
        cindex = self.cindex
        append = self.ops.append
        pos = 0
        first = Lexer(text, 0, filename).peek().pos
        while True:
            m = match(text, pos)
            if m is not None:
                name, pstr, r1, i1, r2, i2, r3, i3 = m.groups()
                entry = cache.get((name, pstr))
                if entry is None:
                    entry = self._fast_entry(name, pstr, text, m.start(2), filename)
                if entry is not None:
                    qubits: tuple[int, ...] | None
                    try:
                        if r2 is None:
                            qubits = (qindex[r1][i1],)
                        elif r3 is None:
                            a, b = qindex[r1][i1], qindex[r2][i2]
                            qubits = (a, b) if a != b else None
                        else:
                            a, b, c = qindex[r1][i1], qindex[r2][i2], qindex[r3][i3]
                            qubits = (a, b, c) if a != b and b != c and a != c else None
                    except KeyError:
                        qubits = None
                    if qubits is not None and len(qubits) == entry[1]:
                        expanded = self.expanded + entry[2]
                        if expanded > self.max_operations:
                            self._charge(Lexer(text, m.start(1), filename), m.start(1), entry[2])
                        self.expanded = expanded
                        op = _new(Operation)
                        _set_gate(op, entry[0])
                        _set_qubits(op, qubits)
                        _set_clbits(op, ())
                        _set_condition(op, None)
                        append(op)
                        pos = m.end()
                        continue
            else:
                m = measure(text, pos)
                if m is not None:
                    qreg, qi, creg, ci = m.groups()
                    try:
                        q, c = qindex[qreg][qi], cindex[creg][ci]
                    except KeyError:
                        pass
                    else:
                        self.expanded += 1
                        if self.expanded > self.max_operations:
                            self.expanded -= 1
                            self._charge(Lexer(text, m.start(1), filename), m.start(1), 1)
                        op = _new(Operation)
                        _set_gate(op, _MEASURE)
                        _set_qubits(op, (q,))
                        _set_clbits(op, (c,))
                        _set_condition(op, None)
                        append(op)
                        pos = m.end()
                        continue
            lexer = Lexer(text, pos, filename)
            if lexer.peek().kind == "eof":
                return
            self._statement(lexer, first)
            pos = lexer.pos

    def _fast_entry(self, name: str, pstr: str | None, text: str, pstart: int,
                    filename: str | None) -> tuple[Gate, int, int] | None:
        """The gate for a fast-path statement, or ``None`` to let the general parser read (and judge) it."""
        kind = self.gates.get(name)
        if kind is None or kind.num_qubits is None:
            return None
        params: tuple[ParamValue, ...]
        if pstr is None:
            params = ()
        elif _NUMBERS.fullmatch(pstr):
            params = tuple(map(float, pstr.split(",")))
            if not all(map(math.isfinite, params)):
                return None
        else:
            lexer = Lexer(text, pstart, filename, end=pstart + len(pstr))
            try:
                params = tuple(parse_expression_list(lexer, self._free_parameter))
            except QasmError:
                return None
            if lexer.peek().kind != "eof":
                return None
        if len(params) != kind.num_params:
            return None
        if kind.definition is None:
            self.used_builtins.add(name)
        entry = (Gate._trusted(kind.ir_name, params, kind.num_qubits, kind.definition), kind.num_qubits, kind.cost)
        self.cache[(name, pstr)] = entry
        return entry

    # --- the general parser --------------------------------------------------------------------------------------
    def _statement(self, lx: Lexer, first: int) -> None:
        token = lx.peek()
        if token.kind != "id":
            raise lx.error(f"expected a statement, found {describe(token)}", token.pos)
        word = token.text
        if word == "OPENQASM":
            self._version(lx, first)
        elif word == "include":
            self._include(lx)
        elif word in ("qreg", "creg"):
            self._register(lx)
        elif word == "gate":
            self._gate_definition(lx)
        elif word == "opaque":
            raise lx.error("opaque gates are not supported: Xihe cannot run a gate without a body; define it "
                           "with 'gate name(params) qubits { ... }' instead", token.pos)
        elif word == "if":
            if self.version3:
                control_flow.read_if(self, lx)
            else:
                self._if(lx)
        elif word == "for" and self.version3:
            control_flow.read_for(self, lx)
        else:
            self._quantum_operation(lx, None)

    def _version(self, lx: Lexer, first: int) -> None:
        token = lx.next()
        if token.pos != first:
            raise lx.error("'OPENQASM 2.0;' must be the first statement of the program", token.pos)
        version = lx.next()
        if version.kind not in ("real", "int"):
            raise lx.error(f"expected the version number after 'OPENQASM', found {describe(version)}", version.pos)
        if float(version.text) != 2.0:
            raise lx.error(f"unsupported OpenQASM version {version.text}; Xihe reads OpenQASM 2.0 and 3", version.pos)
        lx.expect(";", "the 'OPENQASM' statement")

    def _include(self, lx: Lexer) -> None:
        lx.next()
        token = lx.next()
        if token.kind != "string":
            raise lx.error(f"expected a file name in double quotes after 'include', found {describe(token)}",
                           token.pos)
        lx.expect(";", "the 'include' statement")
        name = token.text[1:-1]
        if name == "qelib1.inc":
            for gate_name, line in self.user_defs.items():
                spec = gate_spec(gate_name)
                if spec is not None and spec.original_qelib1:
                    raise lx.error(f"including \"qelib1.inc\" would redefine gate '{gate_name}' (defined at line "
                                   f"{line}); include it before your own definitions, or rename yours", token.pos)
            self.qelib1_included = True
            return
        if name == "stdgates.inc":  # OpenQASM 3's standard gates: the gate table has them already
            return
        path = self._find_include(lx, token, name)
        if path in self.include_stack or len(self.include_stack) >= _MAX_INCLUDE_DEPTH:
            raise lx.error(f"'{name}' includes itself (include cycle)", token.pos)
        try:
            included = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise lx.error(f"cannot read the include file '{name}': {reason}", token.pos) from None
        saved = self.base_dir
        self.include_stack.append(path)
        self.base_dir = path.parent
        try:
            # A program read by loads() names its includes as written, never by their place on this machine.
            self._run(included, str(path) if self.reads_local_files else name)
        finally:
            self.base_dir = saved
            self.include_stack.pop()

    def _find_include(self, lx: Lexer, token: Token, name: str) -> Path:
        shown = name if len(name) <= 60 else name[:57] + "..."
        if not self.reads_local_files:
            # A submitted program: only the standard includes, and no file is looked at (not even whether a
            # path exists), unless the caller gave folders to read from; then only names inside them.
            if not self.include_path:
                raise lx.error(f"cannot include '{shown}': loads() reads no files unless given "
                               "include_path=[folder]; use qasm.load(path) to resolve includes next to the "
                               f"program (the standard includes {', '.join(sorted(STANDARD_INCLUDES))} are built "
                               "in)", token.pos)
            relative = Path(name)
            if relative.is_absolute() or ".." in relative.parts or not name.strip():
                raise lx.error(f"cannot include '{shown}': an include names a file inside the include path, "
                               "with no absolute path and no '..'", token.pos)
            for folder in self.include_path:
                candidate = folder / relative
                if candidate.is_file():
                    return candidate
            raise lx.error(f"cannot find the include file '{shown}' on the include path", token.pos)
        folders = ([self.base_dir] if self.base_dir is not None else []) + list(self.include_path)
        candidates = [Path(name)] if Path(name).is_absolute() else [folder / name for folder in folders]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        looked = ", ".join(str(c.parent) for c in candidates)
        raise lx.error(f"cannot find the include file '{name}' (looked in {looked})", token.pos)

    def _register(self, lx: Lexer) -> None:
        keyword = lx.next().text
        name = lx.expect_id(f"after '{keyword}'")
        lx.expect("[", f"after the register name '{name.text}'")
        size_token = lx.expect_int("as the register size")
        lx.expect("]", "after the register size")
        lx.expect(";", f"the '{keyword}' statement")
        size = int(size_token.text)
        if name.text in self.qregs or name.text in self.cregs:
            raise lx.error(f"register '{name.text}' is already declared", name.pos)
        if size < 1:
            raise lx.error(f"register '{name.text}' must have at least one bit", size_token.pos)
        if size > MAX_REGISTER_SIZE:
            raise lx.error(f"register '{name.text}' has {size} bits; Xihe reads registers of at most "
                           f"{MAX_REGISTER_SIZE} bits", size_token.pos)
        max_qubits = self.limits.max_qubits
        if keyword == "qreg" and max_qubits is not None and self.circuit.num_qubits + size > max_qubits:
            total = self.circuit.num_qubits + size
            line, column = location(lx.text, size_token.pos)
            raise QasmLimitError(f"register '{name.text}' brings the program to {total} qubits, more than the "
                                 f"limit of {max_qubits} qubits (max_qubits)", line, column, lx.filename,
                                 limit="max_qubits", allowed=max_qubits, found=total)
        try:
            reg = QuantumRegister(name.text, size) if keyword == "qreg" else ClassicalRegister(name.text, size)
        except CircuitError as exc:
            raise lx.error(exc.message, name.pos) from None
        self.circuit.add_register(reg)
        if keyword == "qreg":
            offset = self.circuit.num_qubits - size
            self.qregs[name.text] = (offset, size)
            self.qindex[name.text] = {str(i): offset + i for i in range(min(size, _FAST_INDEX_LIMIT))}
        else:
            offset = self.circuit.num_clbits - size
            self.cregs[name.text] = (offset, size)
            self.cindex[name.text] = {str(i): offset + i for i in range(min(size, _FAST_INDEX_LIMIT))}

    # --- gate definitions ----------------------------------------------------------------------------------------
    def _gate_definition(self, lx: Lexer) -> None:
        lx.next()
        name_token = lx.expect_id("after 'gate'")
        name = name_token.text
        self._check_new_gate_name(lx, name_token)
        params: list[Token] = []
        if lx.accept("("):
            if lx.peek().text != ")":
                params.append(lx.expect_id("as a parameter name"))
                while lx.accept(","):
                    params.append(lx.expect_id("as a parameter name"))
            lx.expect(")", "to close the parameter list")
        qubits = [lx.expect_id(f"as a qubit name of gate '{name}'")]
        while lx.accept(","):
            qubits.append(lx.expect_id(f"as a qubit name of gate '{name}'"))
        for group, what in ((params, "parameter"), (qubits, "qubit")):
            seen: set[str] = set()
            for token in group:
                if token.text in seen:
                    raise lx.error(f"{what} name '{token.text}' appears twice in gate '{name}'", token.pos)
                if token.text == "pi" or token.text in KEYWORDS:
                    raise lx.error(f"'{token.text}' is a reserved word and cannot name a {what}", token.pos)
                seen.add(token.text)
        lx.expect("{", f"to open the body of gate '{name}'")
        formal = {t.text: Parameter(t.text) for t in params}
        local = {t.text: i for i, t in enumerate(qubits)}
        body: list[Operation] = []
        cost, depth = 0, 0
        while not lx.accept("}"):
            op, kind = self._body_statement(lx, name, formal, local)
            body.append(op)
            cost += kind.cost if kind is not None else 1
            depth = max(depth, kind.depth if kind is not None else 0)
        depth += 1
        if depth > self.limits.max_definition_depth:
            line, column = location(lx.text, name_token.pos)
            raise QasmLimitError(f"gate '{name}' nests gate definitions {depth} deep, more than the limit of "
                                 f"{self.limits.max_definition_depth} (max_definition_depth)", line, column,
                                 lx.filename, limit="max_definition_depth",
                                 allowed=self.limits.max_definition_depth, found=depth)
        definition = GateDefinition(name, tuple(formal), len(qubits), tuple(body), tuple(local))
        self.user_defs[name] = location(lx.text, name_token.pos)[0]
        # An empty body still costs one operation: every call is charged at least once.
        self.gates[name] = _GateKind(name, len(formal), len(qubits), definition, max(cost, 1), depth)
        self.cache.clear()
        self.cache[("reset", None)] = (_RESET, 1, 1)

    def _check_new_gate_name(self, lx: Lexer, token: Token) -> None:
        name = token.text
        if name in KEYWORDS:
            raise lx.error(f"'{name}' is a reserved word of OpenQASM and cannot name a gate", token.pos)
        if name in self.user_defs:
            raise lx.error(f"gate '{name}' is already defined at line {self.user_defs[name]}", token.pos)
        spec = gate_spec(name)
        if spec is not None:
            if spec.original_qelib1 and self.qelib1_included:
                raise lx.error(f"gate '{name}' is defined by qelib1.inc and cannot be redefined; give your gate "
                               "another name", token.pos)
            if name in self.used_builtins:
                raise lx.error(f"gate '{name}' is used above as the built-in gate; define it before its first use",
                               token.pos)

    def _body_statement(self, lx: Lexer, gate_name: str, formal: dict[str, Parameter],
                        local: dict[str, int]) -> tuple[Operation, _GateKind | None]:
        token = lx.next()
        if token.kind != "id":
            if token.kind == "eof":
                raise lx.error(f"the body of gate '{gate_name}' is not closed: '}}' is missing", token.pos)
            raise lx.error(f"expected a gate call or '}}' in the body of gate '{gate_name}', found "
                           f"{describe(token)}", token.pos)
        if token.text in KEYWORDS and token.text not in ("barrier", "U", "CX"):
            raise lx.error(f"'{token.text}' is not allowed inside a gate body; a body holds only gate calls and "
                           "barriers", token.pos)

        def resolve(name: Token) -> ParamValue:
            if name.text in formal:
                return formal[name.text]
            known = ", ".join(formal) if formal else "none"
            raise lx.error(f"unknown name '{name.text}' in the body of gate '{gate_name}' (its parameters: "
                           f"{known})", name.pos)

        params: list[ParamValue] = []
        kind = None
        if token.text != "barrier":
            kind = self._gate_kind(lx, token)
            if lx.accept("("):
                params = parse_expression_list(lx, resolve)
                lx.expect(")", "to close the parameter list")
        qubits = [self._body_qubit(lx, gate_name, local)]
        while lx.accept(","):
            qubits.append(self._body_qubit(lx, gate_name, local))
        lx.expect(";", f"the '{token.text}' statement")
        if kind is None:
            unique = tuple(dict.fromkeys(qubits))
            return _operation(Gate._trusted("barrier", (), len(unique)), unique), None
        self._check_counts(lx, token, kind, len(params), len(qubits))
        if len(set(qubits)) != len(qubits):
            raise lx.error(f"gate '{token.text}' is applied to the same qubit twice", token.pos)
        if kind.definition is None:
            self.used_builtins.add(token.text)
        gate = Gate._trusted(kind.ir_name, tuple(params), kind.num_qubits or len(qubits), kind.definition)
        return _operation(gate, tuple(qubits)), kind

    def _body_qubit(self, lx: Lexer, gate_name: str, local: dict[str, int]) -> int:
        token = lx.expect_id(f"as a qubit of gate '{gate_name}'")
        if token.text not in local:
            raise lx.error(f"'{token.text}' is not a qubit of gate '{gate_name}' (its qubits: {', '.join(local)})",
                           token.pos)
        if lx.peek().text == "[":
            raise lx.error(f"inside a gate body, qubits are the gate's own names without an index; write "
                           f"'{token.text}'", lx.peek().pos)
        return local[token.text]

    # --- operations of the main program --------------------------------------------------------------------------
    def _if(self, lx: Lexer) -> None:
        lx.next()
        lx.expect("(", "after 'if'")
        reg = lx.expect_id("as the classical register of the condition")
        if reg.text not in self.cregs:
            hint = " (it is a quantum register)" if reg.text in self.qregs else self._suggest(reg.text, self.cregs)
            raise lx.error(f"undefined classical register '{reg.text}' in the condition{hint}", reg.pos)
        lx.expect("==", "in the condition (OpenQASM 2 compares a register with '==')")
        value = lx.expect_int("as the value of the condition")
        lx.expect(")", "to close the condition")
        size = self.cregs[reg.text][1]
        if int(value.text) >= 1 << size:
            raise lx.error(f"value {value.text} does not fit classical register '{reg.text}' of {size} bit(s)",
                           value.pos)
        nxt = lx.peek()
        if nxt.kind == "id" and nxt.text in ("if", "barrier", "gate", "qreg", "creg", "include", "opaque"):
            raise lx.error(f"'{nxt.text}' cannot follow 'if (...)'; only a gate call, measure, reset or delay can",
                           nxt.pos)
        self._quantum_operation(lx, (reg.text, int(value.text)))

    def _quantum_operation(self, lx: Lexer, condition: tuple[str, int] | None) -> None:
        token = lx.next()
        if token.kind != "id":
            raise lx.error(f"expected a gate call, measure or reset, found {describe(token)}", token.pos)
        word = token.text
        if word == "measure":
            self._measure(lx, condition)
        elif word == "reset":
            args = self._args(lx, "reset")
            lx.expect(";", "the 'reset' statement")
            self._charge(lx, token.pos, sum(len(arg.bits) for arg in args))
            for arg in args:
                for q in arg.bits:
                    self.ops.append(_operation(_RESET, (q,), (), condition))
        elif word == "barrier":
            args = self._args(lx, "barrier")
            lx.expect(";", "the 'barrier' statement")
            self._charge(lx, token.pos, 1)
            unique = tuple(dict.fromkeys(q for arg in args for q in arg.bits))
            self.ops.append(_operation(Gate._trusted("barrier", (), len(unique)), unique))
        elif word == "delay":
            self._delay(lx, condition)
        else:
            self._gate_call(lx, token, condition)

    def _gate_kind(self, lx: Lexer, token: Token) -> _GateKind:
        kind = self.gates.get(token.text)
        if kind is None:
            hint = self._suggest(token.text, self.gates)
            raise lx.error(f"undefined gate '{token.text}'{hint}", token.pos)
        return kind

    def _gate_call(self, lx: Lexer, token: Token, condition: tuple[str, int] | None) -> None:
        kind = self._gate_kind(lx, token)
        params: list[ParamValue] = []
        if lx.accept("("):
            params = parse_expression_list(lx, self._free_parameter)
            lx.expect(")", "to close the parameter list")
        if len(params) != kind.num_params:
            raise lx.error(f"gate '{token.text}' takes {kind.num_params} parameter(s), got {len(params)}", token.pos)
        args = self._args(lx, f"gate '{token.text}'")
        lx.expect(";", f"the '{token.text}' statement")
        self._check_counts(lx, token, kind, len(params), len(args))
        calls = max((len(arg.bits) for arg in args if arg.is_register), default=1)
        self._charge(lx, token.pos, calls * kind.cost)
        gate = Gate._trusted(kind.ir_name, tuple(params), kind.num_qubits or len(args), kind.definition)
        if kind.definition is None:
            self.used_builtins.add(token.text)
        for qubits in self._broadcast(lx, token, args):
            self.ops.append(_operation(gate, qubits, (), condition))

    def _check_counts(self, lx: Lexer, token: Token, kind: _GateKind, num_params: int, num_qubits: int) -> None:
        if num_params != kind.num_params:
            raise lx.error(f"gate '{token.text}' takes {kind.num_params} parameter(s), got {num_params}", token.pos)
        if kind.num_qubits is not None and num_qubits != kind.num_qubits:
            raise lx.error(f"gate '{token.text}' takes {kind.num_qubits} qubit argument(s), got {num_qubits}",
                           token.pos)

    def _broadcast(self, lx: Lexer, token: Token, args: list[_Arg]) -> list[tuple[int, ...]]:
        sizes = {len(arg.bits) for arg in args if arg.is_register}
        if len(sizes) > 1:
            described = ", ".join(f"'{a.token.text}' ({len(a.bits)})" for a in args if a.is_register)
            raise lx.error(f"'{token.text}' is applied to registers of different sizes: {described}", token.pos)
        count = sizes.pop() if sizes else 1
        rows = []
        for i in range(count):
            row = tuple(arg.bits[i] if arg.is_register else arg.bits[0] for arg in args)
            if len(set(row)) != len(row):
                repeated = next(q for q in row if row.count(q) > 1)
                raise lx.error(f"'{token.text}' is applied to qubit {self._qubit_name(repeated)} more than once",
                               token.pos)
            rows.append(row)
        return rows

    def _measure(self, lx: Lexer, condition: tuple[str, int] | None) -> None:
        qarg = self._arg(lx, quantum=True, context="measure")
        lx.expect("->", "between the qubit and the classical bit of 'measure'")
        carg = self._arg(lx, quantum=False, context="measure")
        lx.expect(";", "the 'measure' statement")
        if qarg.is_register != carg.is_register or len(qarg.bits) != len(carg.bits):
            raise lx.error(f"measure pairs {len(qarg.bits)} qubit(s) of '{qarg.token.text}' with "
                           f"{len(carg.bits)} bit(s) of '{carg.token.text}'; give two registers of the same size "
                           "or two single bits", qarg.token.pos)
        self._charge(lx, qarg.token.pos, len(qarg.bits))
        for q, c in zip(qarg.bits, carg.bits, strict=True):
            self.ops.append(_operation(_MEASURE, (q,), (c,), condition))

    def _delay(self, lx: Lexer, condition: tuple[str, int] | None) -> None:
        lx.expect("(", "after 'delay' (write delay(100ns) q[0];)")
        number = lx.next()
        if number.kind not in ("real", "int"):
            raise lx.error(f"expected the duration as a number with a unit, such as delay(100ns), found "
                           f"{describe(number)}", number.pos)
        unit = lx.peek()
        if unit.kind != "id" or unit.pos != number.pos + len(number.text):
            raise lx.error("give the delay's unit right after the number: ns, us, ms or s (as in delay(100ns))",
                           unit.pos)
        lx.next()
        if not math.isfinite(float(number.text)):
            raise lx.error(f"the delay {number.text} is too large for a 64-bit float", number.pos)
        if unit.text not in DELAY_UNITS:
            raise lx.error(f"unknown delay unit '{unit.text}'; use ns, us, ms or s", unit.pos)
        lx.expect(")", "to close the delay duration")
        args = self._args(lx, "delay")
        lx.expect(";", "the 'delay' statement")
        self._charge(lx, number.pos, sum(len(arg.bits) for arg in args))
        gate = Gate._trusted("delay", (float(number.text) * DELAY_UNITS[unit.text],), 1)
        for arg in args:
            for q in arg.bits:
                self.ops.append(_operation(gate, (q,), (), condition))

    def _args(self, lx: Lexer, context: str) -> list[_Arg]:
        args = [self._arg(lx, quantum=True, context=context)]
        while lx.accept(","):
            args.append(self._arg(lx, quantum=True, context=context))
        return args

    def _arg(self, lx: Lexer, quantum: bool, context: str) -> _Arg:
        what = "quantum" if quantum else "classical"
        token = lx.expect_id(f"as a {what} argument of {context}")
        regs, others = (self.qregs, self.cregs) if quantum else (self.cregs, self.qregs)
        if token.text not in regs:
            if token.text in others:
                other = "classical" if quantum else "quantum"
                raise lx.error(f"'{token.text}' is a {other} register; {context} needs a {what} register here",
                               token.pos)
            raise lx.error(f"undefined {what} register '{token.text}'{self._suggest(token.text, regs)}", token.pos)
        offset, size = regs[token.text]
        if lx.accept("["):
            if self.version3:
                i = control_flow.read_index(self, lx, token.text, size)
                lx.expect("]", f"after the index into '{token.text}'")
                return _Arg(token, [offset + i], False)
            index = lx.expect_int(f"as the index into '{token.text}'")
            lx.expect("]", f"after the index into '{token.text}'")
            i = int(index.text)
            if i >= size:
                raise lx.error(f"index {i} is out of range for register '{token.text}' of size {size}", index.pos)
            return _Arg(token, [offset + i], False)
        return _Arg(token, range(offset, offset + size), True)

    # --- helpers -------------------------------------------------------------------------------------------------
    def _charge(self, lx: Lexer, pos: int, operations: int) -> None:
        """Count ``operations`` more towards the program's expanded size; refuse them before they are built."""
        if self.expanded + operations > self.max_operations:
            line, column = location(lx.text, pos)
            allowed = int(self.max_operations)
            what = (f"this statement expands to {operations} operations" if operations > allowed else
                    f"the program expands to more than {allowed} operations here")
            raise QasmLimitError(f"{what}, more than the limit of {allowed} operations per circuit "
                                 "(max_operations)", line, column, lx.filename, limit="max_operations",
                                 allowed=allowed, found=max(operations, self.expanded + operations))
        self.expanded += operations

    def _qubit_name(self, flat: int) -> str:
        for name, (offset, size) in self.qregs.items():
            if offset <= flat < offset + size:
                return f"{name}[{flat - offset}]"
        return str(flat)

    def _free_parameter(self, token: Token) -> ParamValue:
        # Extension: an unknown name in the main program is a free parameter, bound later (parameter sweeps).
        if token.text in self.loop_values:
            return float(self.loop_values[token.text])
        param = self.free_params.get(token.text)
        if param is None:
            param = self.free_params[token.text] = Parameter(token.text)
        return param

    @staticmethod
    def _suggest(name: str, known: object) -> str:
        close = difflib.get_close_matches(name, list(known), n=1)  # type: ignore[call-overload]
        return f"; did you mean '{close[0]}'?" if close else ""

