"""The ``xihe`` user commands, run as a user runs them (a subprocess), against a live server.

``xihe run`` on a QASMBench file must show the job's progress while it is queued and running, then a histogram;
``login`` stores settings that later commands use without any option.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.client.live import WAIT_S, new_user_token, shared_server
from tests.paths import QASMBENCH
from tests.service.helpers import Server, free_port, run_xihe

ROW = re.compile(r"^\s*│?\s*([01]+)\s*│\s*(\d+)\s*│\s*([0-9.]+)\s*│\s*(█+)")


def qasmbench_file(name: str) -> Path:
    path = QASMBENCH / "small" / name / f"{name}.qasm"
    assert path.exists(), f"QASMBench file {name} not found under {QASMBENCH}"
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "cli-user")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def xihe(home: Path, *args: str, input_text: str | None = None, cwd: Path | None = None,
         columns: int = 100) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIHE_")}
    env |= {"HOME": str(home), "COLUMNS": str(columns), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from xihe.cli import main; main()", *args],
        env=env, capture_output=True, text=True, timeout=WAIT_S, input=input_text, check=False, cwd=cwd,
    )


def histogram_rows(stdout: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for line in stdout.splitlines() if (m := ROW.match(line))}


def test_run_qasmbench_file_shows_progress_then_histogram(server: Server, token: str, home: Path) -> None:
    path = qasmbench_file("adder_n4")
    done = xihe(home, "run", str(path), "--backend", "line10", "--shots", "600", "--seed", "7",
                "--url", server.url, "--token", token)
    assert done.returncode == 0, done.stderr
    job_id = re.search(r"submitted job (\w+) to line10", done.stderr)
    assert job_id, done.stderr
    # Progress: the queued state first, then the end state, each with its elapsed time.
    progress = [line for line in done.stderr.splitlines() if line.startswith(f"job {job_id.group(1)}:")]
    assert "QUEUED" in progress[0] and "DONE" in progress[-1], done.stderr
    assert all(re.search(r"\d+\.\ds$", line) for line in progress)
    rows = histogram_rows(done.stdout)
    assert "600 shots" in done.stdout and sum(rows.values()) <= 600 and rows, done.stdout
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"}) as api:
        counts = api.get(f"/jobs/{job_id.group(1)}").json()["result"]["counts"]
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:16]
    assert rows == dict(top)
    # adder_n4 (1 + 1 with carry) has one ideal answer; the noisy line10 twin still gives it most often.
    assert max(rows, key=lambda k: rows[k]) == "1001"


def test_login_then_commands_use_the_stored_settings(server: Server, token: str, home: Path) -> None:
    login = xihe(home, "login", "--url", server.url, "--token", token)
    assert login.returncode == 0, login.stderr
    config = home / ".xihe" / "config.toml"
    assert token in config.read_text() and oct(config.stat().st_mode)[-3:] == "600"

    backends = xihe(home, "backends")
    assert backends.returncode == 0, backends.stderr
    assert all(name in backends.stdout for name in ("sim", "line10", "dongling"))

    bell = home / "bell.qasm"
    bell.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\nmeasure q -> c;\n')
    queued = xihe(home, "run", str(bell), "--backend", "grid36", "--no-wait", "--name", "to-cancel")
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip().splitlines()[-1]

    listing = xihe(home, "jobs", "--status", "QUEUED")
    assert job_id in listing.stdout and "to-cancel" in listing.stdout

    shown = xihe(home, "job", job_id)
    assert shown.returncode == 0 and "QUEUED" in shown.stdout and "grid36" in shown.stdout

    cancelled = xihe(home, "cancel", job_id)
    assert cancelled.returncode == 0 and "CANCELLED" in cancelled.stdout

    ran = xihe(home, "run", str(bell), "--backend", "sim", "--shots", "50")
    assert ran.returncode == 0 and histogram_rows(ran.stdout) == {"10": 50}, ran.stdout + ran.stderr
    finished_id = re.search(r"submitted job (\w+)", ran.stderr)
    assert finished_id
    again = xihe(home, "job", finished_id.group(1))
    assert "DONE" in again.stdout and histogram_rows(again.stdout) == {"10": 50}


def test_errors_are_one_line_messages_with_exit_status_1(server: Server, token: str, home: Path) -> None:
    denied = xihe(home, "login", "--url", server.url, "--token", "xh_wrong")
    assert denied.returncode == 1 and "error:" in denied.stderr and "Traceback" not in denied.stderr
    assert not (home / ".xihe" / "config.toml").exists()
    bad = home / "bad.qasm"
    bad.write_text("OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n")
    failed = xihe(home, "run", str(bad), "--url", server.url, "--token", token)
    assert failed.returncode == 1 and "line 3" in failed.stderr and "Traceback" not in failed.stderr
    missing = xihe(home, "job", "0" * 16, "--url", server.url, "--token", token)
    assert missing.returncode == 1 and "error:" in missing.stderr


def test_run_json_of_a_failed_job_exits_non_zero(server: Server, home: Path) -> None:
    # A wall-time limit far below what the program needs makes the job FAILED at stage execute.
    token = new_user_token(server, "cli-failing")
    run_xihe("users", "limits", "cli-failing", "--wall-seconds", "0.2", "--data-dir", str(server.data_dir),
             env=server.env)
    layers = "h q;\n" + "".join(f"cx q[{i}],q[{i + 1}];\n" for i in range(21)) + "t q;\n"
    slow = home / "slow.qasm"
    slow.write_text(f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[22];\ncreg c[22];\n{layers * 300}'
                    "measure q -> c;\n")
    failed = xihe(home, "run", str(slow), "--backend", "sim", "--shots", "10", "--json", "--url", server.url,
                  "--token", token)
    record = json.loads(failed.stdout)
    assert record["status"] == "FAILED" and "wall-time" in record["error"]["detail"], failed.stdout
    assert failed.returncode == 1, failed.stderr


def test_run_resolves_includes_next_to_the_file(server: Server, token: str, home: Path) -> None:
    folder = home / "programs"
    folder.mkdir()
    (folder / "mygates.inc").write_text("gate bell a, b { h a; cx a, b; }\n")
    program = folder / "uses_inc.qasm"
    program.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "mygates.inc";\nqreg q[2];\ncreg c[2];\n'
                       "bell q[0], q[1];\nx q[1];\nmeasure q -> c;\n")
    ran = xihe(home, "run", str(program), "--backend", "sim", "--shots", "200", "--seed", "3", "--url", server.url,
               "--token", token)  # run from another folder: includes are found next to the file, not the cwd
    assert ran.returncode == 0, ran.stderr
    rows = histogram_rows(ran.stdout)
    assert set(rows) == {"01", "10"} and sum(rows.values()) == 200, ran.stdout
    missing = folder / "missing_inc.qasm"
    missing.write_text('OPENQASM 2.0;\ninclude "nowhere.inc";\nqreg q[1];\n')
    refused = xihe(home, "run", str(missing), "--url", server.url, "--token", token)
    assert refused.returncode == 1 and "nowhere.inc" in refused.stderr and "Traceback" not in refused.stderr
    assert "qasm.load" not in refused.stderr


def test_options_stop_where_the_server_does(server: Server, token: str, home: Path) -> None:
    bell = home / "bell.qasm"
    bell.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\nmeasure q -> c;\n')
    before = xihe(home, "jobs", "--limit", "500", "--url", server.url, "--token", token)
    assert before.returncode == 0, before.stderr
    too_many = xihe(home, "jobs", "--limit", "501", "--url", server.url, "--token", token)
    assert too_many.returncode == 2 and "500" in too_many.stderr, too_many.stderr  # a usage error, not a 422
    no_shots = xihe(home, "run", str(bell), "--shots", "0", "--url", server.url, "--token", token)
    assert no_shots.returncode == 2 and "--shots" in no_shots.stderr and "submitted" not in no_shots.stderr


def test_no_token_says_not_logged_in(server: Server, home: Path) -> None:
    listed = xihe(home, "backends", "--url", server.url)
    assert listed.returncode == 1 and "not logged in: run `xihe login`" in listed.stderr, listed.stderr
    assert "401" not in listed.stderr


def test_url_with_the_api_prefix_is_understood(server: Server, token: str, home: Path) -> None:
    login = xihe(home, "login", "--url", f"{server.url}/api/v1/", "--token", token)
    assert login.returncode == 0, login.stderr
    assert f'url = "{server.url}"' in (home / ".xihe" / "config.toml").read_text()
    listed = xihe(home, "backends", "--json", "--url", f"{server.url}/api/v1")
    assert listed.returncode == 0, listed.stderr
    backends = {b["name"]: b for b in json.loads(listed.stdout)}
    assert (backends["line10"]["num_working_qubits"], backends["line10"]["max_connected_qubits"]) == (10, 9)


BELL_X = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[0];\nmeasure q -> c;\n'


@pytest.mark.parametrize("command", [("users", "list"), ("users", "add", "ada"), ("users", "token", "ada"),
                                     ("agent-token", "--device", "sim"), ("db", "current"), ("worker",)])
def test_operator_commands_never_create_a_database(home: Path, command: tuple[str, ...]) -> None:
    folder = home / "elsewhere"
    folder.mkdir()
    done = xihe(home, *command, cwd=folder)
    expected = f"no Xihe database at {folder / '.xihe-data' / 'xihe.db'}; pass --data-dir or set XIHE_DATA_DIR"
    assert done.returncode != 0 and expected in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (folder / ".xihe-data").exists()
    # An empty file (what older versions left behind) is no Xihe database either, and stays as it was.
    (folder / ".xihe-data").mkdir()
    (folder / ".xihe-data" / "xihe.db").write_bytes(b"")
    again = xihe(home, *command, "--data-dir", str(folder / ".xihe-data"), cwd=home)
    assert again.returncode != 0 and "no Xihe database at" in again.stderr and "Traceback" not in again.stderr
    assert (folder / ".xihe-data" / "xihe.db").stat().st_size == 0


def test_serve_on_a_busy_port_says_so_before_changing_anything(home: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = xihe(home, "serve", "--port", str(port), "--data-dir", str(home / "data"), "--no-workers")
    assert done.returncode != 0 and f"port {port} is in use; choose --port" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "Errno" not in done.stderr
    assert "demo" not in done.stdout and "Xihe on" not in done.stdout, done.stdout
    assert not (home / "data" / "xihe.db").exists()


def test_cancel_of_a_finished_job_says_nothing_to_cancel(server: Server, token: str, home: Path) -> None:
    bell = home / "bell.qasm"
    bell.write_text(BELL_X)
    ran = xihe(home, "run", str(bell), "--backend", "sim", "--shots", "1", "--url", server.url, "--token", token)
    assert ran.returncode == 0, ran.stderr
    job_id = re.search(r"submitted job (\w+)", ran.stderr)
    assert job_id
    assert "1 shot, 1 outcome" in ran.stdout and "outcomes" not in ran.stdout, ran.stdout
    cancelled = xihe(home, "cancel", job_id.group(1), "--url", server.url, "--token", token)
    assert cancelled.returncode == 1, cancelled.stdout + cancelled.stderr
    assert f"job {job_id.group(1)}: already DONE; nothing to cancel" in cancelled.stderr
    assert "nothing to cancel" in xihe(home, "cancel", "--help").stdout


def test_backends_table_fits_80_columns_without_cutting_names(server: Server, token: str, home: Path) -> None:
    listed = xihe(home, "backends", "--json", "--url", server.url, "--token", token)
    names = [b["name"] for b in json.loads(listed.stdout)]
    table = xihe(home, "backends", "--url", server.url, "--token", token, columns=80)
    assert table.returncode == 0, table.stderr
    assert "conn/work/all" in table.stdout and "…" not in table.stdout, table.stdout
    assert max(len(line.rstrip()) for line in table.stdout.splitlines()) <= 80
    body = table.stdout.split("─" * 10, 1)[1].splitlines()
    assert set(names) <= {line.split()[0] for line in body if line.strip()}, table.stdout


def test_run_takes_an_openqasm3_file_with_blocks_and_loops(server: Server, token: str, home: Path) -> None:
    program = home / "dynamic.qasm"
    program.write_text('OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[2] c;\nqubit[2] q;\nx q[0];\n'
                       "c[0] = measure q[0];\nif (c[0]) {\n  x q[1];\n} else {\n  h q[1];\n}\n"
                       "for int i in [0:1] {\n  x q[0];\n}\nc[1] = measure q[1];\n")
    ran = xihe(home, "run", str(program), "--backend", "sim", "--shots", "100", "--seed", "2", "--url", server.url,
               "--token", token)
    assert ran.returncode == 0, ran.stderr
    assert histogram_rows(ran.stdout) == {"11": 100}, ran.stdout
    program.write_text('OPENQASM 3.0;\ninclude "stdgates.inc";\nbit[1] c;\nqubit[1] q;\n'
                       "if (c[0] == 2) {\n  x q[0];\n}\n")
    refused = xihe(home, "run", str(program), "--url", server.url, "--token", token)
    assert refused.returncode == 1 and "line 5, column 13" in refused.stderr and "Traceback" not in refused.stderr


def test_jobs_table_at_80_columns_shows_whole_ids_that_job_accepts(server: Server, token: str, home: Path) -> None:
    """On an 80-column terminal the job list cut each 16-character id to "edecfef8d49b0…", which ``xihe job`` and
    ``xihe cancel`` answer with a 404: the id is what a user copies from the list, so it is never cut."""
    bell = home / "bell.qasm"
    bell.write_text(BELL_X)
    ran = xihe(home, "run", str(bell), "--backend", "sim", "--shots", "1", "--name", "a rather long job name " * 2,
               "--url", server.url, "--token", token)
    submitted = re.search(r"submitted job (\w+)", ran.stderr)
    assert ran.returncode == 0 and submitted, ran.stderr
    listing = xihe(home, "jobs", "--limit", "3", "--url", server.url, "--token", token, columns=80)
    assert listing.returncode == 0, listing.stderr
    assert submitted.group(1) in listing.stdout, listing.stdout
    assert max(len(line.rstrip()) for line in listing.stdout.splitlines()) <= 80, listing.stdout


def test_users_limits_refuses_what_no_limit_can_be(server: Server) -> None:
    """``--wall-seconds nan`` was stored, and a NaN wall limit is never reached (the job ran unlimited); a negative
    jobs-per-day was stored too, and 10^23 ended in an OverflowError traceback. Each is a one-line error, exit 1,
    and the user's limits stay as they were; the admin page refuses the same values (one rule)."""
    new_user_token(server, "cli-limits")
    for option, value, says in (("--wall-seconds", "nan", "wall seconds must be a finite number"),
                                ("--jobs-per-day", "-5", "jobs per day cannot be negative"),
                                ("--jobs-per-day", "99999999999999999999999", "jobs per day is at most 2147483647")):
        done = subprocess.run([sys.executable, "-c", "from xihe.cli import main; main()", "users", "limits",
                               "cli-limits", option, value, "--data-dir", str(server.data_dir)],
                              env=server.env, capture_output=True, text=True, timeout=WAIT_S, check=False)
        assert done.returncode == 1 and says in done.stderr and "Traceback" not in done.stderr, (option, done)
    listed = run_xihe("users", "limits", "cli-limits", "--wall-seconds", "30", "--data-dir", str(server.data_dir),
                      env=server.env)
    assert "limits of cli-limits updated" in listed
