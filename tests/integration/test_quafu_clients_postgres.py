"""quafu-sdk 0.2.7 and quafusqc 3.3.9, unmodified, against a live Xihe server on PostgreSQL (a subset).

The same client scenarios as ``test_quafu_sdk.py`` and ``test_quafusqc.py``, on a server whose database is a fresh
PostgreSQL one: submit, c0-rightmost counts, sweep, iterative appends, cancel, replayed ``client_ref``, one job list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.client.live import QUOTA_SHOTS, WAIT_S, new_user_token
from tests.integration import test_quafu_sdk, test_quafu_sdk_login, test_quafu_sdk_targets, test_quafusqc
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import Server, fresh_postgres_database, run_xihe, server_env

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-quafu-pg")
    with fresh_postgres_database() as url:
        served = '["sim", "sim-clifford", "line10", "dongling", "line10-ideal", "dongling-ideal"]'
        env = server_env(data_dir, url, WORKERS="1", WORKER_BACKENDS=served, DEFAULT_MAX_SHOTS=str(QUOTA_SHOTS),
                         MAX_WAIT_SECONDS=str(WAIT_S))
        run_xihe("db", "upgrade", env=env)
        srv = Server(data_dir, env).start(timeout=WAIT_S)
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "pg-quafu-user")


@pytest.fixture(scope="module")
def sdk(server: Server, token: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = client_python("quafu-sdk", "0.2.7", 11)
    return run_client(python, test_quafu_sdk.SCENARIO, tmp_path_factory.mktemp("pg-sdk"), server.url, token)


@pytest.fixture(scope="module")
def sqc(server: Server, token: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = client_python("quafusqc", "3.3.9", 12)
    return run_client(python, test_quafusqc.SCENARIO, tmp_path_factory.mktemp("pg-sqc"), server.url, token)


def test_database_is_postgresql(server: Server) -> None:
    assert httpx.get(f"{server.url}/health", timeout=30).json()["database"] == "postgresql"


def test_quafu_sdk_on_postgresql(sdk: dict[str, Any]) -> None:
    test_quafu_sdk.test_single_job_counts_are_c0_rightmost_with_exact_probabilities(sdk)
    test_quafu_sdk.test_collection_and_sweep(sdk)
    test_quafu_sdk.test_cancel_a_queued_job_is_idempotent(sdk)
    test_quafu_sdk.test_server_side_refusals_map_to_the_sdks_exceptions(sdk)
    test_quafu_sdk.test_iterative_job_appends_points_and_circuits_then_closes(sdk)


def test_replayed_client_ref_on_postgresql(server: Server, token: str) -> None:
    test_quafu_sdk.test_replayed_client_ref_returns_the_same_job(server, token)


def test_quafusqc_on_postgresql(sqc: dict[str, Any]) -> None:
    test_quafusqc.test_run_returns_an_integer_task_and_result_the_bell_counts(sqc)
    test_quafusqc.test_counts_are_keyed_with_classical_bit_zero_rightmost(sqc)
    test_quafusqc.test_result_is_empty_until_done_and_cancel_takes_a_queued_task(sqc)


def test_one_job_list_on_postgresql(sqc: dict[str, Any], sdk: dict[str, Any], server: Server, token: str) -> None:
    test_quafusqc.test_one_job_list_for_quafusqc_quafu_sdk_and_native(sqc, server, token)


def test_jiuding_targets_on_postgresql(server: Server, token: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    python = client_python("quafu-sdk", "0.2.7", 11)
    report = run_client(python, test_quafu_sdk_targets.SCENARIO, tmp_path_factory.mktemp("pg-targets"), server.url,
                        token)
    test_quafu_sdk_targets.test_jiuding_is_exact_and_runs_the_chips_native_gates_on_its_coupling(report)
    test_quafu_sdk_targets.test_deterministic_circuit_is_one_outcome_on_jiuding_and_sim_only(report)


def test_browser_login_on_postgresql(server: Server, tmp_path_factory: pytest.TempPathFactory) -> None:
    session = test_quafu_sdk_login.drive_login(server, tmp_path_factory.mktemp("pg-login"), "pg-login-user")
    test_quafu_sdk_login.test_login_saves_a_qf_token_that_expires_in_90_days(session)
    test_quafu_sdk_login.test_the_login_token_works_on_every_api(session)
    test_quafu_sdk_login.test_logout_revokes_the_token_on_the_server(session)
