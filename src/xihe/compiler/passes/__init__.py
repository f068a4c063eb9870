"""Compiler passes: small classes with ``run(dag, properties) -> dag``."""

from xihe.compiler.passes.layout import ApplyLayout, SabreLayout, TrivialLayout, VF2Layout
from xihe.compiler.passes.optimize import CommutativeCancellation, Fuse1q, OptimizeLoop
from xihe.compiler.passes.schedule import ASAPSchedule
from xihe.compiler.passes.translate import BasisTranslation
from xihe.compiler.passes.unroll import Unroll

__all__ = [
    "ASAPSchedule",
    "ApplyLayout",
    "BasisTranslation",
    "CommutativeCancellation",
    "Fuse1q",
    "OptimizeLoop",
    "SabreLayout",
    "TrivialLayout",
    "Unroll",
    "VF2Layout",
]
