"""Quantum and classical registers, and bits addressed through them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from xihe.errors import CircuitError

_NAME = re.compile(r"[a-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Register:
    """A named, sized group of bits. ``reg[i]`` addresses one bit of it."""

    name: str
    size: int

    kind = "reg"

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise CircuitError(
                f"register name '{self.name}' is not valid OpenQASM 2 (a lower-case letter, then letters, "
                "digits or _)"
            )
        if self.size < 1:
            raise CircuitError(f"register '{self.name}' must have at least one bit, not {self.size}")

    def __getitem__(self, index: int) -> Bit:
        if not -self.size <= index < self.size:
            raise CircuitError(f"index {index} is out of range for register '{self.name}' of size {self.size}")
        return Bit(self, index % self.size)

    def __len__(self) -> int:
        return self.size

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (Bit(self, i) for i in range(self.size))


@dataclass(frozen=True)
class QuantumRegister(Register):
    """A quantum register (``qreg name[size];``)."""

    kind = "qreg"


@dataclass(frozen=True)
class ClassicalRegister(Register):
    """A classical register (``creg name[size];``)."""

    kind = "creg"


@dataclass(frozen=True)
class Bit:
    """One bit of a register; the circuit turns it into a flat index."""

    register: Register
    index: int
