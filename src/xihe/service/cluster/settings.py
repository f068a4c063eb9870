"""Cluster settings (``XIHE_*`` environment, like :class:`~xihe.service.settings.Settings`): Ray fan-out knobs.

Kept apart from the service's settings so a worker without the Ray extra never needs them; read once per worker
process by :func:`xihe.service.cluster.configured_run_items`.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClusterSettings(BaseSettings):
    """``XIHE_RAY_ADDRESS`` turns fan-out on; the thresholds say which jobs are heavy enough to split."""

    model_config = SettingsConfigDict(env_prefix="XIHE_", extra="ignore")

    ray_address: str | None = Field(
        default=None, description="Ray cluster address (host:port of the head's GCS, or 'auto'); None: no Ray.")
    fanout_min_shots: int = Field(
        default=4096, description="A trajectories circuit with at least this many shots is split into shot chunks.")
    fanout_min_items: int = Field(
        default=16, description="A batch or sweep with at least this many circuits is split into item groups.")
    fanout_tasks_per_cpu: int = Field(
        default=4, description="Ray tasks per cluster CPU (a few per CPU balances uneven chunks).")
