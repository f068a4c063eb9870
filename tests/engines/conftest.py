"""Shared helpers for the engine tests: the QASMBench/Aer helpers live in ``benchmarks/_qasmbench.py``."""

from __future__ import annotations

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
if str(_BENCH) not in sys.path:
    sys.path.insert(0, str(_BENCH))
