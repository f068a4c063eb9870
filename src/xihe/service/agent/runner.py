"""The agent loop: claim the device's next job, keep its lease alive, run it through the driver, post back.

One job at a time (a chip runs one program at a time). A heartbeat thread renews the lease every
``heartbeat_seconds``; if the platform says the lease is gone the agent drops the job (another agent, or this one
after a restart, will run it); if a cancel is requested it stops between circuits and reports it. After each job
it posts the driver's current calibration with the result, so the platform compiles the next job for the chip as
it is now.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from xihe.service.agent.client import AgentClient, AgentJob

log = logging.getLogger("xihe.agent")
CANCEL_POLL_SECONDS = 1.0


class _Lease:
    def __init__(self) -> None:
        self.lost = False
        self.cancel = False

    @property
    def stop(self) -> bool:
        return self.lost or self.cancel


class Agent:
    def __init__(self, client: AgentClient, driver: Any, *, name: str = "agent", driver_name: str = "emulator",
                 poll_seconds: float = 0.5) -> None:
        self.client = client
        self.driver = driver
        self.name = name
        self.driver_name = driver_name
        self.poll_seconds = poll_seconds
        self.jobs_done = 0

    def run_forever(self, stop: threading.Event | None = None, *, max_backoff: float = 10.0) -> None:
        """Serve until ``stop``. Outages are waited out inside the client; anything else that goes wrong in one
        round (a refused request, a driver or client bug) is logged and the loop goes on after a capped backoff,
        so the agent keeps its claim and lease loop for as long as it runs. A token refused at start is fatal."""
        stop = stop or threading.Event()
        info = self.client.post_calibration(self.driver.calibration())
        log.info("agent %s serves %s (calibration %s)", self.name, self.client.device, info.get("snapshot_id"))
        delay = self.poll_seconds
        while not stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("agent round failed; retrying in %.1f s", delay)
                stop.wait(delay)
                delay = min(max(delay, 0.2) * 2, max_backoff)
                continue
            delay = self.poll_seconds
            if not worked:
                stop.wait(self.poll_seconds)

    def run_once(self) -> bool:
        """Claim and run one job; False if none was waiting."""
        job = self.client.claim(self.name)
        if job is None:
            return False
        self.run_job(job)
        return True

    def run_job(self, job: AgentJob) -> None:
        from xihe import qasm

        lease = _Lease()
        done = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job, lease, done), daemon=True,
                                name=f"heartbeat-{job.job_id}")
        beat.start()
        started = time.monotonic()
        results: list[dict[str, Any]] = []
        try:
            for item in job.items:
                if lease.stop:
                    break
                counts = self.driver.run(qasm.loads(item["qasm"]), int(item["shots"]), int(item["seed"]))
                results.append({"index": int(item["index"]), "counts": {str(k): int(v) for k, v in counts.items()}})
        except Exception as exc:  # the driver failed: the platform retries within the job's attempt budget
            log.exception("job %s failed on the driver", job.job_id)
            done.set()
            beat.join()
            self.client.fail(job, f"{type(exc).__name__}: {exc}", retry=True)
            return
        done.set()
        beat.join()
        if lease.lost:
            log.warning("job %s: lease lost; dropped", job.job_id)
        elif lease.cancel:
            self.client.cancelled(job)
        elif self.client.post_result(job, results, driver=self.driver_name,
                                     exec_seconds=time.monotonic() - started,
                                     calibration=self.driver.calibration()):
            self.jobs_done += 1
        else:
            log.warning("job %s: the platform refused the result (lease lost)", job.job_id)

    def _heartbeat(self, job: AgentJob, lease: _Lease, done: threading.Event) -> None:
        # At least once a second: the beat also brings back a cancel, which then stops the job before its next
        # circuit (one agent per chip, so one small write a second at most).
        while not done.wait(min(job.heartbeat_seconds, CANCEL_POLL_SECONDS)):
            try:
                held, cancel = self.client.heartbeat(job)
            except Exception:  # unreachable for a moment: the lease still has time
                log.exception("heartbeat for %s failed", job.job_id)
                continue
            lease.lost = not held
            lease.cancel = cancel
            if lease.stop:
                return
