"""Parameter expressions of OpenQASM 2.0: numbers, ``pi``, names, ``+ - * / ^``, unary minus and functions.

Constant sub-expressions fold to floats at once (``pi/2`` is ``1.5707963267948966``), so a circuit of numbers reads
back equal to the one that was written. Names become :class:`~xihe.circuit.parameter.Parameter`\\ s: inside a gate
body only its formal parameters are allowed; in the main program an unknown name is a free parameter (an
extension for parametrized sweeps). Precedence, loosest first: ``+ -``, ``* /``, unary ``-``, ``^`` (right
associative), as Qiskit reads it.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable

from xihe.circuit.parameter import FUNCTIONS, ParameterExpression, ParamValue, UnaryOp, _binary, apply_function
from xihe.errors import CircuitError
from xihe.qasm.lexer import Lexer, Token, describe

# Deepest nesting of parentheses and unary operators read (well within Python's recursion limit).
MAX_NESTING = 100

# Resolves an identifier (not 'pi', not a function) to a value, or raises a QasmError.
NameResolver = Callable[[Token], ParamValue]


def parse_expression_list(lexer: Lexer, resolve: NameResolver) -> list[ParamValue]:
    """``expr, expr, ...`` up to (not including) the closing ')'; empty if the next token is ')'."""
    if lexer.peek().text == ")":
        return []
    values = [parse_expression(lexer, resolve)]
    while lexer.accept(","):
        values.append(parse_expression(lexer, resolve))
    return values


def parse_expression(lexer: Lexer, resolve: NameResolver) -> ParamValue:
    value = _term(lexer, resolve)
    while True:
        token = lexer.peek()
        if token.kind == "symbol" and token.text in "+-":
            lexer.next()
            value = _combine(lexer, token, value, _term(lexer, resolve))
        else:
            return value


def _term(lexer: Lexer, resolve: NameResolver) -> ParamValue:
    value = _unary(lexer, resolve)
    while True:
        token = lexer.peek()
        if token.kind == "symbol" and token.text in "*/":
            lexer.next()
            value = _combine(lexer, token, value, _unary(lexer, resolve))
        else:
            return value


def _unary(lexer: Lexer, resolve: NameResolver) -> ParamValue:
    lexer.depth += 1
    try:
        return _unary_inner(lexer, resolve)
    finally:
        lexer.depth -= 1


def _unary_inner(lexer: Lexer, resolve: NameResolver) -> ParamValue:
    token = lexer.peek()
    if lexer.depth > MAX_NESTING:
        raise lexer.error(f"the expression nests deeper than {MAX_NESTING} levels", token.pos)
    if token.kind == "symbol" and token.text == "-":
        lexer.next()
        arg = _unary(lexer, resolve)
        return UnaryOp("-", arg) if isinstance(arg, ParameterExpression) else -arg
    if token.kind == "symbol" and token.text == "+":
        lexer.next()
        return _unary(lexer, resolve)
    return _power(lexer, resolve)


def _power(lexer: Lexer, resolve: NameResolver) -> ParamValue:
    base = _atom(lexer, resolve)
    token = lexer.peek()
    if token.kind == "symbol" and token.text == "^":
        lexer.next()
        return _combine(lexer, token, base, _unary(lexer, resolve))
    return base


def _atom(lexer: Lexer, resolve: NameResolver) -> ParamValue:
    token = lexer.next()
    if token.kind in ("real", "int"):
        value = float(token.text)
        if not math.isfinite(value):
            raise lexer.error(f"the number {token.text} is too large for a 64-bit float", token.pos)
        return value
    if token.kind == "id":
        if token.text == "pi":
            return math.pi
        if token.text in FUNCTIONS:
            lexer.expect("(", f"after the function '{token.text}'")
            arg = parse_expression(lexer, resolve)
            lexer.expect(")", f"to close the argument of '{token.text}'")
            try:
                return _real(apply_function(token.text, arg), lexer, token)
            except CircuitError as exc:
                raise lexer.error(exc.message, token.pos) from None
        if lexer.peek().text == "(":
            known = ", ".join(sorted(FUNCTIONS))
            raise lexer.error(f"unknown function '{token.text}'; the functions are {known}", token.pos)
        return resolve(token)
    if token.kind == "symbol" and token.text == "(":
        inner = parse_expression(lexer, resolve)
        lexer.expect(")", "to close the parenthesis")
        return inner
    raise lexer.error(f"expected a number, 'pi', a parameter name or '(' in an expression, found {describe(token)}",
                      token.pos)


def _combine(lexer: Lexer, op: Token, left: ParamValue, right: ParamValue) -> ParamValue:
    try:
        return _real(_binary(op.text, left, right), lexer, op)
    except ZeroDivisionError:
        raise lexer.error("division by zero in a parameter expression", op.pos) from None
    except OverflowError:
        raise lexer.error("a parameter expression overflows a 64-bit float", op.pos) from None


def _real(value: ParamValue | complex, lexer: Lexer, token: Token) -> ParamValue:
    if isinstance(value, complex):
        raise lexer.error("a parameter expression has no real value here (for example, a negative number to a "
                          "fractional power)", token.pos)
    if isinstance(value, float) and not cmath.isfinite(value):
        raise lexer.error("a parameter expression is not a finite number", token.pos)
    return value
