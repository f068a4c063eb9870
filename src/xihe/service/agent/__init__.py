"""The remote device agent (``xihe agent``): serves one device from its control computer over HTTP.

- ``client.py``  -- :class:`AgentClient`, the agent API over httpx (retries while the platform is unreachable).
- ``drivers.py`` -- :func:`load_driver`: ``emulator`` (:class:`xihe.devices.driver.EmulatorDriver` of the twin) or
  ``package.module:factory`` for a real chip's driver.
- ``runner.py``  -- :class:`Agent`: claim -> heartbeat -> run each native circuit through the driver -> post the
  counts and a fresh calibration; stop on cancel, drop the job if the lease is lost.
"""

from xihe.service.agent.client import AgentClient, AgentJob
from xihe.service.agent.runner import Agent

__all__ = ["Agent", "AgentClient", "AgentJob"]
