"""User-defined gates (OpenQASM 2 ``gate`` blocks), kept as named definitions.

A :class:`GateDefinition` has a name, formal parameter names, an arity and a body: operations on local qubits
``0..num_qubits-1`` whose parameters are expressions of the formal :class:`~xihe.circuit.parameter.Parameter`\\ s.
A :class:`~xihe.circuit.gate.Gate` that carries a definition is expanded by substituting its parameter values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xihe.circuit.gate import Gate, Operation
from xihe.circuit.parameter import ParameterExpression, ParamValue


@dataclass(frozen=True)
class GateDefinition:
    """A named gate with a body, as written in a ``gate name(params) qubits { body }`` block."""

    name: str
    params: tuple[str, ...]
    num_qubits: int
    body: tuple[Operation, ...]
    qubit_names: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        # Qubit names are cosmetic: two definitions with the same structure are the same gate.
        if other is self:
            return True
        return (
            isinstance(other, GateDefinition)
            and other.name == self.name
            and other.params == self.params
            and other.num_qubits == self.num_qubits
            and other.body == self.body
        )

    def __hash__(self) -> int:
        return hash((self.name, self.params, self.num_qubits))

    def gate(self, params: Sequence[ParamValue] = ()) -> Gate:
        """This definition applied with the given parameter values."""
        return Gate(self.name, tuple(params), definition=self)

    def expand(self, params: Sequence[ParamValue]) -> list[Operation]:
        """The body with formal parameters replaced by ``params`` (local qubit indices kept)."""
        values = dict(zip(self.params, params, strict=True))
        out = []
        for op in self.body:
            gate = op.gate
            if gate.params and values:
                new_params = tuple(
                    p.substitute(values) if isinstance(p, ParameterExpression) else p for p in gate.params
                )
                gate = Gate._trusted(gate.name, new_params, gate.num_qubits, gate.definition)
            out.append(Operation(gate, op.qubits))
        return out

    def dependencies(self) -> list[GateDefinition]:
        """Other user definitions this body uses, deepest first, without repeats."""
        seen: dict[str, GateDefinition] = {}
        for op in self.body:
            inner = op.gate.definition
            if inner is not None:
                for dep in [*inner.dependencies(), inner]:
                    seen.setdefault(dep.name, dep)
        return list(seen.values())
