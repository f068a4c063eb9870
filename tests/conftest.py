"""Session-wide test infrastructure: the PostgreSQL server (``tests/postgres.py``) and the Chromium check."""

from __future__ import annotations

import pytest

from tests import postgres
from tests.e2e.browser import chromium_problem

_HAS_BROWSER_TESTS = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The admin URL of the tests' PostgreSQL: ``XIHE_TEST_DATABASE_URL``, else the private server."""
    return postgres.admin_url()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[_HAS_BROWSER_TESTS] = any(item.get_closest_marker("browser") for item in items)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    postgres.stop_private_server()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Where browser tests ran and no Chromium was found, say in one line how to get one (they failed)."""
    if config.stash.get(_HAS_BROWSER_TESTS, False) and (problem := chromium_problem()):
        terminalreporter.write_line(problem, red=True)
