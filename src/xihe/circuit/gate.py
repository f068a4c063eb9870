"""Gates as immutable values, and the spec that describes each kind of gate.

A :class:`GateSpec` is one row of the gate table (see :mod:`xihe.circuit.standard_gates`): name, arity, number of
parameters, matrix function, inverse rule, decomposition, QASM spelling and a line of help. A :class:`Gate` is a
value: a name, its parameter values and its arity (and, for a user's ``gate`` definition, that definition). An
:class:`Operation` is a gate (or a non-unitary instruction) on qubits; circuits are lists of operations.

Matrix convention: the gate's first qubit is the most significant bit of the matrix index (``CX`` on ``(c, t)``
is ``[[1,0,0,0],[0,1,0,0],[0,0,0,1],[0,0,1,0]]``), as in Cirq and textbooks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from xihe.circuit.parameter import ParameterExpression
from xihe.errors import CircuitError

if TYPE_CHECKING:
    from xihe.circuit.definition import GateDefinition
    from xihe.circuit.parameter import ParamValue

# A step of a decomposition: (gate name, parameter values, indices into the decomposed gate's qubits).
DecompStep = tuple[str, tuple["ParamValue", ...], tuple[int, ...]]

# Instructions that are not unitary gates. They share Operation with gates but have no matrix.
NON_UNITARY = frozenset({"measure", "reset", "barrier", "delay", "if_else"})  # if_else: xihe.circuit.control


@dataclass(frozen=True)
class GateSpec:
    """One row of the gate table.

    ``num_qubits`` is ``None`` for gates of variable arity (``mcx``, ``mcy``, ``mcz``); their functions then take
    the arity as first argument. ``inverse`` maps parameters to ``(name, params)`` of the inverse gate, or is
    ``None`` when the inverse is the reversed inverse of the decomposition. ``original_qelib1`` marks the gates of
    the original OpenQASM 2 ``qelib1.inc``, which a program may not redefine; any other built-in may be replaced
    by a program's own ``gate`` definition.

    The remaining columns are facts that passes and adapters look up instead of keeping their own lists (a
    table-wide test checks each against the matrix): ``symmetric`` (a 2q gate unchanged by exchanging its
    qubits), ``self_inverse`` (U·U = I for every parameter value), ``diagonal`` (diagonal in the computational
    basis), ``virtual`` (a 1q frame change a chip does in software: no duration, no error), and ``commutation``,
    one letter per qubit: ``Z`` where the gate commutes with Z on that qubit, else ``X`` where it commutes with X
    there, else ``.`` (empty for gates of variable arity).
    """

    name: str
    num_qubits: int | None
    num_params: int
    matrix: Callable[..., np.ndarray]
    decomposition: Callable[..., list[DecompStep]] | None
    inverse: Callable[..., tuple[str, tuple[ParamValue, ...]]] | None
    doc: str
    qasm_name: str = ""
    original_qelib1: bool = False
    in_qelib1: bool = True
    clifford: bool = False
    param_names: tuple[str, ...] = field(default=())
    symmetric: bool = False
    self_inverse: bool = False
    diagonal: bool = False
    virtual: bool = False
    commutation: str = ""

    def __post_init__(self) -> None:
        if not self.qasm_name:
            object.__setattr__(self, "qasm_name", self.name)

    @property
    def variable_arity(self) -> bool:
        """Whether the gate takes any number of qubits (the multi-controlled ``mcx``/``mcy``/``mcz``/``mcp``)."""
        return self.num_qubits is None


_REGISTRY: dict[str, GateSpec] = {}


def register(spec: GateSpec) -> GateSpec:
    """Add a spec to the gate table (the standard table calls this at import)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"gate '{spec.name}' is already in the table")
    _REGISTRY[spec.name] = spec
    return spec


def gate_spec(name: str) -> GateSpec | None:
    """The table row for ``name``, or ``None`` if it is not a built-in gate."""
    if not _REGISTRY:
        _load_standard_table()
    return _REGISTRY.get(name)


def gate_specs() -> dict[str, GateSpec]:
    """The whole gate table, by name."""
    if not _REGISTRY:
        _load_standard_table()
    return dict(_REGISTRY)


def is_symmetric(name: str) -> bool:
    """Whether ``name`` is a table 2q gate unchanged by exchanging its qubits (``cz``, ``rzz``; not ``crz``)."""
    spec = gate_spec(name)
    return spec is not None and spec.symmetric


def is_self_inverse(name: str) -> bool:
    """Whether the table gate ``name`` is its own inverse for every parameter value."""
    spec = gate_spec(name)
    return spec is not None and spec.self_inverse


def is_virtual(name: str) -> bool:
    """Whether the table gate ``name`` is a frame change a chip does in software (no duration, no error)."""
    spec = gate_spec(name)
    return spec is not None and spec.virtual


def has_variable_arity(name: str) -> bool:
    """Whether the table gate ``name`` takes any number of qubits (``mcx``, ``mcy``, ``mcz``, ``mcp``)."""
    spec = gate_spec(name)
    return spec is not None and spec.variable_arity


def _load_standard_table() -> None:
    import xihe.circuit.standard_gates  # noqa: F401  (registers the table)


