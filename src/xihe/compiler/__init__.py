"""Layer 3: the compiler. ``Target`` describes a device; ``transpile`` maps a circuit onto it.

Stages (DESIGN.md): unroll to 1q+2q -> noise-aware layout -> SABRE routing -> translation to native gates ->
optimisation (fusion, cancellation) -> ASAP scheduling with explicit delays.
"""

from xihe.compiler.check import check_native
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.estimate import estimated_success_probability, log_success_probability
from xihe.compiler.target import InstructionProperties, Target
from xihe.compiler.transpile import TranspileResult, transpile

__all__ = [
    "DAGCircuit",
    "InstructionProperties",
    "PropertySet",
    "Target",
    "TranspileResult",
    "check_native",
    "estimated_success_probability",
    "log_success_probability",
    "transpile",
]
