"""The current Quafu clients (quafu-sdk 0.2.7, quafusqc 3.3.9), unmodified, each in a venv of its own.

Both install a ``quafu`` package (and quafusqc needs Python >= 3.12), so each gets its own venv under
``.venv/client-venvs/<name>-<version>``, built once and reused. A test runs a script in it and reads the JSON the
script prints last.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.client.live import REPO_ROOT, _locked

VENVS = REPO_ROOT / ".venv" / "client-venvs"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def _runs_python_at_least(candidate: Path, minor: int) -> bool:
    """Whether ``candidate`` starts and is Python >= 3.``minor`` (a pyenv shim may exist yet refuse to run)."""
    try:
        done = subprocess.run([str(candidate), "-c", f"import sys; sys.exit(sys.version_info < (3, {minor}))"],
                              capture_output=True, timeout=60, check=False)
    except OSError:
        return False
    return done.returncode == 0


def _python_at_least(minor: int) -> Path:
    """This interpreter if it is new enough, else ``python3.<minor>`` on the PATH, else one under pyenv.

    Each candidate is tried before it is chosen: pyenv's ``python3.12`` shim is on the PATH even where the
    selected pyenv version is 3.11, and then it exits 127.
    """
    if sys.version_info >= (3, minor):
        return Path(sys.executable)
    candidates = [Path(found) for found in (shutil.which(f"python3.{minor}"),) if found is not None]
    candidates += sorted(PYENV.glob(f"3.{minor}*/bin/python3"))
    candidates += sorted(found for later in range(minor + 1, 20) for found in PYENV.glob(f"3.{later}.*/bin/python3"))
    for candidate in candidates:
        if _runs_python_at_least(candidate, minor):
            return candidate
    raise AssertionError(f"this client needs Python >= 3.{minor}: put python3.{minor} on the PATH "
                         f"(or install it with pyenv, under {PYENV}); tried {[str(c) for c in candidates]}")


def client_python(package: str, version: str, minor: int, extra: str | None = None) -> Path:
    """The interpreter of ``package[extra]==version``'s venv (Python 3.``minor``), created on first use."""
    venv = VENVS / (f"{package}-{extra}-{version}" if extra else f"{package}-{version}")
    requirement = f"{package}[{extra}]=={version}" if extra else f"{package}=={version}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python
    with _locked(VENVS / f"{venv.name}.lock"):
        if not marker.exists():
            subprocess.run([str(_python_at_least(minor)), "-m", "venv", "--clear", str(venv)], check=True,
                           timeout=300)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                            requirement], check=True, timeout=900)
            marker.write_text(version)
    return python


def run_client(python: Path, script: str, home: Path, *args: str, timeout: float = 600) -> dict:
    """Run ``script`` (source text) with ``python``; the JSON object it prints on its last line."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "scenario.py"
    path.write_text(script)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XIHE_", "PYTHON", "VIRTUAL_ENV", "QUAFU_", "QPU_API_TOKEN"))}
    env |= {"HOME": str(home), "QUAFU_CONFIG_DIR": str(home / ".quafu-sdk")}
    done = subprocess.run([str(python), str(path), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"client script failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
