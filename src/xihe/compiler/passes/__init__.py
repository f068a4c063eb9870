"""Compiler passes: small classes with ``run(dag, properties) -> dag``.

Each name loads its module on first use (PEP 562): the scheduling and decoupling passes, which pricing a job needs,
must not drag in the layout, routing and optimisation kernels (numba) that only compiling does (issue 18: the
API's parse processes import no numba).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xihe.compiler.passes.blocks import ConsolidateBlocks
    from xihe.compiler.passes.decouple import DynamicalDecoupling, dd_sequence, decouple_circuit
    from xihe.compiler.passes.layout import ApplyLayout, SabreLayout, TrivialLayout, VF2Layout
    from xihe.compiler.passes.loop import NativeOptimizeLoop
    from xihe.compiler.passes.measure import (
        DeferRoutedMeasurements,
        DeferTerminalMeasurements,
        RemoveSwapsBeforeMeasure,
    )
    from xihe.compiler.passes.optimize import CommutativeCancellation, Fuse1q, OptimizeLoop
    from xihe.compiler.passes.schedule import ASAPSchedule, schedule_circuit, terminal_measurements
    from xihe.compiler.passes.translate import BasisTranslation
    from xihe.compiler.passes.unroll import Unroll

_MODULES = {
    "ConsolidateBlocks": "blocks",
    "DynamicalDecoupling": "decouple",
    "dd_sequence": "decouple",
    "decouple_circuit": "decouple",
    "ApplyLayout": "layout",
    "SabreLayout": "layout",
    "TrivialLayout": "layout",
    "VF2Layout": "layout",
    "NativeOptimizeLoop": "loop",
    "DeferRoutedMeasurements": "measure",
    "DeferTerminalMeasurements": "measure",
    "RemoveSwapsBeforeMeasure": "measure",
    "CommutativeCancellation": "optimize",
    "Fuse1q": "optimize",
    "OptimizeLoop": "optimize",
    "ASAPSchedule": "schedule",
    "schedule_circuit": "schedule",
    "terminal_measurements": "schedule",
    "BasisTranslation": "translate",
    "Unroll": "unroll",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))


__all__ = [
    "ASAPSchedule",
    "ApplyLayout",
    "BasisTranslation",
    "CommutativeCancellation",
    "ConsolidateBlocks",
    "DeferRoutedMeasurements",
    "DeferTerminalMeasurements",
    "DynamicalDecoupling",
    "Fuse1q",
    "NativeOptimizeLoop",
    "OptimizeLoop",
    "RemoveSwapsBeforeMeasure",
    "SabreLayout",
    "TrivialLayout",
    "Unroll",
    "VF2Layout",
    "dd_sequence",
    "decouple_circuit",
    "schedule_circuit",
    "terminal_measurements",
]
