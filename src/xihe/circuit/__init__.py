"""Layer 1: the circuit IR (gate table, gates, operations, parameters, registers, circuits)."""

from xihe.circuit.circuit import Circuit
from xihe.circuit.control import IfElse, walk
from xihe.circuit.definition import GateDefinition
from xihe.circuit.gate import (
    NON_UNITARY,
    Gate,
    GateSpec,
    Operation,
    gate_spec,
    gate_specs,
    has_variable_arity,
    is_self_inverse,
    is_symmetric,
    is_virtual,
)
from xihe.circuit.parameter import Parameter, ParameterExpression, ParamValue
from xihe.circuit.protocols import decompose, decompose_to, inverse_gate, inverse_operations, unitary
from xihe.circuit.register import Bit, ClassicalRegister, QuantumRegister, Register

__all__ = [
    "NON_UNITARY",
    "Bit",
    "Circuit",
    "ClassicalRegister",
    "Gate",
    "GateDefinition",
    "GateSpec",
    "IfElse",
    "Operation",
    "ParamValue",
    "Parameter",
    "ParameterExpression",
    "QuantumRegister",
    "Register",
    "decompose",
    "decompose_to",
    "gate_spec",
    "gate_specs",
    "has_variable_arity",
    "inverse_gate",
    "inverse_operations",
    "is_self_inverse",
    "is_symmetric",
    "is_virtual",
    "unitary",
    "walk",
]