class Gate:
    """An immutable gate value: name, parameters, arity and (for user gates) the definition.

    >>> Gate("rz", (0.5,)) == Gate("rz", (0.5,))
    True
    """

    # ``_hash``: set on the first ``hash()`` (every cache and memo of the compiler hashes gates), never compared.
    __slots__ = ("_hash", "definition", "name", "num_qubits", "params")

    name: str
    params: tuple[ParamValue, ...]
    num_qubits: int
    definition: GateDefinition | None
    _hash: int

    def __init__(
        self,
        name: str,
        params: Sequence[ParamValue] = (),
        num_qubits: int | None = None,
        definition: GateDefinition | None = None,
    ) -> None:
        params = tuple(params)
        if definition is None and name not in NON_UNITARY:
            spec = gate_spec(name)
            if spec is None:
                raise CircuitError(f"unknown gate '{name}'")
            if len(params) != spec.num_params:
                raise CircuitError(f"gate '{name}' takes {spec.num_params} parameter(s), got {len(params)}")
            if spec.num_qubits is not None:
                if num_qubits is not None and num_qubits != spec.num_qubits:
                    raise CircuitError(f"gate '{name}' acts on {spec.num_qubits} qubit(s), not {num_qubits}")
                num_qubits = spec.num_qubits
            elif num_qubits is None:
                raise CircuitError(f"gate '{name}' has variable arity: give num_qubits")
        elif definition is not None:
            num_qubits = definition.num_qubits
            if len(params) != len(definition.params):
                raise CircuitError(
                    f"gate '{name}' takes {len(definition.params)} parameter(s), got {len(params)}"
                )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "num_qubits", num_qubits if num_qubits is not None else 1)
        object.__setattr__(self, "definition", definition)

    @classmethod
    def _trusted(
        cls, name: str, params: tuple[ParamValue, ...], num_qubits: int, definition: GateDefinition | None = None
    ) -> Gate:
        """Build without validation (the QASM parser has already checked arity and parameters)."""
        gate = object.__new__(cls)
        object.__setattr__(gate, "name", name)
        object.__setattr__(gate, "params", params)
        object.__setattr__(gate, "num_qubits", num_qubits)
        object.__setattr__(gate, "definition", definition)
        return gate

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Gate is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle (process pools, Ray) must rebuild through object.__setattr__, not the refusing __setattr__.
        return (Gate._trusted, (self.name, self.params, self.num_qubits, self.definition))

    @property
    def spec(self) -> GateSpec | None:
        """The table row, or ``None`` for a user-defined gate or a non-unitary instruction."""
        return None if self.definition is not None else gate_spec(self.name)

    @property
    def is_unitary(self) -> bool:
        return self.name not in NON_UNITARY

    @property
    def is_parametrized(self) -> bool:
        # No import per call and a float fast path: the compiler asks this of every operation it converts to arrays.
        return bool(self.params) and any(type(p) is not float and isinstance(p, ParameterExpression)
                                         for p in self.params)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Gate)
            and other.name == self.name
            and other.num_qubits == self.num_qubits
            and other.params == self.params
            and other.definition == self.definition
        )

    def __hash__(self) -> int:
        # Immutable, so the hash is computed once; the compiler's caches and memos hash the same gates many times.
        try:
            return self._hash
        except AttributeError:
            value = hash((self.name, self.params, self.num_qubits))
            object.__setattr__(self, "_hash", value)
            return value

    def __repr__(self) -> str:
        args = [repr(self.name)]
        if self.params:
            args.append(repr(self.params))
        if self.definition is not None:
            args.append(f"definition=<gate {self.definition.name}>")
        elif self.name == "barrier" or (self.name not in NON_UNITARY and (spec := gate_spec(self.name)) is not None
                                        and spec.num_qubits is None):
            args.append(f"num_qubits={self.num_qubits}")
        return f"Gate({', '.join(args)})"


class Operation:
    """A gate or instruction on qubits (and, for ``measure``, classical bits), possibly conditioned.

    ``condition`` is ``(classical register name, value)``: the operation runs only when that register reads
    ``value`` (OpenQASM 2 ``if``).
    """

    __slots__ = ("_hash", "clbits", "condition", "gate", "qubits")  # ``_hash``: as :class:`Gate`'s

    gate: Gate
    qubits: tuple[int, ...]
    clbits: tuple[int, ...]
    condition: tuple[str, int] | None
    _hash: int

    def __init__(
        self,
        gate: Gate,
        qubits: tuple[int, ...],
        clbits: tuple[int, ...] = (),
        condition: tuple[str, int] | None = None,
    ) -> None:
        object.__setattr__(self, "gate", gate)
        object.__setattr__(self, "qubits", qubits)
        object.__setattr__(self, "clbits", clbits)
        object.__setattr__(self, "condition", condition)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Operation is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Operation, (self.gate, self.qubits, self.clbits, self.condition))

    @property
    def name(self) -> str:
        return self.gate.name

    @property
    def params(self) -> tuple[ParamValue, ...]:
        return self.gate.params

    def replace(self, **changes: Any) -> Operation:
        """A copy with some fields changed (``qubits=...``, ``gate=...``)."""
        return Operation(
            changes.get("gate", self.gate),
            changes.get("qubits", self.qubits),
            changes.get("clbits", self.clbits),
            changes.get("condition", self.condition),
        )

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Operation)
            and other.qubits == self.qubits
            and other.gate == self.gate
            and other.clbits == self.clbits
            and other.condition == self.condition
        )

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:
            value = hash((self.gate, self.qubits, self.clbits, self.condition))
            object.__setattr__(self, "_hash", value)
            return value

    def __repr__(self) -> str:
        text = f"Operation({self.gate!r}, {self.qubits!r}"
        if self.clbits:
            text += f", clbits={self.clbits!r}"
        if self.condition:
            text += f", condition={self.condition!r}"
        return text + ")"
