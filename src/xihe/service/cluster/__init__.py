"""Beyond one machine: Ray fan-out of heavy jobs for the worker loop (layer 5).

Module map:

- ``settings.py``  -- :class:`ClusterSettings` (``XIHE_RAY_ADDRESS``, fan-out thresholds).
- ``executors.py`` -- where parts run: :class:`LocalExecutor` (this process) or :class:`RayExecutor` (Ray tasks,
  spread over the nodes, each reporting its node id).
- ``fanout.py``    -- :class:`FanOut`, a drop-in ``run_items`` for :class:`xihe.service.worker.Worker`: shot chunks
  of heavy trajectories runs and item groups of batches/sweeps, seeded as :mod:`xihe.engines.chunks` says, merged,
  committed once by the lease holder.
- ``agents.py``    -- the server side of remote device agents: device tokens, claim-and-compile, results and
  calibration posted back (the routes are in :mod:`xihe.service.api.routes.agents`; the agent itself is
  :mod:`xihe.service.agent`).

Multi-machine deployment needs nothing else: API replicas (``xihe serve --no-workers``) and ``xihe worker`` processes
share one PostgreSQL through the same claim/lease queue (:mod:`xihe.service.repositories.queue`).
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

from xihe.service.cluster.settings import ClusterSettings


def configured_run_items(settings: ClusterSettings | None = None) -> Callable[..., list[dict[str, Any]]] | None:
    """The worker's ``run_items``: a Ray :class:`FanOut` when ``XIHE_RAY_ADDRESS`` is set, else None (the plain loop,
    whose engines run the same seeded chunks locally)."""
    settings = settings or ClusterSettings()
    if not settings.ray_address:
        return None
    if importlib.util.find_spec("ray") is None:
        logging.getLogger("xihe.cluster").warning(
            "XIHE_RAY_ADDRESS is set but Ray is not installed (pip install 'xihe[ray]'); running jobs locally")
        return None
    from xihe.service.cluster.executors import RayExecutor
    from xihe.service.cluster.fanout import FanOut

    return FanOut(RayExecutor(settings.ray_address), min_shots=settings.fanout_min_shots,
                  min_items=settings.fanout_min_items, tasks_per_cpu=settings.fanout_tasks_per_cpu)


__all__ = ["ClusterSettings", "configured_run_items"]
