"""Chromium driven by Playwright, and page helpers.

The browser is, in this order: ``XIHE_CHROMIUM`` (a path), Debian's ``/usr/bin/chromium`` (what ``.ci/run``
installs), Playwright's own download (``playwright install chromium``). Where there is none the browser tests fail
with :data:`INSTALL_HINT`, one line, and ``make test`` prints it (``python -m tests.e2e.browser``); they are never
skipped.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

ENV = "XIHE_CHROMIUM"
CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = ("no Chromium for the browser tests: install one with `apt-get install chromium` (Debian/Ubuntu) "
                "or `.venv/bin/playwright install chromium`, or set XIHE_CHROMIUM=/path/to/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _executable(path: str | None) -> bool:
    return bool(path) and Path(str(path)).is_file() and os.access(str(path), os.X_OK)


def _playwright_own() -> str | None:
    """Playwright's downloaded Chromium, where ``playwright install chromium`` has put it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as playwright:
        path = str(playwright.chromium.executable_path)
    return path if _executable(path) else None


def find_chromium(playwright: Any | None = None) -> str:
    """The Chromium to drive; raises RuntimeError with a one-line hint where there is none."""
    configured = os.environ.get(ENV, "").strip()
    if configured:
        if not _executable(configured):
            raise RuntimeError(f"{ENV}={configured} is not an executable file; {INSTALL_HINT}")
        return configured
    if _executable(CHROMIUM):
        return CHROMIUM
    own = (str(playwright.chromium.executable_path) if playwright is not None else _playwright_own())
    if own and _executable(own):
        return own
    raise RuntimeError(INSTALL_HINT)


def chromium_problem() -> str | None:
    """None where a Chromium is found, else the one line saying how to get one."""
    try:
        find_chromium()
    except RuntimeError as error:
        return str(error)
    return None


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=find_chromium(playwright), args=CHROMIUM_ARGS, headless=True)


def log_in(page: Any, base_url: str, name: str, password: str) -> None:
    """Fill the login form and wait for the backends page."""
    page.goto(f"{base_url}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/backends$"))


if __name__ == "__main__":
    # ``make test`` runs this first: one line where no Chromium is found (the browser tests then fail).
    problem = chromium_problem()
    print(problem or f"Chromium for the browser tests: {find_chromium()}")
    sys.exit(0)
