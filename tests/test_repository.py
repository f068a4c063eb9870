"""The repository stands alone: nothing refers to a path outside it, and a fresh clone in an empty folder runs its
QASMBench collection from its own files with its own ``xihe``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.paths import REPO

# What must not appear: the sibling folder of this machine's checkout, machine paths, a path built to leave the repo.
OUTSIDE = re.compile("|".join([
    re.escape("../" + "shared"),
    r"(?<![\w.])" + re.escape("/wo" + "rk/"),  # an absolute machine path, not a word such as conn/work/all
    r"\.parent\s*/\s*[\"']" + "shared" + r"[\"']",
    r"parents\[\d+\]\s*/\s*[\"']\.\.[\"']",
]))
CHECKED = ("src", "tests", "benchmarks", "scripts", "Makefile", ".ci", "pyproject.toml")
THIRD_PARTY = ("benchmarks/data/",)  # the QASMBench files as published: data, not readers


def repository_files() -> list[str]:
    """Tracked files and new files not ignored, under the checked roots."""
    done = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *CHECKED],
                          cwd=REPO, capture_output=True, text=True, check=True, timeout=60)
    return sorted({name for name in done.stdout.splitlines()
                   if not name.startswith(THIRD_PARTY) and (REPO / name).is_file()})


def test_nothing_refers_to_a_path_outside_the_repository() -> None:
    files = repository_files()
    assert "Makefile" in files and "benchmarks/_qasmbench.py" in files and "tests/qasm/test_qasmbench.py" in files
    found = []
    for name in files:
        try:
            text = (REPO / name).read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_the_check_catches_each_kind_of_outside_path() -> None:
    for line in ['ROOT = "../' 'shared/benchmarks"', 'Path("/wo' 'rk/shared/x")',
                 'HERE.parents[2].parent / "sha' 'red"', 'Path(__file__).parents[2] / "' '.." / "x"']:
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search('QASMBENCH = REPO / "benchmarks" / "data" / "qasmbench"')
    assert not OUTSIDE.search('"qubits (conn/wo' 'rk/all)"')


def test_a_fresh_clone_runs_its_qasmbench_collection_from_its_own_files(tmp_path: Path) -> None:
    clone = tmp_path / "empty" / "xihe"
    clone.parent.mkdir()
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=300,
                   capture_output=True)
    for up in (clone.parent, clone.parent.parent):
        assert not (up / "shared").exists()  # nothing beside the clone to lean on
    code = """
import json, sys
sys.path.insert(0, "benchmarks")
import xihe
from xihe import qasm
from tests.paths import QASMBENCH
from _qasmbench import qasm_files, qasmbench_root
loaded, refused = 0, 0
for path in sorted(QASMBENCH.rglob("*.qasm")):
    try:
        qasm.load(path)
        loaded += 1
    except qasm.QasmError:
        refused += 1
print(json.dumps({"xihe": xihe.__file__, "qasmbench": str(QASMBENCH), "bench_root": str(qasmbench_root()),
                  "loaded": loaded, "refused": refused, "small": len(qasm_files(5)),
                  "licence": (QASMBENCH / "LICENSE").is_file() and (QASMBENCH / "NOTICE").is_file()}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XIHE_", "PYTHON"))}
    env["PYTHONPATH"] = str(clone / "src")
    done = subprocess.run([sys.executable, "-c", code], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(out["xihe"]).is_relative_to(clone / "src")
    assert Path(out["qasmbench"]) == Path(out["bench_root"]) == clone / "benchmarks" / "data" / "qasmbench"
    assert (out["loaded"], out["refused"]) == (220, 7)  # the 7 invalid files: tests/qasm/test_qasmbench.py
    assert out["small"] > 0 and out["licence"]
    # And the collection's own test, run by pytest inside the clone.
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header",
         "tests/qasm/test_qasmbench.py::test_the_whole_collection_is_found"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert pytest_run.returncode == 0, pytest_run.stdout + pytest_run.stderr
    assert "1 passed" in pytest_run.stdout
