"""Compiler passes: small classes with ``run(dag, properties) -> dag``."""

from xihe.compiler.passes.blocks import ConsolidateBlocks
from xihe.compiler.passes.layout import ApplyLayout, SabreLayout, TrivialLayout, VF2Layout
from xihe.compiler.passes.loop import NativeOptimizeLoop
from xihe.compiler.passes.measure import DeferTerminalMeasurements, RemoveSwapsBeforeMeasure
from xihe.compiler.passes.optimize import CommutativeCancellation, Fuse1q, OptimizeLoop
from xihe.compiler.passes.schedule import ASAPSchedule
from xihe.compiler.passes.translate import BasisTranslation
from xihe.compiler.passes.unroll import Unroll

__all__ = [
    "ASAPSchedule",
    "ApplyLayout",
    "BasisTranslation",
    "CommutativeCancellation",
    "ConsolidateBlocks",
    "DeferTerminalMeasurements",
    "Fuse1q",
    "NativeOptimizeLoop",
    "OptimizeLoop",
    "RemoveSwapsBeforeMeasure",
    "SabreLayout",
    "TrivialLayout",
    "Unroll",
    "VF2Layout",
]
