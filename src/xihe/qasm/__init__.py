"""Layer 2: OpenQASM 2.0 in and out — ``loads/load`` read a program into a Circuit, ``dumps/dump`` write one.

>>> from xihe import qasm
>>> qc = qasm.loads('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; h q[0]; cx q[0],q[1];')
>>> qc.count_ops()
{'h': 1, 'cx': 1}
>>> qasm.loads(qasm.dumps(qc)) == qc
True

The whole language is read (includes, ``gate`` definitions with parameters, register broadcast, ``measure``,
``reset``, ``barrier``, ``if``, expressions with ``pi`` and functions), plus pyquafu's extensions (``delay(100ns)``
and ``mcx``/``mcy``/``mcz`` of any arity) and the pyquafu gates missing from ``qelib1.inc``. Extensions of
Xihe's own: an unknown name in an expression of the main program is a free parameter (``rz(theta) q[0];``, bound
later with ``Circuit.bind``); the table gates stay usable without ``include "qelib1.inc"``. ``opaque`` is refused.
Every problem raises :class:`QasmError` with its line and column.

Reading is bounded (:class:`ParseLimits`): ``loads`` opens no file but those of an ``include_path`` the caller
gives (``qelib1.inc`` and ``stdgates.inc`` are built in); a program that declares more qubits than
``max_qubits`` or expands (broadcasts and ``gate`` bodies unrolled) to more than ``max_operations`` operations
raises :class:`QasmLimitError` before those operations are built.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from xihe.circuit.circuit import Circuit
from xihe.qasm import qasm3
from xihe.qasm.errors import QasmError
from xihe.qasm.limits import UNBOUNDED, ParseLimits, QasmLimitError
from xihe.qasm.parser import Parser
from xihe.qasm.qasm3 import dumps  # the exporter's OpenQASM 2, or OpenQASM 3 with version=3

__all__ = ["UNBOUNDED", "ParseLimits", "QasmError", "QasmLimitError", "dump", "dumps", "load", "loads"]

StrPath = str | PathLike[str]


def loads(text: str | bytes, *, include_path: Sequence[StrPath] = (), name: str | None = None,
          limits: ParseLimits | None = None) -> Circuit:
    """Read an OpenQASM 2.0 program. ``include "qelib1.inc"`` is built in; other includes are looked up only in
    ``include_path``, by relative names (a server reading users' programs then never opens files by accident).
    ``limits``: default :class:`ParseLimits` (at most 5e7 expanded operations); :data:`UNBOUNDED` lifts them."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QasmError(f"the program is not UTF-8 text ({exc.reason} at byte {exc.start})", 1, 1) from None
    return _parse(text, None, tuple(Path(p) for p in include_path), name, None, limits)


def load(path: StrPath, *, include_path: Sequence[StrPath] = (), limits: ParseLimits | None = None) -> Circuit:
    """Read an OpenQASM 2.0 file; its includes are resolved next to it, then in ``include_path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QasmError(f"cannot read '{path}': {exc}", 1, 1, str(path)) from None
    return _parse(text, path.parent, tuple(Path(p) for p in include_path), path.stem, str(path), limits)


def dump(circuit: Circuit, path: StrPath) -> None:
    """Write the circuit to a file as OpenQASM 2.0."""
    Path(path).write_text(dumps(circuit), encoding="utf-8")


class _CollectorPause:
    """Pause the cyclic garbage collector while any thread parses, and restore it when the last one is done.

    A program is parsed into ~10^5 small objects that form no cycles; pausing the collector meanwhile saves it from
    scanning them again and again (about a quarter of the parse time). The collector is process-wide, so in a
    threaded server the pause is counted: the first parser in pauses it, the last one out restores it as it was,
    however the parses interleave. Parses are bounded (:class:`ParseLimits`), so the pause is too.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._was_enabled = False

    def __enter__(self) -> None:
        with self._lock:
            if self._active == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0 and self._was_enabled:
                gc.enable()


_PAUSE = _CollectorPause()


def _parse(text: str, base_dir: Path | None, include_path: tuple[Path, ...], name: str | None,
           filename: str | None, limits: ParseLimits | None) -> Circuit:
    with _PAUSE:
        parser = Parser(base_dir, include_path, name, limits)  # one parser and its limits for QASM 2 and 3
        if qasm3.is_qasm3(text):
            parser.version3 = True  # blocks and loops (xihe.qasm.control_flow)
            return qasm3.parse3(text, parser.parse, filename)
        return parser.parse(text, filename)
