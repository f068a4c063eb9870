"""A free parameter in a program typed into the web pages is an error at its place, not a valid circuit.

The service's reader takes a name it does not know in an angle (``rx(theta) q[0];``) for a free parameter, which
the API binds per run (``parameters``: a sweep). The editor and the composer send no values, so a job of theirs
with one is always refused, and there the name is most often a typo (``rx(tehta)``). Both pages therefore answer
it as they answer a syntax error: with its line and column, before Submit.

>>> from xihe import qasm
>>> text = 'OPENQASM 2.0; include "qelib1.inc"; qreg q[1];\\nrx(pi/2 + tehta) q[0];'
>>> free_parameter_error(text, qasm.loads(text))["line"], free_parameter_error(text, qasm.loads(text))["column"]
(2, 11)
"""

from __future__ import annotations

import re
from typing import Any

from xihe.circuit import Circuit

_LINE_COMMENT = re.compile(r"//.*")


def _first_place(text: str, names: list[str]) -> tuple[int | None, int | None, str]:
    """The first (line, column) where one of ``names`` stands as a word outside ``//`` comments, and that name."""
    words = re.compile(r"(?<![\w.$])(" + "|".join(map(re.escape, names)) + r")(?!\w)")
    for number, line in enumerate(text.splitlines(), start=1):
        found = words.search(_LINE_COMMENT.sub(lambda m: " " * len(m.group(0)), line))
        if found:
            return number, found.start() + 1, found.group(1)
    return None, None, names[0]


def free_parameter_error(text: str, circuit: Circuit) -> dict[str, Any] | None:
    """The editor's and the composer's error (``line``, ``column``, ``message``) for ``circuit`` read from
    ``text`` when it has a free parameter, else None."""
    names = sorted(str(p) for p in circuit.parameters)
    if not names:
        return None
    line, column, name = _first_place(text, names)
    return {"line": line, "column": column,
            "message": f"'{name}' is not a number: angles here are numbers, pi and expressions of them (a free "
                       "parameter is bound only through the API, as a sweep's 'parameters')"}
