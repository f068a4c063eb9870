"""``grid36``: a generated 6x6 square-grid chip, CZ native, with a seeded calibration drawn from Dongling's.

Each qubit takes the (T1, T2echo, T2star, frequencies, one-qubit duration) row of a Dongling qubit chosen at random,
and each coupler the fidelity of a random working Dongling coupler, with ``numpy.random.default_rng(36)``. The result
is a Quafu chip-info dict, shipped as ``chips/grid36.json``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np

GRID_SIZE = 6
GRID_SEED = 36
GRID_SYSTEM_ID = 3


def _dongling() -> dict[str, Any]:
    return json.loads(resources.files("xihe.devices.chips").joinpath("dongling.json").read_text())


def generate_grid36(seed: int = GRID_SEED, size: int = GRID_SIZE) -> dict[str, Any]:
    """The chip-info dict of the generated grid (same seed, same chip)."""
    source = _dongling()
    rng = np.random.default_rng(seed)
    qubit_rows = list(source["qubits_info"].values())
    fidelities = [float(g["fidelity"]) for gates in source["topological_structure"].values()
                  for g in gates.values() if float(g["fidelity"]) > 0]
    names = [f"Q{r + 1:02d}{c + 1:02d}" for r in range(size) for c in range(size)]
    qubits_info = {name: dict(qubit_rows[int(rng.integers(len(qubit_rows)))]) for name in names}
    topo: dict[str, dict[str, dict[str, float]]] = {}
    for r in range(size):
        for c in range(size):
            here = f"Q{r + 1:02d}{c + 1:02d}"
            for dr, dc in ((0, 1), (1, 0)):
                if r + dr < size and c + dc < size:
                    there = f"Q{r + dr + 1:02d}{c + dc + 1:02d}"
                    topo[f"{here}_{there}"] = {"CZ": {"fidelity": fidelities[int(rng.integers(len(fidelities)))]}}
    return {
        "calibration_time": "2026-01-01 00:00:00",
        "basis_gates": ["cz", "rx", "ry", "rz", "h"],
        "coupler": {},
        "all_qubits_info": {name: {} for name in names},
        "all_topological_structure": topo,
        "qubits_info": qubits_info,
        "topological_structure": topo,
        "priority_qubits": [],
        "system_id": GRID_SYSTEM_ID,
    }


def write_grid36(path: str) -> None:
    """Regenerate the shipped file (``python -c 'from xihe.devices.grid import write_grid36; write_grid36(...)'``)."""
    with open(path, "w") as fh:
        json.dump(generate_grid36(), fh, indent=2)
        fh.write("\n")
