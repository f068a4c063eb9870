"""The one protocol every engine follows, the registry of engines, and what they share (seeds, memory budget).

An engine takes a circuit, a shot count, a seed and an optional noise model and returns a
:class:`~xihe.results.Result`; before allocating anything it can say how many bytes it would need
(:meth:`Engine.estimate_memory`), so callers refuse jobs that do not fit instead of swapping.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from xihe.errors import ExecutionError, ResourceError
from xihe.version import __version__

if TYPE_CHECKING:
    from xihe.circuit.circuit import Circuit
    from xihe.engines.noise import NoiseModel
    from xihe.results import Result

# Share of the machine's RAM one simulation may use by default (the workers of one machine share it).
DEFAULT_MEMORY_FRACTION = 0.5


@runtime_checkable
class Engine(Protocol):
    """A simulator: ``run`` executes a circuit; ``estimate_memory`` says what it would need first."""

    name: str

    def run(self, circuit: Circuit, shots: int, seed: int | None = None, noise: NoiseModel | None = None,
            memory: bool = False) -> Result: ...

    def estimate_memory(self, circuit: Circuit) -> int: ...


def machine_memory_bytes() -> int:
    """Physical memory of this machine (falls back to 8 GiB where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def default_memory_limit() -> int:
    return int(machine_memory_bytes() * DEFAULT_MEMORY_FRACTION)


def check_memory(engine: str, needed: int, limit: int | None, what: str) -> None:
    """Raise :class:`ResourceError` if ``needed`` bytes exceed ``limit`` (default: half the machine's RAM)."""
    limit = default_memory_limit() if limit is None else int(limit)
    if needed > limit:
        raise ResourceError(
            f"the {engine} engine needs about {_gib(needed)} for {what}, more than the {_gib(limit)} allowed; "
            "use fewer qubits, the stabilizer engine for Clifford circuits, or raise max_memory_bytes"
        )


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.2f} GiB" if n >= (1 << 26) else f"{n / (1 << 20):.1f} MiB"


def resolve_seed(seed: int | None) -> int:
    """The seed to use and record: the given one, or a fresh one drawn from the OS (so a run can be replayed)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (1 << 63))  # type: ignore[operator]
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ExecutionError(f"seed must be a non-negative integer, not {seed!r}")
    return int(seed)


def metadata(engine: str, seed: int, started: float, **extra: Any) -> dict[str, Any]:
    """Metadata every result carries: engine, seed, wall time, Xihe version."""
    return {"engine": engine, "seed": seed, "time_s": round(time.perf_counter() - started, 6),
            "xihe_version": __version__, **extra}


# State dtype of each precision; engines other than statevector and trajectories run in double only.
PRECISIONS: dict[str, type] = {"double": np.complex128, "single": np.complex64}
SINGLE_PRECISION_ENGINES = ("statevector", "trajectories")


def precision_dtype(precision: str) -> type:
    """The state dtype of ``precision`` (``"double"``: complex128, ``"single"``: complex64)."""
    if precision not in PRECISIONS:
        raise ExecutionError(f"precision must be 'double' or 'single', not {precision!r}")
    return PRECISIONS[precision]


def check_shots(shots: int) -> int:
    if not isinstance(shots, int | np.integer) or shots < 0:
        raise ExecutionError(f"shots must be a non-negative integer, not {shots!r}")
    return int(shots)


_ENGINES: dict[str, type] = {}
# Where each engine lives; imported on first use so that light callers do not load stim or numba.
_ENGINE_MODULES = {
    "statevector": "xihe.engines.statevector",
    "density_matrix": "xihe.engines.density_matrix",
    "trajectories": "xihe.engines.trajectories",
    "stabilizer": "xihe.engines.stabilizer",
    "mps": "xihe.engines.mps",
}


def register_engine(cls: type) -> type:
    _ENGINES[cls.name] = cls  # type: ignore[attr-defined]
    return cls


def get_engine(name: str, **options: Any) -> Engine:
    """An engine by name: ``statevector``, ``density_matrix``, ``trajectories``, ``stabilizer`` or ``mps``."""
    if name not in _ENGINE_MODULES:
        raise ExecutionError(f"unknown engine '{name}'; choose one of {', '.join(sorted(_ENGINE_MODULES))} "
                             "or 'auto'")
    if name not in _ENGINES:
        import importlib

        importlib.import_module(_ENGINE_MODULES[name])
    engine: Engine = _ENGINES[name](**options)
    return engine


def engine_names() -> list[str]:
    return sorted(_ENGINE_MODULES)
