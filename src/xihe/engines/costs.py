"""Each engine's memory, priced before it runs, and the engine ``engine="auto"`` picks, without importing an engine.

The submit path prices every job with these: the API's parse processes read and price submitted programs and must
not load numba or the engines' kernels (issue 18: 915 modules, 166 MiB and 0.9 s of CPU a process when they did).
Each engine's ``estimate_memory`` is the function here for its own options, so each formula has one home.

``auto`` picks: an ideal circuit (or one with readout error only) -> ``statevector``; noise on at most
:data:`DENSITY_MATRIX_MAX_QUBITS` qubits -> ``density_matrix``, wider -> ``trajectories``; a Clifford circuit (with
at most Pauli noise) too wide for those -> ``stabilizer``; one whose state does not fit but whose bond dimension
bound is within the MPS cap -> ``mps``.

>>> from xihe.circuit import Circuit
>>> choose_engine(Circuit(40).h(0).cx(0, 1), max_memory_bytes=1 << 30)
'stabilizer'
>>> statevector_memory(Circuit(20)) == (1 << 20) * 32
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xihe.engines.base import default_memory_limit, precision_dtype
from xihe.engines.bonds import DEFAULT_MAX_BOND_DIMENSION, estimate_bond_dimension
from xihe.engines.bonds import estimate_memory as mps_memory
from xihe.engines.clifford import is_clifford
from xihe.engines.stabilizer import StabilizerEngine
from xihe.errors import ExecutionError

if TYPE_CHECKING:
    from xihe.circuit.circuit import Circuit
    from xihe.engines.noise import NoiseModel

DENSITY_MATRIX_MAX_QUBITS = 12
# Below this width a trajectory is too cheap for worker processes to pay for their start-up.
PROCESS_MIN_QUBITS = 12
# The trajectories' shared walk copies the state where paths part: at most this deep (errors per path), within
# this many bytes.
SHARED_MAX_DEPTH = 16
SHARED_WALK_BYTES = 256 << 20


def _amplitude_bytes(precision: str) -> int:
    return int(precision_dtype(precision)(0).itemsize)


def _is_dynamic(circuit: Circuit, measure: bool = False) -> bool:
    names = ("reset", "if_else", "measure") if measure else ("reset", "if_else")
    return any(op.condition is not None or op.gate.name in names for op in circuit.operations)


def statevector_memory(circuit: Circuit, precision: str = "double") -> int:
    """The state, the probabilities and their running sum for sampling, and one copy per open branch."""
    size = 1 << circuit.num_qubits
    amplitude = _amplitude_bytes(precision)
    return size * (amplitude + 16) + (size * amplitude * 2 if _is_dynamic(circuit) else 0)


def density_matrix_memory(circuit: Circuit) -> int:
    """Two density matrices, four when measurements or resets split the state."""
    return (16 << (2 * circuit.num_qubits)) * (4 if _is_dynamic(circuit, measure=True) else 2)


def shared_depth(num_qubits: int) -> int:
    """How deep the trajectories' shared walk may copy states (``depth + 2`` live double-precision states within
    :data:`SHARED_WALK_BYTES`; the same depth in single precision, so its memory is exactly half)."""
    state_bytes = 16 << num_qubits
    return min(SHARED_MAX_DEPTH, max(2, SHARED_WALK_BYTES // state_bytes) - 2)


def trajectories_memory(circuit: Circuit, precision: str = "double") -> int:
    """Four states (a shot, a Kraus candidate, probabilities), or the shared walk's live copies if more."""
    n = circuit.num_qubits
    return (_amplitude_bytes(precision) << n) * max(4, shared_depth(n) + 2)


def engine_memory(engine: str, circuit: Circuit, precision: str = "double",
                  max_bond_dimension: int = DEFAULT_MAX_BOND_DIMENSION) -> int:
    """What ``engine`` (with its default options but ``precision``) needs for ``circuit``, in bytes."""
    if engine == "statevector":
        return statevector_memory(circuit, precision)
    if engine == "trajectories":
        return trajectories_memory(circuit, precision)
    if engine == "density_matrix":
        return density_matrix_memory(circuit)
    if engine == "stabilizer":
        return StabilizerEngine().estimate_memory(circuit)  # numba-free, its formula at home
    if engine == "mps":
        return mps_memory(circuit, max_bond_dimension)
    raise ExecutionError(f"unknown engine '{engine}'")


def _has_gate_noise(noise: NoiseModel | None) -> bool:
    return noise is not None and noise.has_quantum_noise()


def choose_engine(circuit: Circuit, noise: NoiseModel | None = None, max_memory_bytes: int | None = None,
                  precision: str = "double") -> str:
    """The engine ``engine="auto"`` runs ``circuit`` on (``precision`` prices the statevector and trajectories)."""
    limit = default_memory_limit() if max_memory_bytes is None else max_memory_bytes
    if not _has_gate_noise(noise):
        fits = statevector_memory(circuit, precision) <= limit
        if not fits and is_clifford(circuit):
            return "stabilizer"
        if not fits and estimate_bond_dimension(circuit) <= DEFAULT_MAX_BOND_DIMENSION:
            return "mps"
        return "statevector"
    assert noise is not None
    if circuit.num_qubits <= DENSITY_MATRIX_MAX_QUBITS:
        return "density_matrix"
    fits = trajectories_memory(circuit, precision) <= limit
    if not fits and noise.is_pauli() and is_clifford(circuit):
        return "stabilizer"
    if not fits and estimate_bond_dimension(circuit) <= DEFAULT_MAX_BOND_DIMENSION:
        return "mps"
    return "trajectories"
