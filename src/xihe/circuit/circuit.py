"""The circuit: registers plus a list of operations, with builder methods named like OpenQASM.

>>> qc = Circuit(2, 2)
>>> _ = qc.h(0).cx(0, 1).measure([0, 1], [0, 1])
>>> qc.count_ops()
{'h': 1, 'cx': 1, 'measure': 2}
>>> qc.depth()
3
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Union

from xihe.circuit.control import IfElse, walk
from xihe.circuit.gate import Gate, Operation, has_variable_arity
from xihe.circuit.parameter import ParamValue, bind_value, value_parameters
from xihe.circuit.register import Bit, ClassicalRegister, QuantumRegister, Register
from xihe.errors import CircuitError

if TYPE_CHECKING:
    from xihe.circuit.definition import GateDefinition

QubitSpec = Union[int, Bit, Register, Sequence[Union[int, Bit]]]
# What an if block tests: (register or its name, integer value), or (one clbit as a flat index or Bit, 0/1).
ConditionSpec = tuple[Union[str, ClassicalRegister, int, Bit], Union[int, bool]]

# Delay units and their length in ns (the IR's time unit).
DELAY_UNITS = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}


class Circuit:
    """Quantum and classical registers and the operations applied to them, in order.

    ``Circuit(n, m)`` makes registers ``q[n]`` and ``c[m]``; ``Circuit(QuantumRegister("a", 2), ...)`` takes
    registers. Qubits and classical bits are flat integers in register declaration order.
    """

    def __init__(self, *regs: int | Register, name: str | None = None) -> None:
        self.name = name
        self.qregs: list[QuantumRegister] = []
        self.cregs: list[ClassicalRegister] = []
        self._qoffset: dict[str, int] = {}
        self._coffset: dict[str, int] = {}
        self.num_qubits = 0
        self.num_clbits = 0
        self.operations: list[Operation] = []
        self._condition: tuple[str, int] | None = None
        ints = [r for r in regs if isinstance(r, int)]
        if ints:
            if len(ints) > 2 or len(ints) != len(regs):
                raise CircuitError("give Circuit(num_qubits[, num_clbits]) or registers, not both")
            if ints[0]:
                self.add_register(QuantumRegister("q", ints[0]))
            if len(ints) == 2 and ints[1]:
                self.add_register(ClassicalRegister("c", ints[1]))
        else:
            for reg in regs:
                assert isinstance(reg, Register)
                self.add_register(reg)

    # --- registers -----------------------------------------------------------------------------------------------
    def add_register(self, reg: Register) -> Circuit:
        if reg.name in self._qoffset or reg.name in self._coffset:
            raise CircuitError(f"register name '{reg.name}' is already used")
        if isinstance(reg, QuantumRegister):
            self.qregs.append(reg)
            self._qoffset[reg.name] = self.num_qubits
            self.num_qubits += reg.size
        elif isinstance(reg, ClassicalRegister):
            self.cregs.append(reg)
            self._coffset[reg.name] = self.num_clbits
            self.num_clbits += reg.size
        else:
            raise CircuitError("add a QuantumRegister or a ClassicalRegister")
        return self

    def qreg_offset(self, name: str) -> int:
        return self._qoffset[name]

    def creg_offset(self, name: str) -> int:
        return self._coffset[name]

    def creg(self, name: str) -> ClassicalRegister:
        for reg in self.cregs:
            if reg.name == name:
                return reg
        raise CircuitError(f"no classical register named '{name}'")

    # --- building ------------------------------------------------------------------------------------------------
    def append(
        self,
        gate: Gate | str,
        qubits: Sequence[int],
        params: Sequence[ParamValue] = (),
        clbits: Sequence[int] = (),
        condition: tuple[str, int] | None = None,
    ) -> Circuit:
        """Append one operation on flat qubit (and clbit) indices, checking them."""
        if isinstance(gate, str):
            variable = gate == "barrier" or has_variable_arity(gate)
            gate = Gate(gate, tuple(params), num_qubits=len(qubits) if variable else None)
        qubits = tuple(int(q) for q in qubits)
        clbits = tuple(int(c) for c in clbits)
        if gate.name != "barrier" and len(qubits) != gate.num_qubits:
            raise CircuitError(f"'{gate.name}' acts on {gate.num_qubits} qubit(s), got {len(qubits)}")
        for q in qubits:
            if not 0 <= q < self.num_qubits:
                raise CircuitError(f"qubit {q} is out of range: the circuit has {self.num_qubits} qubit(s)")
        if len(set(qubits)) != len(qubits):
            raise CircuitError(f"'{gate.name}' is applied to repeated qubits {qubits}")
        for c in clbits:
            if not 0 <= c < self.num_clbits:
                raise CircuitError(f"clbit {c} is out of range: the circuit has {self.num_clbits} clbit(s)")
        if gate.name == "barrier":
            # A barrier only orders operations; OpenQASM 2 cannot condition it, so a conditioned block skips it.
            if condition is not None:
                raise CircuitError("a barrier cannot be conditioned")
        else:
            condition = condition or self._condition
        if condition is not None:
            reg = self.creg(condition[0])
            if not 0 <= condition[1] < (1 << reg.size):
                raise CircuitError(f"condition value {condition[1]} does not fit register '{reg.name}'")
        self.operations.append(Operation(gate, qubits, clbits, condition))
        return self

    def _resolve_qubits(self, spec: QubitSpec) -> list[int]:
        return self._resolve(spec, self._qoffset, self.num_qubits, "qubit")

    def _resolve_clbits(self, spec: QubitSpec) -> list[int]:
        return self._resolve(spec, self._coffset, self.num_clbits, "clbit")

    @staticmethod
    def _resolve(spec: QubitSpec, offsets: dict[str, int], total: int, what: str) -> list[int]:
        if isinstance(spec, Register):
            if spec.name not in offsets:
                raise CircuitError(f"register '{spec.name}' is not in this circuit")
            return [offsets[spec.name] + i for i in range(spec.size)]
        if isinstance(spec, Bit):
            if spec.register.name not in offsets:
                raise CircuitError(f"register '{spec.register.name}' is not in this circuit")
            return [offsets[spec.register.name] + spec.index]
        if isinstance(spec, int):
            return [spec]
        out: list[int] = []
        for item in spec:
            out.extend(Circuit._resolve(item, offsets, total, what))
        return out

    def _apply(self, name: str, params: Sequence[ParamValue], *targets: QubitSpec) -> Circuit:
        """Apply a table gate, broadcasting over registers or lists like OpenQASM does."""
        lists = [self._resolve_qubits(t) for t in targets]
        broadcast = [len(x) for x, t in zip(lists, targets, strict=True) if not isinstance(t, int | Bit)]
        if broadcast and len(set(broadcast)) > 1:
            raise CircuitError(f"'{name}' is broadcast over registers of different sizes {broadcast}")
        n = broadcast[0] if broadcast else 1
        gate = Gate(name, tuple(params), num_qubits=len(targets) if has_variable_arity(name) else None)
        for i in range(n):
            qubits = [x[i] if len(x) == n and not isinstance(t, int | Bit) else x[0]
                      for x, t in zip(lists, targets, strict=True)]
            self.append(gate, qubits)
        return self

    def gate(self, gate: Gate | GateDefinition, *qubits: QubitSpec,
             params: Sequence[ParamValue] = ()) -> Circuit:
        """Apply any gate value, or a user definition with ``params``, to qubits."""
        from xihe.circuit.definition import GateDefinition

        if isinstance(gate, GateDefinition):
            gate = gate.gate(params)
        flat = [q for spec in qubits for q in self._resolve_qubits(spec)]
        return self.append(gate, flat)

    @contextmanager
    def conditioned(self, creg: ClassicalRegister | str, value: int) -> Iterator[Circuit]:
        """Operations added inside run only if ``creg == value`` (OpenQASM 2 ``if``)."""
        name = creg if isinstance(creg, str) else creg.name
        self.creg(name)
        if self._condition is not None:
            raise CircuitError("conditions cannot be nested")
        self._condition = (name, int(value))
        try:
            yield self
        finally:
            self._condition = None

    def if_else(self, condition: ConditionSpec, true_body: Circuit | Iterable[Operation],
                false_body: Circuit | Iterable[Operation] = ()) -> Circuit:
        """Append an ``if``/``else`` block (:class:`~xihe.circuit.control.IfElse`); bodies are circuits on the same
        registers, or operations on this circuit's flat indices. ``condition``: ``("c", 3)`` (register ``c``
        equals 3), ``(0, 1)`` or ``(Bit, True)`` (one clbit)."""
        bits, value, register = self._condition_bits(condition)
        bodies = []
        for body in (true_body, false_body):
            ops = list(body.operations if isinstance(body, Circuit) else body)
            for op in walk(ops):
                self._check_wires(op)
            bodies.append(ops)
        self.operations.append(IfElse(bits, value, bodies[0], bodies[1], register))
        return self

    @contextmanager
    def if_test(self, condition: ConditionSpec) -> Iterator[_ElseBuilder]:
        """Operations added inside form the true body of an ``if`` block; ``with block.else_():`` after it adds
        the false body (as Qiskit's ``if_test``)::

            with qc.if_test((0, 1)) as block:
                qc.x(1)
            with block.else_():
                qc.z(1)
        """
        bits, value, register = self._condition_bits(condition)
        if self._condition is not None:
            raise CircuitError("an if block cannot be opened inside conditioned() (use nested if blocks)")
        start = len(self.operations)
        handle = _ElseBuilder(self)
        yield handle
        body = self.operations[start:]
        del self.operations[start:]
        self.operations.append(IfElse(bits, value, body, (), register))
        handle.index = len(self.operations) - 1

    def _condition_bits(self, condition: ConditionSpec) -> tuple[tuple[int, ...], int, str | None]:
        target, value = condition
        if isinstance(target, str | ClassicalRegister):
            reg = self.creg(target if isinstance(target, str) else target.name)
            offset = self._coffset[reg.name]
            if not 0 <= int(value) < (1 << reg.size):
                raise CircuitError(f"condition value {value} does not fit register '{reg.name}'")
            return tuple(range(offset, offset + reg.size)), int(value), reg.name
        bits = self._resolve_clbits(target)
        if len(bits) != 1 or not 0 <= bits[0] < self.num_clbits:
            raise CircuitError(f"a bit condition names one clbit of this circuit, not {target!r}")
        if int(value) not in (0, 1):
            raise CircuitError(f"a bit compares with 0 or 1, not {value!r}")
        return (bits[0],), int(value), None

    def _check_wires(self, op: Operation) -> None:
        for q in op.qubits:
            if not 0 <= q < self.num_qubits:
                raise CircuitError(f"qubit {q} is out of range: the circuit has {self.num_qubits} qubit(s)")
        for c in op.clbits:
            if not 0 <= c < self.num_clbits:
                raise CircuitError(f"clbit {c} is out of range: the circuit has {self.num_clbits} clbit(s)")

    # Single-qubit gates.
    def id(self, q: QubitSpec) -> Circuit:
        return self._apply("id", (), q)

    def x(self, q: QubitSpec) -> Circuit:
        return self._apply("x", (), q)

    def y(self, q: QubitSpec) -> Circuit:
        return self._apply("y", (), q)

    def z(self, q: QubitSpec) -> Circuit:
        return self._apply("z", (), q)

    def h(self, q: QubitSpec) -> Circuit:
        return self._apply("h", (), q)

    def s(self, q: QubitSpec) -> Circuit:
        return self._apply("s", (), q)

    def sdg(self, q: QubitSpec) -> Circuit:
        return self._apply("sdg", (), q)

    def t(self, q: QubitSpec) -> Circuit:
        return self._apply("t", (), q)

    def tdg(self, q: QubitSpec) -> Circuit:
        return self._apply("tdg", (), q)

    def sx(self, q: QubitSpec) -> Circuit:
        return self._apply("sx", (), q)

    def sxdg(self, q: QubitSpec) -> Circuit:
        return self._apply("sxdg", (), q)

    def sy(self, q: QubitSpec) -> Circuit:
        return self._apply("sy", (), q)

    def sydg(self, q: QubitSpec) -> Circuit:
        return self._apply("sydg", (), q)

    def w(self, q: QubitSpec) -> Circuit:
        return self._apply("w", (), q)

    def sw(self, q: QubitSpec) -> Circuit:
        return self._apply("sw", (), q)

    def swdg(self, q: QubitSpec) -> Circuit:
        return self._apply("swdg", (), q)

    def rx(self, theta: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("rx", (theta,), q)

    def ry(self, theta: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("ry", (theta,), q)

    def rz(self, phi: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("rz", (phi,), q)

    def p(self, lam: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("p", (lam,), q)

    def u1(self, lam: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("u1", (lam,), q)

    def u2(self, phi: ParamValue, lam: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("u2", (phi, lam), q)

    def u3(self, theta: ParamValue, phi: ParamValue, lam: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("u3", (theta, phi, lam), q)

    def u(self, theta: ParamValue, phi: ParamValue, lam: ParamValue, q: QubitSpec) -> Circuit:
        return self._apply("u", (theta, phi, lam), q)

    # Two-qubit gates.
    def cx(self, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("cx", (), control, target)

    cnot = cx

    def cy(self, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("cy", (), control, target)

    def cz(self, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("cz", (), control, target)

    def ch(self, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("ch", (), control, target)

    def cs(self, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("cs", (), control, target)

    def ct(self, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("ct", (), control, target)

    def csx(self, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("csx", (), control, target)

    def swap(self, a: QubitSpec, b: QubitSpec) -> Circuit:
        return self._apply("swap", (), a, b)

    def iswap(self, a: QubitSpec, b: QubitSpec) -> Circuit:
        return self._apply("iswap", (), a, b)

    def crx(self, theta: ParamValue, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("crx", (theta,), control, target)

    def cry(self, theta: ParamValue, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("cry", (theta,), control, target)

    def crz(self, theta: ParamValue, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("crz", (theta,), control, target)

    def cp(self, lam: ParamValue, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("cp", (lam,), control, target)

    def cu1(self, lam: ParamValue, control: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("cu1", (lam,), control, target)

    def cu3(self, theta: ParamValue, phi: ParamValue, lam: ParamValue, control: QubitSpec,
            target: QubitSpec) -> Circuit:
        return self._apply("cu3", (theta, phi, lam), control, target)

    def cu(self, theta: ParamValue, phi: ParamValue, lam: ParamValue, gamma: ParamValue, control: QubitSpec,
           target: QubitSpec) -> Circuit:
        return self._apply("cu", (theta, phi, lam, gamma), control, target)

    def rxx(self, theta: ParamValue, a: QubitSpec, b: QubitSpec) -> Circuit:
        return self._apply("rxx", (theta,), a, b)

    def ryy(self, theta: ParamValue, a: QubitSpec, b: QubitSpec) -> Circuit:
        return self._apply("ryy", (theta,), a, b)

    def rzz(self, theta: ParamValue, a: QubitSpec, b: QubitSpec) -> Circuit:
        return self._apply("rzz", (theta,), a, b)

    # Three qubits and more.
    def ccx(self, a: QubitSpec, b: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("ccx", (), a, b, target)

    toffoli = ccx

    def cswap(self, control: QubitSpec, a: QubitSpec, b: QubitSpec) -> Circuit:
        return self._apply("cswap", (), control, a, b)

    fredkin = cswap

    def rccx(self, a: QubitSpec, b: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("rccx", (), a, b, target)

    def rc3x(self, a: QubitSpec, b: QubitSpec, c: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("rc3x", (), a, b, c, target)

    def c3x(self, a: QubitSpec, b: QubitSpec, c: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("c3x", (), a, b, c, target)

    def c3sqrtx(self, a: QubitSpec, b: QubitSpec, c: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("c3sqrtx", (), a, b, c, target)

    def c4x(self, a: QubitSpec, b: QubitSpec, c: QubitSpec, d: QubitSpec, target: QubitSpec) -> Circuit:
        return self._apply("c4x", (), a, b, c, d, target)

    def _multi_controlled(self, name: str, controls: Sequence[int], target: int,
                          params: Sequence[ParamValue] = ()) -> Circuit:
        qubits = [*self._resolve_qubits(list(controls)), *self._resolve_qubits(target)]
        return self.append(Gate(name, tuple(params), num_qubits=len(qubits)), qubits)

    def mcx(self, controls: Sequence[int], target: int) -> Circuit:
        """X on ``target`` when every control is 1 (pyquafu's ``mcx``)."""
        return self._multi_controlled("mcx", controls, target)

    def mcy(self, controls: Sequence[int], target: int) -> Circuit:
        return self._multi_controlled("mcy", controls, target)

    def mcz(self, controls: Sequence[int], target: int) -> Circuit:
        return self._multi_controlled("mcz", controls, target)

    def mcp(self, lam: ParamValue, controls: Sequence[int], target: int) -> Circuit:
        return self._multi_controlled("mcp", controls, target, (lam,))

    # Non-unitary instructions.
    def measure(self, qubits: QubitSpec, clbits: QubitSpec) -> Circuit:
        """Measure qubits into classical bits (registers or lists are paired element by element)."""
        qs = self._resolve_qubits(qubits)
        cs = self._resolve_clbits(clbits)
        if len(qs) != len(cs):
            raise CircuitError(f"measure pairs {len(qs)} qubit(s) with {len(cs)} clbit(s)")
        gate = Gate("measure")
        for q, c in zip(qs, cs, strict=True):
            self.append(gate, (q,), clbits=(c,))
        return self

    def measure_all(self) -> Circuit:
        """Add a classical register ``meas`` as wide as the circuit and measure every qubit into it."""
        reg = ClassicalRegister("meas" if "meas" not in self._coffset else f"meas{len(self.cregs)}",
                                self.num_qubits)
        self.add_register(reg)
        return self.measure(list(range(self.num_qubits)), reg)

    def reset(self, qubits: QubitSpec) -> Circuit:
        gate = Gate("reset")
        for q in self._resolve_qubits(qubits):
            self.append(gate, (q,))
        return self

    def barrier(self, *qubits: QubitSpec) -> Circuit:
        """A barrier on the given qubits (all qubits if none are given)."""
        flat = [q for spec in qubits for q in self._resolve_qubits(spec)] or list(range(self.num_qubits))
        if not flat:
            return self  # a circuit without qubits has nothing to order
        return self.append(Gate("barrier", num_qubits=len(flat)), flat)

    def delay(self, duration: float, qubits: QubitSpec | None = None, unit: str = "ns") -> Circuit:
        """Idle ``duration`` (in ``unit``: ns, us, ms, s) on each of ``qubits`` (all if omitted)."""
        if unit not in DELAY_UNITS:
            raise CircuitError(f"unknown delay unit '{unit}'; use one of {', '.join(DELAY_UNITS)}")
        if duration < 0:
            raise CircuitError(f"delay duration must be >= 0, not {duration}")
        ns = float(duration) * DELAY_UNITS[unit]
        gate = Gate("delay", (ns,))
        for q in self._resolve_qubits(qubits if qubits is not None else list(range(self.num_qubits))):
            self.append(gate, (q,))
        return self

    # --- views and transformations -------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __len__(self) -> int:
        return len(self.operations)

    def __getitem__(self, index: int) -> Operation:
        return self.operations[index]

    def copy(self, name: str | None = None) -> Circuit:
        """A new circuit with the same registers and operations (operations are immutable, so shared)."""
        out = self.copy_empty(name)
        out.operations = list(self.operations)
        return out

    def copy_empty(self, name: str | None = None) -> Circuit:
        """A new circuit with the same registers and no operations."""
        out = Circuit(name=name if name is not None else self.name)
        for reg in (*self.qregs, *self.cregs):
            out.add_register(reg)
        return out

    def extend(self, ops: Iterable[Operation]) -> Circuit:
        for op in ops:
            if isinstance(op, IfElse):
                for inner in walk([op]):
                    self._check_wires(inner)
                self.operations.append(op)
                continue
            self.append(op.gate, op.qubits, clbits=op.clbits, condition=op.condition)
        return self

    def inverse(self) -> Circuit:
        """The adjoint: operations reversed and each inverted. Measurements and resets cannot be inverted."""
        from xihe.circuit.protocols import inverse_operations

        out = self.copy_empty()
        for op in reversed(self.operations):
            if op.condition is not None:
                raise CircuitError("a circuit with classically conditioned operations has no inverse")
            out.operations.extend(inverse_operations(op))
        return out

    @property
    def parameters(self) -> frozenset[str]:
        """Names of the free parameters used anywhere in the circuit."""
        names: set[str] = set()
        for op in walk(self.operations):
            for p in op.gate.params:
                names |= value_parameters(p)
        return frozenset(names)

    def bind(self, bindings: Mapping[str, float] | Mapping[object, float]) -> Circuit:
        """A copy with parameters replaced by numbers (keys are names or :class:`Parameter`\\ s)."""
        values: dict[str, float] = {str(getattr(k, "name", k)): float(v) for k, v in bindings.items()}
        unknown = set(values) - self.parameters
        if unknown:
            raise CircuitError(f"unknown parameter(s) {sorted(unknown)}; the circuit has {sorted(self.parameters)}")
        out = self.copy_empty()
        out.operations = _bind_operations(self.operations, values)
        return out

    assign_parameters = bind

    def count_ops(self) -> dict[str, int]:
        """How many operations of each name, in order of first appearance."""
        return dict(Counter(op.gate.name for op in self.operations))

    def num_nonlocal_gates(self) -> int:
        """Number of unitary gates on two or more qubits."""
        return sum(1 for op in self.operations if op.gate.is_unitary and len(op.qubits) >= 2)

    def depth(self) -> int:
        """Length of the longest path through qubits and clbits; barriers do not count."""
        level = [0] * (self.num_qubits + self.num_clbits)
        cond_wires: dict[str, list[int]] = {}
        best = 0
        for op in self.operations:
            if op.gate.name == "barrier":
                continue
            wires = list(op.qubits) + [self.num_qubits + c for c in op.clbits]
            if op.condition is not None:
                if op.condition[0] not in cond_wires:
                    off, size = self._coffset[op.condition[0]], self.creg(op.condition[0]).size
                    cond_wires[op.condition[0]] = [self.num_qubits + off + i for i in range(size)]
                wires += cond_wires[op.condition[0]]
            d = max((level[w] for w in wires), default=0) + 1
            for w in wires:
                level[w] = d
            best = max(best, d)
        return best

    @property
    def definitions(self) -> list[GateDefinition]:
        """User gate definitions used by the circuit, dependencies first."""
        seen: dict[str, GateDefinition] = {}
        for op in walk(self.operations):
            d = op.gate.definition
            if d is not None and d.name not in seen:
                for dep in [*d.dependencies(), d]:
                    seen.setdefault(dep.name, dep)
        return list(seen.values())

    def draw(self, width: int = 100) -> str:
        """A text drawing, one line per qubit (see :mod:`xihe.circuit.draw`)."""
        from xihe.circuit.draw import draw_text

        return draw_text(self, width=width)

    def _repr_svg_(self) -> str:
        """Jupyter shows circuits as the SVG drawing."""
        from xihe.circuit.draw import draw_svg

        return draw_svg(self)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Circuit)
            and other.qregs == self.qregs
            and other.cregs == self.cregs
            and other.operations == self.operations
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        regs = ", ".join(f"{r.kind} {r.name}[{r.size}]" for r in (*self.qregs, *self.cregs))
        return f"<Circuit {self.name or ''} ({regs}) with {len(self.operations)} operation(s)>"

    def __str__(self) -> str:
        return self.draw()


def _bind_operations(ops: Sequence[Operation], values: Mapping[str, float]) -> list[Operation]:
    """``ops`` with parameters replaced by numbers, inside if blocks too."""
    out: list[Operation] = []
    for op in ops:
        if isinstance(op, IfElse):
            out.append(op.map_bodies(lambda body: _bind_operations(body, values)))
            continue
        gate = op.gate
        if gate.params and any(value_parameters(p) for p in gate.params):
            gate = Gate._trusted(gate.name, tuple(bind_value(p, values) for p in gate.params),
                                 gate.num_qubits, gate.definition)
            op = op.replace(gate=gate)
        out.append(op)
    return out


class _ElseBuilder:
    """What ``Circuit.if_test`` yields: ``else_()`` adds the false body to the block just closed."""

    def __init__(self, circuit: Circuit) -> None:
        self.circuit = circuit
        self.index = -1

    @contextmanager
    def else_(self) -> Iterator[Circuit]:
        circuit = self.circuit
        if self.index < 0 or self.index != len(circuit.operations) - 1:
            raise CircuitError("else_() must directly follow its 'with if_test(...)' block")
        block = circuit.operations.pop()
        assert isinstance(block, IfElse)
        if block.false_body:
            raise CircuitError("this if block already has an else body")
        start = len(circuit.operations)
        try:
            yield circuit
        finally:
            body = circuit.operations[start:]
            del circuit.operations[start:]
            circuit.operations.append(IfElse(block.test_bits, block.value, block.true_body, body, block.register))
