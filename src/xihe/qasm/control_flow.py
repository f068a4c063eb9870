"""OpenQASM 3 control flow for the reader: ``if``/``else`` blocks and ``for`` loops over literal ranges.

The OpenQASM 3 front end (:mod:`xihe.qasm.qasm3`) rewrites each block header into a canonical form the
OpenQASM 2 lexer tokenizes, keeping the line (``if (c[0]) {`` becomes ``if (c[0]==1) {``; ``for int i in [0:2] {``
becomes ``for i(0,1,2) {``: start, step, stop; a set ``{1, 5}`` becomes ``for i[1,5] {``). The parser, in its
OpenQASM 3 mode, hands those statements here:

- ``if (bit==v)`` / ``if (register==v)``, a braced body or one statement, an optional ``else`` body (or
  ``else if``): one :class:`~xihe.circuit.control.IfElse` whose bodies are read as the main program is.
- ``for`` loops are unrolled at read time, the body read once per value with the loop variable bound (usable in
  parameter expressions and as a register index). Every unrolled operation, and each iteration itself, is charged
  to the parse limits, so a long loop (or nested empty loops) is refused as a long program is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from xihe.circuit.control import IfElse
from xihe.circuit.gate import Operation
from xihe.errors import CircuitError
from xihe.qasm.lexer import Lexer, Token, describe

if TYPE_CHECKING:
    from xihe.qasm.parser import Parser

# Statements that declare something: only the top level of a program may hold them.
_DECLARATIONS = frozenset({"OPENQASM", "include", "qreg", "creg", "gate", "opaque"})
# Nesting of blocks and loops a program may use (bounds the recursion of the reader).
MAX_NESTING = 64


def read_if(parser: Parser, lx: Lexer, depth: int = 0) -> None:
    """``if (cond) body [else body]`` at ``lx`` (after the rewrite), appended to ``parser.ops`` as one block."""
    start = lx.next()
    if depth > MAX_NESTING:
        raise lx.error(f"blocks nest more than {MAX_NESTING} deep", start.pos)
    parser._charge(lx, start.pos, 1)  # the block is an operation of its own (an empty one costs too)
    lx.expect("(", "after 'if'")
    bits, value, register = _condition(parser, lx)
    lx.expect(")", "to close the condition")
    true_body = _body(parser, lx, depth)
    false_body: list[Operation] = []
    after = lx.peek()
    if after.text == "else" and after.kind == "id":
        lx.next()
        if lx.peek().text == "if":
            false_body = _collect(parser, lambda: read_if(parser, lx, depth + 1))
        else:
            false_body = _body(parser, lx, depth)
    else:
        lx.seek(after.pos)  # the caller goes on from lx.pos: un-read the token looked at
    try:
        parser.ops.append(IfElse(bits, value, true_body, false_body, register))
    except CircuitError as exc:
        raise lx.error(exc.message, start.pos) from None


def _condition(parser: Parser, lx: Lexer) -> tuple[tuple[int, ...], int, str | None]:
    name = lx.expect_id("as the classical register or bit of the condition")
    if name.text not in parser.cregs:
        hint = " (it is a quantum register)" if name.text in parser.qregs else parser._suggest(name.text,
                                                                                               parser.cregs)
        raise lx.error(f"undefined classical register '{name.text}' in the condition{hint}", name.pos)
    offset, size = parser.cregs[name.text]
    if lx.accept("["):
        index = read_index(parser, lx, name.text, size)
        lx.expect("]", f"after the index into '{name.text}'")
        lx.expect("==", "in the condition")
        value = lx.expect_int("as the value of the bit (0 or 1)")
        if int(value.text) > 1:
            raise lx.error(f"a bit compares with 0 or 1, not {value.text}", value.pos)
        return (offset + index,), int(value.text), None
    lx.expect("==", "in the condition (a register compares with '==', as in c == 3)")
    value = lx.expect_int("as the value of the condition")
    if int(value.text) >= 1 << size:
        raise lx.error(f"value {value.text} does not fit classical register '{name.text}' of {size} bit(s)",
                       value.pos)
    return tuple(range(offset, offset + size)), int(value.text), name.text


def read_index(parser: Parser, lx: Lexer, register: str, size: int) -> int:
    """A register index: an integer, or (OpenQASM 3) a loop variable."""
    token = lx.next()
    if token.kind == "id" and token.text in parser.loop_values:
        value = parser.loop_values[token.text]
    elif token.kind == "int":
        value = int(token.text)
    else:
        raise lx.error(f"expected an index into '{register}', found {describe(token)}", token.pos)
    if not 0 <= value < size:
        raise lx.error(f"index {value} is out of range for register '{register}' of size {size}", token.pos)
    return value


def _collect(parser: Parser, read: Callable[[], None]) -> list[Operation]:
    """The operations ``read()`` appends, taken out of the program's list."""
    saved = parser.ops
    parser.ops = []
    try:
        read()
        return parser.ops
    finally:
        parser.ops = saved


