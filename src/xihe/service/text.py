"""What a string from a client may hold: one place for the control-character rules of every protocol.

``CONTROL`` (any C0 control character or DEL) is refused in paths, query parameters and names; ``CONTROL_IN_TEXT``
(the same, less tab, line feed and carriage return) in program text and other free text. NUL matters most:
PostgreSQL refuses it in text columns, so an unchecked one is a 500 there and fine on SQLite.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain(value: str) -> str:
    """``value`` if it holds no control character (a pydantic validator)."""
    if CONTROL.search(value):
        raise ValueError("control characters (NUL, line breaks, tabs...) are not allowed here")
    return value


PlainStr = Annotated[str, AfterValidator(plain)]
"""A name, id or label: no control character at all."""
