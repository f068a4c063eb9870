"""Symbolic gate parameters: :class:`Parameter` and the expressions built from them.

A gate angle is either a plain ``float`` or a :class:`ParameterExpression`. Expressions are small immutable trees
with structural equality, so ``qasm.loads(qasm.dumps(c)) == c`` holds for parametrized circuits and for the bodies
of custom gate definitions (whose formal parameters are Parameters too). Arithmetic on two numbers folds to a
number at once, so bound values stay plain floats.

>>> theta = Parameter("theta")
>>> expr = 2 * theta + 0.5
>>> expr.to_qasm()
'2.0*theta+0.5'
>>> expr.bind({"theta": 1.0})
2.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Union

from xihe.errors import CircuitError

ParamValue = Union[float, "ParameterExpression"]

# Functions allowed in OpenQASM 2 expressions, with their numeric meaning.
FUNCTIONS: dict[str, Callable[[float], float]] = {
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "exp": math.exp,
    "ln": math.log,
    "sqrt": math.sqrt,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
}

_BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
}
# Binding strength of each binary operator, for printing with the fewest parentheses that keep the tree.
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}
_UNARY_PRECEDENCE = 3
_ATOM = 5


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _binary(op: str, left: ParamValue | int, right: ParamValue | int) -> ParamValue:
    if _is_number(left) and _is_number(right):
        return _BINARY[op](float(left), float(right))  # type: ignore[arg-type]
    return BinaryOp(op, _as_value(left), _as_value(right))


def _as_value(x: ParamValue | int) -> ParamValue:
    if isinstance(x, ParameterExpression):
        return x
    if _is_number(x):
        return float(x)
    raise TypeError(f"cannot use {x!r} in a parameter expression")


def apply_function(name: str, arg: ParamValue) -> ParamValue:
    """``sin(arg)`` etc.: a float for a number, an expression otherwise."""
    if name not in FUNCTIONS:
        raise CircuitError(f"unknown function '{name}'; known: {', '.join(sorted(FUNCTIONS))}")
    if isinstance(arg, ParameterExpression):
        return UnaryOp(name, arg)
    try:
        return FUNCTIONS[name](float(arg))
    except (ValueError, OverflowError) as exc:
        raise CircuitError(f"{name}({arg!r}) is undefined: {exc}") from None


def format_value(value: ParamValue) -> str:
    """The QASM text of a parameter value; floats are written with ``repr`` so they read back exactly."""
    if isinstance(value, ParameterExpression):
        return value.to_qasm()
    return _format_float(float(value))


def _format_float(x: float) -> str:
    text = repr(float(x))
    if text in ("inf", "-inf", "nan"):
        raise CircuitError(f"parameter value {text} cannot be written in OpenQASM")
    return text


def bind_value(value: ParamValue, bindings: Mapping[str, float]) -> ParamValue:
    """Substitute ``bindings`` (parameter name -> number) into a value."""
    if isinstance(value, ParameterExpression):
        return value.bind(bindings)
    return value


def value_parameters(value: ParamValue) -> frozenset[str]:
    """Names of the free parameters of a value (empty for a float)."""
    if isinstance(value, ParameterExpression):
        return value.parameters
    return frozenset()


class ParameterExpression:
    """Base of symbolic parameter values: arithmetic builds new expressions, ``bind`` evaluates."""

    __slots__ = ()
    _precedence: int = _ATOM

    @property
    def parameters(self) -> frozenset[str]:
        raise NotImplementedError

    def bind(self, bindings: Mapping[str, float]) -> ParamValue:
        raise NotImplementedError

    def substitute(self, values: Mapping[str, ParamValue]) -> ParamValue:
        """Replace parameters by values (numbers or expressions), folding numbers."""
        raise NotImplementedError

    def to_qasm(self) -> str:
        raise NotImplementedError

    def __float__(self) -> float:
        raise CircuitError(f"parameter expression '{self.to_qasm()}' is unbound: bind {sorted(self.parameters)}")

    def __add__(self, other: ParamValue | int) -> ParamValue:
        return _binary("+", self, other)

    def __radd__(self, other: ParamValue | int) -> ParamValue:
        return _binary("+", other, self)

    def __sub__(self, other: ParamValue | int) -> ParamValue:
        return _binary("-", self, other)

    def __rsub__(self, other: ParamValue | int) -> ParamValue:
        return _binary("-", other, self)

    def __mul__(self, other: ParamValue | int) -> ParamValue:
        return _binary("*", self, other)

    def __rmul__(self, other: ParamValue | int) -> ParamValue:
        return _binary("*", other, self)

    def __truediv__(self, other: ParamValue | int) -> ParamValue:
        return _binary("/", self, other)

    def __rtruediv__(self, other: ParamValue | int) -> ParamValue:
        return _binary("/", other, self)

    def __pow__(self, other: ParamValue | int) -> ParamValue:
        return _binary("^", self, other)

    def __rpow__(self, other: ParamValue | int) -> ParamValue:
        return _binary("^", other, self)

    def __neg__(self) -> ParamValue:
        return UnaryOp("-", self)

    def __pos__(self) -> ParamValue:
        return self

    def __repr__(self) -> str:
        return f"ParameterExpression({self.to_qasm()!r})"

    def __str__(self) -> str:
        return self.to_qasm()


class Parameter(ParameterExpression):
    """A named free parameter. Two parameters with the same name are the same parameter."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not name or not (name[0].isalpha() or name[0] == "_") or not name.replace("_", "a").isalnum():
            raise CircuitError(f"'{name}' is not a valid parameter name (letters, digits and _, not first a digit)")
        if name == "pi" or name in FUNCTIONS:
            raise CircuitError(f"'{name}' is reserved in OpenQASM expressions and cannot name a parameter")
        self.name = name

    @property
    def parameters(self) -> frozenset[str]:
        return frozenset((self.name,))

    def bind(self, bindings: Mapping[str, float]) -> ParamValue:
        if self.name in bindings:
            return float(bindings[self.name])
        return self

    def substitute(self, values: Mapping[str, ParamValue]) -> ParamValue:
        return values.get(self.name, self)

    def to_qasm(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Parameter) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("Parameter", self.name))

    def __repr__(self) -> str:
        return f"Parameter({self.name!r})"


