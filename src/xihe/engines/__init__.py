"""Layer 3: the simulation engines (statevector, density matrix, trajectories, stabilizer) behind one protocol.

``simulate`` and ``estimate`` are the entry points; ``NoiseModel`` and the channels in
:mod:`xihe.engines.channels` describe noise; :mod:`xihe.engines.chunks` splits shots for fan-out.
"""

from xihe.engines.base import Engine, engine_names, get_engine
from xihe.engines.noise import NoiseModel
from xihe.engines.simulate import choose_engine, estimate, simulate


def warm() -> None:
    """Compile the kernels (or load them from numba's cache); workers call this when they start."""
    from xihe.engines.kernels import warm as warm_kernels

    warm_kernels()


__all__ = ["Engine", "NoiseModel", "choose_engine", "engine_names", "estimate", "get_engine", "simulate", "warm"]
