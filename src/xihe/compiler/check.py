"""The native-circuit checker: verbatim jobs and every compiler output must pass it.

A circuit is native for a target when every unitary gate is a native gate on a qubit tuple the target lists
(working qubits, working couplers, right direction), and every instruction acts on working qubits only.
"""

from __future__ import annotations

from xihe.circuit import Circuit, walk
from xihe.compiler.target import Target
from xihe.errors import ValidationError


def check_native(circuit: Circuit, target: Target) -> None:
    """Raise :class:`ValidationError` naming the first gate that is not native on its qubits."""
    if circuit.num_qubits > target.num_qubits:
        raise ValidationError(f"the circuit has {circuit.num_qubits} qubits; the device numbers {target.num_qubits}")
    if target.unconstrained:
        return
    working = set(target.working_qubits)
    for index, op in enumerate(walk(circuit.operations)):  # inside if blocks too (index: in walk order)
        gate = op.gate
        dead = [q for q in op.qubits if q not in working]
        if dead and gate.name != "barrier":
            raise ValidationError(f"operation {index} '{gate.name}' on qubits {op.qubits}: qubit(s) {dead} are not "
                                  "working on this device")
        if not gate.is_unitary:
            continue
        if gate.definition is not None or gate.name not in target.native_gates:
            raise ValidationError(f"operation {index}: gate '{gate.name}' on qubits {op.qubits} is not native; "
                                  f"native gates are {', '.join(sorted(target.native_gates))}")
        if not target.supports(gate.name, op.qubits):
            if len(op.qubits) == 2:
                raise ValidationError(f"operation {index}: gate '{gate.name}' on qubits {op.qubits}: no working "
                                      "coupler supports it there (in that direction)")
            raise ValidationError(f"operation {index}: gate '{gate.name}' is not available on qubits {op.qubits}")