class BinaryOp(ParameterExpression):
    """``left op right`` for op in ``+ - * / ^``."""

    __slots__ = ("left", "op", "right")

    def __init__(self, op: str, left: ParamValue, right: ParamValue) -> None:
        self.op = op
        self.left = left
        self.right = right

    @property
    def _precedence(self) -> int:  # type: ignore[override]
        return _PRECEDENCE[self.op]

    @property
    def parameters(self) -> frozenset[str]:
        return value_parameters(self.left) | value_parameters(self.right)

    def bind(self, bindings: Mapping[str, float]) -> ParamValue:
        return _binary(self.op, bind_value(self.left, bindings), bind_value(self.right, bindings))

    def substitute(self, values: Mapping[str, ParamValue]) -> ParamValue:
        left = self.left.substitute(values) if isinstance(self.left, ParameterExpression) else self.left
        right = self.right.substitute(values) if isinstance(self.right, ParameterExpression) else self.right
        return _binary(self.op, left, right)

    def to_qasm(self) -> str:
        prec = _PRECEDENCE[self.op]
        left = _operand_text(self.left)
        right = _operand_text(self.right)
        left_prec = _value_precedence(self.left)
        right_prec = _value_precedence(self.right)
        # '^' is right-associative; the others left-associative.
        if left_prec < prec or (self.op == "^" and left_prec == prec):
            left = f"({left})"
        if right_prec < prec or (self.op != "^" and right_prec == prec):
            right = f"({right})"
        return f"{left}{self.op}{right}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BinaryOp)
            and other.op == self.op
            and other.left == self.left
            and other.right == self.right
        )

    def __hash__(self) -> int:
        return hash((self.op, self.left, self.right))


class UnaryOp(ParameterExpression):
    """Negation (``-``) or one of :data:`FUNCTIONS` applied to an expression."""

    __slots__ = ("arg", "op")

    def __init__(self, op: str, arg: ParameterExpression) -> None:
        self.op = op
        self.arg = arg

    @property
    def _precedence(self) -> int:  # type: ignore[override]
        return _UNARY_PRECEDENCE if self.op == "-" else _ATOM

    @property
    def parameters(self) -> frozenset[str]:
        return self.arg.parameters

    def bind(self, bindings: Mapping[str, float]) -> ParamValue:
        return self._apply(self.arg.bind(bindings))

    def substitute(self, values: Mapping[str, ParamValue]) -> ParamValue:
        return self._apply(self.arg.substitute(values))

    def _apply(self, arg: ParamValue) -> ParamValue:
        if self.op == "-":
            return -arg if not isinstance(arg, ParameterExpression) else UnaryOp("-", arg)
        return apply_function(self.op, arg)

    def to_qasm(self) -> str:
        if self.op == "-":
            inner = self.arg.to_qasm()
            if self.arg._precedence <= _UNARY_PRECEDENCE:
                inner = f"({inner})"
            return f"-{inner}"
        return f"{self.op}({self.arg.to_qasm()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnaryOp) and other.op == self.op and other.arg == self.arg

    def __hash__(self) -> int:
        return hash((self.op, self.arg))


def _operand_text(value: ParamValue) -> str:
    if isinstance(value, ParameterExpression):
        return value.to_qasm()
    return _format_float(value)


def _value_precedence(value: ParamValue) -> int:
    if isinstance(value, ParameterExpression):
        return value._precedence
    # A negative number prints with a leading '-', which binds like unary minus.
    return _UNARY_PRECEDENCE if value < 0 or repr(value).startswith("-") else _ATOM
