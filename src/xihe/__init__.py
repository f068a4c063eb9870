"""Xihe: an open, self-hostable quantum computing cloud platform.

The names here are the library's front door; heavy layers (engines, compiler, devices) load on first use so that
``import xihe`` stays light and ``import xihe.client`` pulls in none of them.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from xihe.circuit import (
    Circuit,
    ClassicalRegister,
    Gate,
    Operation,
    Parameter,
    QuantumRegister,
)
from xihe.errors import XiheError
from xihe.version import __version__

if TYPE_CHECKING:
    from xihe import devices, qasm
    from xihe.devices.compile import Compiled, compile
    from xihe.engines.noise import NoiseModel
    from xihe.engines.simulate import estimate, simulate
    from xihe.results import Result

# Numba compiles the engines' kernels for this CPU, but LLVM's tuning for Intel's AVX-512 server cores prefers
# 256-bit vectors, which halves the width of the single-precision register kernels (xihe.engines.lane_kernels,
# docs/decisions.md). Numba reads this once, when it is first imported; an operator's own setting wins.
os.environ.setdefault("NUMBA_CPU_FEATURES", "-prefer-256-bit")

# Submodules loaded on first attribute access (``xihe.qasm.loads``, ``xihe.devices.get``).
_SUBMODULES = ("qasm", "devices")
_LAZY = {
    "simulate": "xihe.engines.simulate",
    "estimate": "xihe.engines.simulate",
    "NoiseModel": "xihe.engines.noise",
    "Result": "xihe.results",
    "compile": "xihe.devices.compile",
    "Compiled": "xihe.devices.compile",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"xihe.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xihe' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = [
    "Circuit",
    "ClassicalRegister",
    "Compiled",
    "Gate",
    "NoiseModel",
    "Operation",
    "Parameter",
    "QuantumRegister",
    "Result",
    "XiheError",
    "__version__",
    "compile",
    "devices",
    "estimate",
    "qasm",
    "simulate",
]
