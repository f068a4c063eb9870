"""Paths inside the repository that tests read (never a path outside it: ``tests/test_repository.py`` checks)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The QASMBench circuits (pnnl/QASMBench, with its LICENSE and NOTICE), shared with benchmarks/_qasmbench.py.
QASMBENCH = REPO / "benchmarks" / "data" / "qasmbench"
