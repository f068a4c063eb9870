"""pyquafu 0.4.5's result paths against a live Xihe server on PostgreSQL: a subset of test_pyquafu_results.py.

The same pyquafu run (tests/client/pyquafu_issue14_scenarios.py), against ``xihe serve`` on a fresh PostgreSQL
database; the oracles are pyquafu's own ``simulate``, exact values and pyquafu's ``get_chip_info`` mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client.live import WAIT_S, new_user_token, run_pyquafu
from tests.integration.test_pyquafu_results import SCENARIOS, other_users_task, revoked_token
from tests.service.helpers import Server, fresh_postgres_database, run_xihe, server_env

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-pg-pyquafu")
    with fresh_postgres_database() as url:
        served = '["sim", "sim-clifford", "line10", "dongling", "line10-ideal", "dongling-ideal"]'
        env = server_env(data_dir, url, WORKERS="1", MAX_WAIT_SECONDS=str(WAIT_S), WORKER_BACKENDS=served)
        run_xihe("db", "upgrade", env=env)
        srv = Server(data_dir, env).start(timeout=WAIT_S)
        yield srv
        srv.stop()


@pytest.fixture(scope="module")
def report(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home: Path = tmp_path_factory.mktemp("pyquafu-pg-home")
    return run_pyquafu(SCENARIOS, home, server.url, new_user_token(server, "quafu-pg"), revoked_token(server),
                       other_users_task(server))


def test_compiled_twin_result_parses_and_matches_simulate_on_postgres(report: dict[str, Any]) -> None:
    run = report["compiled_line10"]
    assert run.get("status") == "Completed", run
    assert set(run["local"]) == {"011"} and max(run["counts"], key=lambda k: run["counts"][k]) == "011"


def test_submit_observables_are_exact_on_postgres(report: dict[str, Any]) -> None:
    run = report["submit_sim"]
    assert "raised" not in run, run
    assert run["values"][:4] == run["exact"][:4]


def test_partial_measurement_keys_match_simulate_on_postgres(report: dict[str, Any]) -> None:
    run = report["partial_measure"]
    assert "raised" not in run, run
    assert run["one"] == run["one_local"] == {"1": 40} and run["two"] == run["two_local"] == {"01": 40}


def test_verbatim_circuits_use_pyquafus_numbering_on_postgres(report: dict[str, Any]) -> None:
    for backend in ("line10", "dongling"):
        run = report["numbering"][backend]["run"]
        assert run.get("status") == "Completed", run
        assert max(run["counts"], key=lambda k: run["counts"][k]) == "11"


def test_retrieve_errors_are_pyquafu_exceptions_on_postgres(report: dict[str, Any]) -> None:
    for case, error in report["errors"].items():
        assert error["raised"] == "ServerError" and error["is_quafu_error"], (case, error)


def test_estimator_on_sim_ideal_is_exact_on_postgres(report: dict[str, Any]) -> None:
    run = report["estimator"]
    assert "raised" not in run, run
    assert run["remote"] == pytest.approx(run["exact"])
