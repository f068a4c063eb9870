"""``xihe users limits NAME`` without an option shows the user's limits, each the user's own or the settings'
default, named by its option (found administering docs/deploy.md's cluster: it said 'limits of NAME updated',
changing nothing, and no command showed a user's limits)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEFAULTS = """--jobs-per-day: 100000 (default)
--max-shots: 1000000 (default)
--max-qubits: no limit (default)
--max-priority: 5 (default)
--wall-seconds: 600.0 (default)
--rate-limit: 500.0 (default)"""


def xihe(data_dir: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")} | {"XIHE_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-c", "from xihe.cli import main; main()", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_limits_without_an_option_shows_them(tmp_path: Path) -> None:
    xihe(tmp_path, "db", "upgrade")
    xihe(tmp_path, "users", "add", "ada")
    assert xihe(tmp_path, "users", "limits", "ada") == DEFAULTS
    assert xihe(tmp_path, "users", "limits", "ada", "--max-shots", "1000", "--rate-limit", "2.5") == \
        "limits of ada updated"
    shown = xihe(tmp_path, "users", "limits", "ada")
    assert shown == DEFAULTS.replace("1000000 (default)", "1000").replace("--rate-limit: 500.0 (default)",
                                                                          "--rate-limit: 2.5")