def _body(parser: Parser, lx: Lexer, depth: int) -> list[Operation]:
    """A braced body, or the single statement after the header."""
    if not lx.accept("{"):
        return _collect(parser, lambda: _statement(parser, lx, depth + 1))

    def read() -> None:
        while not lx.accept("}"):
            if lx.peek().kind == "eof":
                raise lx.error("this block is not closed: '}' is missing", lx.peek().pos)
            _statement(parser, lx, depth + 1)

    return _collect(parser, read)


def _statement(parser: Parser, lx: Lexer, depth: int) -> None:
    token = lx.peek()
    if token.kind == "id" and token.text in _DECLARATIONS:
        word = {"qreg": "qubit", "creg": "bit"}.get(token.text, token.text)  # as the OpenQASM 3 text spells it
        raise lx.error(f"'{word}' cannot appear inside a block; declare it at the top level", token.pos)
    if token.kind == "id" and token.text == "if":
        read_if(parser, lx, depth)
    elif token.kind == "id" and token.text == "for":
        read_for(parser, lx, depth)
    else:
        parser._quantum_operation(lx, None)


def read_for(parser: Parser, lx: Lexer, depth: int = 0) -> None:
    """``for name(start,step,stop) { ... }`` or ``for name[v, ...] { ... }`` (rewritten), unrolled."""
    start = lx.next()
    if depth > MAX_NESTING:
        raise lx.error(f"loops nest more than {MAX_NESTING} deep", start.pos)
    name = lx.expect_id("as the loop variable")
    values: range | list[int]
    if lx.accept("["):  # a set of values
        values = [_signed(lx)]
        while lx.accept(","):
            values.append(_signed(lx))
        lx.expect("]", "after the loop's values")
    else:
        lx.expect("(", "before the loop's range")
        first, step, stop = _range(lx)
        lx.expect(")", "to close the range")
        if step == 0:
            raise lx.error("a range's step cannot be 0", name.pos)
        values = range(first, stop + (1 if step > 0 else -1), step)
    if name.text in parser.loop_values or name.text in parser.qregs or name.text in parser.cregs:
        raise lx.error(f"the loop variable '{name.text}' is already a name in scope", name.pos)
    # Each iteration is charged as one operation, before any runs: nested empty loops are bounded as bodies are.
    parser._charge(lx, start.pos, len(values))
    brace = lx.expect("{", "to open the loop body (Xihe reads braced loop bodies)")
    end = _matching_brace(lx, brace)
    try:
        for value in values:
            parser.loop_values[name.text] = value
            body = Lexer(lx.text, brace.pos + 1, lx.filename, end=end)
            while body.peek().kind != "eof":
                _statement(parser, body, depth + 1)
    finally:
        parser.loop_values.pop(name.text, None)
    lx.seek(end + 1)


def _range(lx: Lexer) -> tuple[int, int, int]:
    first = _signed(lx)
    lx.expect(",", "in the range")
    step = _signed(lx)
    lx.expect(",", "in the range")
    return first, step, _signed(lx)


def _signed(lx: Lexer) -> int:
    negative = lx.accept("-") is not None
    token = lx.expect_int("in the loop's range (Xihe unrolls loops over integer literals)")
    return -int(token.text) if negative else int(token.text)


def _matching_brace(lx: Lexer, brace: Token) -> int:
    """The position of the ``}`` that closes the ``{`` at ``brace`` (tokens read, strings and comments skipped)."""
    scan = Lexer(lx.text, brace.pos + 1, lx.filename)
    level = 1
    while True:
        token = scan.next()
        if token.kind == "eof":
            raise lx.error("this loop body is not closed: '}' is missing", brace.pos)
        if token.text == "{" and token.kind == "symbol":
            level += 1
        elif token.text == "}" and token.kind == "symbol":
            level -= 1
            if level == 0:
                return token.pos
