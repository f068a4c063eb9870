"""Which Chromium the browser tests drive, and that without one they fail with a one-line hint (never skip)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e import browser
from tests.paths import REPO


def test_xihe_chromium_comes_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chromium = tmp_path / "my-chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    monkeypatch.setenv(browser.ENV, str(chromium))
    assert browser.find_chromium() == str(chromium)


def test_a_wrong_xihe_chromium_is_an_error_not_a_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(browser.ENV, str(tmp_path / "missing"))
    with pytest.raises(RuntimeError, match="is not an executable file"):
        browser.find_chromium()


def test_with_no_chromium_anywhere_the_one_line_hint_is_given(tmp_path: Path) -> None:
    # Debian's path replaced by a missing one; Playwright looking in an empty browsers folder (its real lookup).
    code = ("import tests.e2e.browser as b\n"
            f"b.CHROMIUM = {str(tmp_path / 'no-chromium')!r}\n"
            "print(b.chromium_problem())\n")
    env = {k: v for k, v in os.environ.items() if k != browser.ENV}
    env["PLAYWRIGHT_BROWSERS_PATH"] = str(tmp_path / "browsers")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == browser.INSTALL_HINT
    assert len(browser.INSTALL_HINT.splitlines()) == 1


def test_a_browser_test_without_chromium_fails_and_prints_the_hint(tmp_path: Path) -> None:
    env = dict(os.environ, **{browser.ENV: str(tmp_path / "missing-chromium")})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
         "tests/e2e/test_dashboard.py::test_login_refuses_a_wrong_password_then_lets_the_user_in"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1, done.stdout
    assert "skipped" not in summary and ("error" in summary or "failed" in summary), summary
    assert browser.INSTALL_HINT in done.stdout
