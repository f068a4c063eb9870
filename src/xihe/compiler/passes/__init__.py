"""Compiler passes: small classes with ``run(dag, properties) -> dag``."""

from xihe.compiler.passes.blocks import ConsolidateBlocks
from xihe.compiler.passes.decouple import DynamicalDecoupling, dd_sequence, decouple_circuit
from xihe.compiler.passes.layout import ApplyLayout, SabreLayout, TrivialLayout, VF2Layout
from xihe.compiler.passes.loop import NativeOptimizeLoop
from xihe.compiler.passes.measure import DeferRoutedMeasurements, DeferTerminalMeasurements, RemoveSwapsBeforeMeasure
from xihe.compiler.passes.optimize import CommutativeCancellation, Fuse1q, OptimizeLoop
from xihe.compiler.passes.schedule import ASAPSchedule, schedule_circuit, terminal_measurements
from xihe.compiler.passes.translate import BasisTranslation
from xihe.compiler.passes.unroll import Unroll

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
