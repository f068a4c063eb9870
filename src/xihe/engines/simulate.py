"""``simulate`` and ``estimate``: the front door to the engines, with the ``engine="auto"`` choice.

``auto`` picks (:func:`xihe.engines.costs.choose_engine`, beside every engine's memory formula): an ideal
circuit (or one with readout error only) -> ``statevector``; noise on at most :data:`DENSITY_MATRIX_MAX_QUBITS`
qubits -> ``density_matrix``, wider -> ``trajectories``; a Clifford circuit (with at most Pauli noise) too wide for
those -> ``stabilizer``; an ideal circuit whose statevector does not fit but whose bond dimension bound
(:func:`xihe.engines.bonds.estimate_bond_dimension`) is within the MPS cap -> ``mps``
(noisy ones likewise when the trajectories' statevector does not fit: ``mps`` then samples trajectories).

``precision="single"`` runs the statevector and trajectories engines in complex64 (half the memory, so ``auto``
keeps them for one more qubit); the other engines run in double precision, and every result's metadata says
which precision ran. Naming another engine with ``precision="single"`` is refused.

>>> from xihe.circuit import Circuit
>>> qc = Circuit(2, 2)
>>> _ = qc.h(0).cx(0, 1).measure([0, 1], [0, 1])
>>> sorted(simulate(qc, shots=100, seed=7).counts)
['00', '11']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xihe.engines.base import SINGLE_PRECISION_ENGINES, check_memory, get_engine, precision_dtype
from xihe.engines.costs import DENSITY_MATRIX_MAX_QUBITS, choose_engine
from xihe.engines.observables import estimate
from xihe.errors import ExecutionError

if TYPE_CHECKING:
    from xihe.circuit.circuit import Circuit
    from xihe.engines.noise import NoiseModel
    from xihe.results import Result

__all__ = ["DENSITY_MATRIX_MAX_QUBITS", "choose_engine", "estimate", "simulate"]


def simulate(circuit: Circuit, shots: int = 1024, seed: int | None = None, noise: NoiseModel | None = None,
             engine: str = "auto", memory: bool = False, max_memory_bytes: int | None = None,
             engine_options: Mapping[str, Any] | None = None, precision: str = "double") -> Result:
    """Run ``circuit`` for ``shots`` shots on an engine and return its :class:`~xihe.results.Result`.

    ``shots=0`` returns the final statevector and exact probabilities (statevector engine), or exact
    probabilities (density matrix engine). Raises :class:`~xihe.errors.ResourceError` when the engine's memory
    estimate exceeds ``max_memory_bytes`` (default: half of this machine's RAM). ``engine_options`` go to the
    engine's constructor (e.g. ``{"max_bond_dimension": 64}`` for ``mps``). ``precision``: ``"double"`` or
    ``"single"`` (statevector and trajectories; see the module docstring).
    """
    precision_dtype(precision)
    name = choose_engine(circuit, noise, max_memory_bytes, precision) if engine == "auto" else engine
    if shots == 0 and name not in ("statevector", "density_matrix"):
        raise ExecutionError(f"shots=0 (exact results) needs the statevector or density_matrix engine, not {name}")
    options = dict(engine_options or {})
    if name in SINGLE_PRECISION_ENGINES:
        options.setdefault("precision", precision)
    elif precision != "double" and engine != "auto":
        raise ExecutionError(f"precision='{precision}' is offered by the {' and '.join(SINGLE_PRECISION_ENGINES)} "
                             f"engines, not {name}")
    eng = get_engine(name, **options)
    check_memory(name, eng.estimate_memory(circuit), max_memory_bytes, f"a {circuit.num_qubits}-qubit circuit")
    if max_memory_bytes is not None and hasattr(eng, "max_memory_bytes"):
        eng.max_memory_bytes = max_memory_bytes
    result = eng.run(circuit, shots, seed=seed, noise=noise, memory=memory)
    result.metadata.setdefault("engine_requested", engine)
    result.metadata.setdefault("precision", options.get("precision", "double"))
    return result
