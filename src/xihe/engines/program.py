"""Lowering a :class:`~xihe.circuit.Circuit` into the flat instruction list the engines execute.

The engines know nothing of registers, user definitions or the gate table: they take a :class:`Program` of
matrices on qubits, measurements, resets, noise channels and conditions (as clbit masks), as qsim and stim do.
Lowering does the rest once: gate matrices come from :func:`xihe.circuit.protocols.unitary`; user gates wider
than :data:`MAX_DENSE_QUBITS` are expanded (``decompose``); multi-controlled gates keep their controls and a 2x2
target matrix; noise from a :class:`~xihe.engines.noise.NoiseModel` is inserted after each gate and on each
``delay``.

Measurements that nothing later depends on (no later gate on the qubit, no later condition or reset) are
*terminal*: they are moved to :attr:`Program.terminal` and sampled from the final state in one go.

An ``if``/``else`` block (:class:`~xihe.circuit.control.IfElse`) is lowered without jumps, so every engine keeps
its straight-line loop: a ``"flag"`` instruction evaluates the block's condition once into a hidden clbit (one
per nesting depth, after the circuit's own clbits), each instruction of the true body is conditioned on that
flag being 1 (and on the enclosing blocks' flags), each of the false body on it being 0, and a second ``"flag"``
clears it after the block. A measurement in the body that overwrites a condition bit therefore cannot switch
branches half-way, and results never show the hidden bits (rows hold the first ``num_clbits`` bits only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.circuit.control import IfElse
from xihe.circuit.gate import Gate, Operation, has_variable_arity
from xihe.circuit.protocols import decompose, unitary
from xihe.errors import ExecutionError

if TYPE_CHECKING:
    from xihe.engines.channels import Channel
    from xihe.engines.noise import NoiseModel

# Widest gate applied as one dense matrix; wider user gates are decomposed.
MAX_DENSE_QUBITS = 5


@dataclass(frozen=True)
class Condition:
    """Run only when ``(clbits >> offset) & mask == value`` (an OpenQASM 2 ``if`` on one register)."""

    offset: int
    mask: int
    value: int

    def holds(self, clbits: int) -> bool:
        return (clbits >> self.offset) & self.mask == self.value

    @classmethod
    def on_bits(cls, bits: tuple[int, ...], value: int) -> Condition:
        """The condition ``bits == value`` (bits least significant first, consecutive as a register's are)."""
        if list(bits) != list(range(bits[0], bits[0] + len(bits))):
            raise ExecutionError(f"an if block's condition bits {bits} are not consecutive")
        return cls(bits[0], (1 << len(bits)) - 1, int(value))


@dataclass
class Instr:
    """One engine instruction.

    ``kind`` is ``"unitary"`` (``matrix`` on ``qubits``, first qubit most significant), ``"diagonal"`` (``matrix``
    holds the diagonal), ``"controlled"`` (``matrix`` 2x2 on the last qubit, the others are controls),
    ``"channel"`` (``channel`` on ``qubits``), ``"measure"`` (``qubits[0]`` into ``clbit`` with readout flips
    ``readout = (p1_given_0, p0_given_1)``), ``"reset"``, or ``"flag"`` (no qubits: set the hidden clbit
    ``clbit`` to whether ``test`` holds, or to 0 when ``test`` is ``None``; see :func:`set_flag`).
    """

    kind: str
    qubits: tuple[int, ...]
    matrix: np.ndarray | None = None
    channel: Channel | None = None
    clbit: int = -1
    readout: tuple[float, float] | None = None
    condition: Condition | None = None
    name: str = ""
    test: Condition | None = None


def set_flag(ins: Instr, clbits: int) -> int:
    """The classical record after a ``"flag"`` instruction (the only classical computation an engine does)."""
    bit = 1 if ins.test is not None and ins.test.holds(clbits) else 0
    return (clbits & ~(1 << ins.clbit)) | (bit << ins.clbit)


@dataclass
class Program:
    """A lowered circuit: body instructions, then terminal measurements sampled from the final state."""

    num_qubits: int
    num_clbits: int
    body: list[Instr] = field(default_factory=list)
    terminal: list[Instr] = field(default_factory=list)
    num_flags: int = 0  # hidden clbits of if blocks, numbered from num_clbits (see the module docstring)

    @property
    def is_dynamic(self) -> bool:
        """True when the body measures, resets or branches: shots must then be simulated per outcome."""
        return any(i.kind in ("measure", "reset", "flag") or i.condition is not None for i in self.body)

    @property
    def has_channels(self) -> bool:
        return any(i.kind == "channel" for i in self.body)

    @property
    def has_readout_error(self) -> bool:
        return any(i.readout is not None for i in (*self.body, *self.terminal))


def _condition(circuit: Circuit, op: Operation) -> Condition | None:
    if op.condition is None:
        return None
    name, value = op.condition
    reg = circuit.creg(name)
    return Condition(circuit.creg_offset(name), (1 << reg.size) - 1, int(value))


def _is_diagonal(m: np.ndarray) -> bool:
    """Whether every off-diagonal entry of the contiguous square ``m`` is zero (read in place, no copy)."""
    d = m.shape[0]
    if d == 2:
        return bool(m[0, 1] == 0 and m[1, 0] == 0)
    # The off-diagonal entries of a row-major d x d matrix are the d-entry runs between its diagonal entries.
    return not m.reshape(-1)[1:].reshape(d - 1, d + 1)[:, :d].any()


# The instruction (kind, matrix) of each parameter-free table gate of a given width (cx, h, swap, ccx...), made
# once per process: its matrix and the diagonal test cost ~6 us a gate, a third of a QV circuit's lowering. The
# arrays are shared by every instruction of that gate; engines only read instruction matrices.
_FIXED: dict[tuple[str, int], tuple[str, np.ndarray]] = {}


def _kind_and_matrix(gate: Gate) -> tuple[str, np.ndarray]:
    """``("diagonal", the diagonal)`` or ``("unitary", the matrix)`` for a gate of at most MAX_DENSE_QUBITS."""
    fixed = not gate.params and gate.definition is None
    if fixed:
        hit = _FIXED.get((gate.name, gate.num_qubits))
        if hit is not None:
            return hit
    m = np.ascontiguousarray(unitary(gate), dtype=np.complex128)
    out = ("diagonal", np.ascontiguousarray(np.diagonal(m))) if _is_diagonal(m) else ("unitary", m)
    if fixed:
        _FIXED[(gate.name, gate.num_qubits)] = out
    return out


def gate_instructions(op: Operation, condition: Condition | None) -> list[Instr]:
    """The instructions for one unitary operation (decomposed when too wide to be one matrix)."""
    gate = op.gate
    if gate.num_qubits > MAX_DENSE_QUBITS and gate.definition is None and has_variable_arity(gate.name):
        from xihe.circuit.standard_gates import X, Y, Z, phase_matrix

        target = {"mcx": X, "mcy": Y, "mcz": Z}.get(gate.name)
        if target is None:
            target = phase_matrix(float(gate.params[0]))  # type: ignore[arg-type]
        return [Instr("controlled", op.qubits, np.asarray(target, dtype=np.complex128), condition=condition,
                      name=gate.name)]
    if gate.num_qubits > MAX_DENSE_QUBITS:
        parts = decompose(op)
        if parts is None:
            raise ExecutionError(f"gate '{gate.name}' on {gate.num_qubits} qubits has no decomposition")
        out: list[Instr] = []
        for part in parts:
            out.extend(gate_instructions(part, condition))
        return out
    kind, m = _kind_and_matrix(gate)
    return [Instr(kind, op.qubits, m, condition=condition, name=gate.name)]


def lower(circuit: Circuit, noise: NoiseModel | None = None, defer_measurements: bool = True) -> Program:
    """Lower ``circuit`` (with ``noise`` inserted) into a :class:`Program`."""
    prog = Program(circuit.num_qubits, circuit.num_clbits)
    noisy = noise is not None and not noise.is_ideal()
    _lower_ops(circuit, circuit.operations, prog, noise if noisy else None, None, 0)
    if defer_measurements:
        _split_terminal(prog)
    return prog


def _lower_ops(circuit: Circuit, ops: list[Operation] | tuple[Operation, ...], prog: Program,
               noise: NoiseModel | None, guard: Condition | None, depth: int) -> None:
    """Append the instructions of ``ops``; inside if blocks ``guard`` conditions them on the blocks' flags."""
    for op in ops:
        name = op.gate.name
        if isinstance(op, IfElse):
            _lower_block(circuit, op, prog, noise, guard, depth)
            continue
        cond = _condition(circuit, op) if guard is None else guard
        if name == "barrier":
            continue
        if name == "delay":
            if noise is not None:
                ch = noise.delay_channel(op.qubits[0], float(op.gate.params[0]))  # type: ignore[arg-type]
                if ch is not None:
                    prog.body.append(Instr("channel", op.qubits, channel=ch, condition=cond, name="delay"))
            continue
        if name == "measure":
            readout = noise.readout(op.qubits[0]) if noise is not None else None
            prog.body.append(Instr("measure", op.qubits, clbit=op.clbits[0], readout=readout, condition=cond,
                                   name=name))
            continue
        if name == "reset":
            prog.body.append(Instr("reset", op.qubits, condition=cond, name=name))
            continue
        prog.body.extend(gate_instructions(op, cond))
        if noise is not None:
            for ch, qubits in noise.channels_after(name, op.qubits):
                prog.body.append(Instr("channel", qubits, channel=ch, condition=cond, name=f"noise:{name}"))


def _lower_block(circuit: Circuit, block: IfElse, prog: Program, noise: NoiseModel | None,
                 guard: Condition | None, depth: int) -> None:
    """A flag for the block's condition, both bodies guarded by it, then the flag cleared (module docstring)."""
    flag = prog.num_clbits + depth
    prog.num_flags = max(prog.num_flags, depth + 1)
    outer = guard.value if guard is not None else 0
    prog.body.append(Instr("flag", (), clbit=flag, test=Condition.on_bits(block.test_bits, block.value),
                           name="if"))
    mask = (1 << (depth + 1)) - 1
    _lower_ops(circuit, block.true_body, prog, noise, Condition(prog.num_clbits, mask, outer | (1 << depth)),
               depth + 1)
    _lower_ops(circuit, block.false_body, prog, noise, Condition(prog.num_clbits, mask, outer), depth + 1)
    prog.body.append(Instr("flag", (), clbit=flag, name="end if"))


def _split_terminal(prog: Program) -> None:
    """Move measurements that nothing later depends on to ``prog.terminal`` (kept in program order)."""
    touched: set[int] = set()
    later_dynamic = False
    keep: list[Instr] = []
    terminal: list[Instr] = []
    for instr in reversed(prog.body):
        if instr.kind == "measure" and instr.condition is None and not later_dynamic \
                and instr.qubits[0] not in touched:
            terminal.append(instr)
            continue
        keep.append(instr)
        if instr.kind == "measure":
            # A measurement that stays in the body collapses the state: later ones on the same qubit stay valid
            # terminal samples, but a measurement that precedes a condition or reset must stay in the body.
            touched.add(instr.qubits[0])
            later_dynamic = True
        else:
            touched.update(instr.qubits)
            if instr.kind in ("reset", "flag") or instr.condition is not None:
                later_dynamic = True
    prog.body = keep[::-1]
    prog.terminal = terminal[::-1]
