"""The one error the QASM reader raises: :class:`QasmError`, with the line and column of the problem."""

from __future__ import annotations

from xihe.errors import CircuitError


class QasmError(CircuitError):
    """A program is not valid OpenQASM 2.0 (or uses something Xihe cannot run).

    ``line`` and ``column`` count from 1; ``message`` is the sentence alone, ``str(error)`` puts the place first:
    ``line 4, column 1: undefined gate 'hh'; did you mean 'h'?``. ``filename`` names an included file when the
    problem lies in one (``None`` for the main program).
    """

    def __init__(self, message: str, line: int, column: int, filename: str | None = None) -> None:
        where = f"line {line}, column {column}"
        if filename is not None:
            where = f"{filename}: {where}"
        super().__init__(f"{where}: {message}")
        self.message = message
        self.line = line
        self.column = column
        self.filename = filename


def location(text: str, pos: int) -> tuple[int, int]:
    """The 1-based (line, column) of offset ``pos`` in ``text``."""
    pos = max(0, min(pos, len(text)))
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, column
