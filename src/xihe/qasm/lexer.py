"""Tokens of OpenQASM 2.0, produced on demand from a position in the program text.

The reader's fast path handles the common statement shapes with one regular expression; this lexer serves the
general parser for everything else, so it favours clarity over speed. A token is a tuple ``(kind, text, pos)``
with ``pos`` the offset of its first character.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from xihe.qasm.errors import QasmError, location

# Whitespace and // comments; possessive, so a failed match never backtracks into it.
SKIP = r"(?:\s|//[^\n]*)*+"

_TOKEN = re.compile(
    r"""
    (?P<real>(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)
   |(?P<int>\d+)
   |(?P<id>[A-Za-z_][A-Za-z0-9_]*)
   |(?P<string>"[^"\n]*")
   |(?P<arrow>->)
   |(?P<eq>==)
   |(?P<symbol>[-+*/^(),;\[\]{}])
   |(?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_SKIP = re.compile(SKIP)
# Longer names are refused where they are read: an error message quotes a name, and its "did you mean" hint
# compares it with every known one, so a 2 MB name made a 2 MB answer after seconds of comparing.
MAX_NAME_LENGTH = 256


class Token(NamedTuple):
    kind: str  # real | int | id | string | arrow | eq | symbol | eof
    text: str
    pos: int


class Lexer:
    """Reads tokens of ``text`` starting at ``pos``; errors carry ``filename``."""

    __slots__ = ("_peeked", "depth", "end", "filename", "last_end", "pos", "text")

    def __init__(self, text: str, pos: int = 0, filename: str | None = None, end: int | None = None) -> None:
        self.text = text
        self.pos = pos
        self.end = len(text) if end is None else end
        self.filename = filename
        self.last_end = pos  # end of the last token taken, for "missing ';'" errors
        self._peeked: Token | None = None
        self.depth = 0  # nesting of the expression being read, bounded to keep recursion safe

    def error(self, message: str, pos: int) -> QasmError:
        line, column = location(self.text, pos)
        return QasmError(message, line, column, self.filename)

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self._read()
        return self._peeked

    def next(self) -> Token:
        token = self.peek()
        self._peeked = None
        if token.kind != "eof":
            self.last_end = token.pos + len(token.text)
        return token

    def _read(self) -> Token:
        skipped = _SKIP.match(self.text, self.pos, self.end)
        pos = skipped.end() if skipped is not None else self.pos
        if pos >= self.end:
            self.pos = pos
            return Token("eof", "", pos)
        m = _TOKEN.match(self.text, pos, self.end)
        assert m is not None  # the 'bad' alternative matches any character
        kind = m.lastgroup or "bad"
        self.pos = m.end()
        if kind == "bad":
            char = m.group()
            if char == '"':
                raise self.error("unterminated string: a closing '\"' is missing on this line", pos)
            if char == "=":
                raise self.error("unexpected '='; a condition compares with '==', as in if (c == 1)", pos)
            raise self.error(f"unexpected character {char!r}", pos)
        if kind == "id" and m.end() - pos > MAX_NAME_LENGTH:
            raise self.error(f"a name of {m.end() - pos} characters ('{m.group()[:24]}...'); names are at most "
                             f"{MAX_NAME_LENGTH} characters", pos)
        return Token(kind, m.group(), pos)

    def seek(self, pos: int) -> None:
        """Continue reading at ``pos`` (after a block read by another lexer)."""
        self.pos = pos
        self._peeked = None

    def accept(self, text: str) -> Token | None:
        """Take the next token if its text is ``text``."""
        token = self.peek()
        if token.text == text and token.kind != "string":
            return self.next()
        return None

    def expect(self, text: str, context: str) -> Token:
        """Take the next token, which must be ``text``; ``context`` says what was being read."""
        token = self.peek()
        if token.text == text and token.kind != "string":
            return self.next()
        if text == ";":
            raise self.error(f"missing ';' at the end of {context}", self.last_end)
        raise self.error(f"expected '{text}' {context}, found {describe(token)}", token.pos)

    def expect_id(self, context: str) -> Token:
        token = self.peek()
        if token.kind != "id":
            raise self.error(f"expected a name {context}, found {describe(token)}", token.pos)
        return self.next()

    def expect_int(self, context: str) -> Token:
        token = self.peek()
        if token.kind != "int":
            raise self.error(f"expected a non-negative integer {context}, found {describe(token)}", token.pos)
        return self.next()


def describe(token: Token) -> str:
    """How an error message names a token."""
    if token.kind == "eof":
        return "the end of the program"
    return f"'{token.text}'"
