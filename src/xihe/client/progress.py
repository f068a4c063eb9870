"""What a waiting user sees: a rich spinner while a job is queued or running, and one line per status change.

The spinner only renders on a terminal; the status lines are printed everywhere (logs, CI, a piped CLI), so the
progress of a job can always be followed.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from xihe.status import JobStatus

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from xihe.client.models import JobInfo

_STYLE: dict[str, str] = {JobStatus.QUEUED: "yellow", JobStatus.RUNNING: "cyan", JobStatus.DONE: "green",
                          JobStatus.FAILED: "red", JobStatus.CANCELLED: "magenta"}


def describe(info: JobInfo) -> str:
    """A one-line, human summary of a job's state (``QUEUED (position 2)``, ``FAILED at compile: ...``)."""
    text = info.status
    if info.status == JobStatus.QUEUED and info.queue_position is not None:
        text += f" (position {info.queue_position})"
    if info.status == JobStatus.FAILED and info.error:
        stage = info.error.get("stage")
        text += f" at {stage}" if stage else ""
        text += f": {info.error.get('detail', '')}"
    return text


class WaitProgress:
    """Shows a job's progress on stderr while :meth:`xihe.client.Job.wait` polls; a no-op when disabled."""

    def __init__(self, job_id: str, enabled: bool = True, console: Console | None = None) -> None:
        self.job_id = job_id
        self.enabled = enabled
        self._console = console
        self._status: Status | None = None
        self._last: str | None = None
        self._started = time.monotonic()

    def __enter__(self) -> WaitProgress:
        if self.enabled:
            from rich.console import Console

            self._console = self._console or Console(stderr=True)
            self._status = self._console.status(f"job {self.job_id}: waiting", spinner="dots")
            self._status.start()
        return self

    def update(self, info: JobInfo) -> None:
        if not self.enabled or self._console is None:
            return
        line = describe(info)
        if line != self._last:
            style = _STYLE.get(info.status, "white")
            elapsed = time.monotonic() - self._started
            from rich.text import Text

            # Text, not markup: a server's error detail may contain brackets.
            message = Text(f"job {self.job_id}: ")
            message.append(line, style=style)
            message.append(f"  {elapsed:.1f}s", style="dim")
            self._console.print(message)
            self._last = line
        if self._status is not None:
            from rich.text import Text

            self._status.update(Text(f"job {self.job_id}: {line}"))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
