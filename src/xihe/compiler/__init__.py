"""Layer 3: the compiler. ``Target`` describes a device; ``transpile`` maps a circuit onto it.

Stages (DESIGN.md): unroll to 1q+2q -> noise-aware layout -> SABRE routing -> translation to native gates ->
optimisation (fusion, cancellation) -> ASAP scheduling with explicit delays.

``transpile`` and ``TranspileResult`` load the passes on first use (PEP 562): a device's ``Target`` and the native
check, which validating and pricing a job need, must not drag in the passes' numba kernels (issue 18: the API's
parse processes import no numba).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from xihe.compiler.check import check_native
from xihe.compiler.dag import DAGCircuit, PropertySet
from xihe.compiler.estimate import estimated_success_probability, log_success_probability
from xihe.compiler.target import InstructionProperties, Target

if TYPE_CHECKING:
    from xihe.compiler.transpile import TranspileResult, transpile

_LAZY = {"TranspileResult": "xihe.compiler.transpile", "transpile": "xihe.compiler.transpile"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Package(types.ModuleType):
    """``xihe.compiler.transpile`` is the function, as when it was imported eagerly: importing the submodule of the
    same name (the import system then sets it on the package) leaves the function in place."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "transpile" and isinstance(value, types.ModuleType):
            value = value.transpile
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
