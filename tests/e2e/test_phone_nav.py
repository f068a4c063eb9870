"""On a 390 px phone every link of the header's navigation is on screen, the Account and Admin ones included.

The navigation used to be one row that scrolled sideways: an admin on a phone saw "Backends Composer Editor Jobs
Accoun", with Admin out of sight and nothing hinting at it, even on the Account page itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser import launch, log_in
from tests.service.helpers import Server, server_env

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-phone-nav")
    srv = Server(data_dir, server_env(data_dir, WORKERS="1")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("path", ["/backends", "/account", "/admin"])
def test_every_navigation_link_of_an_admin_is_on_a_phone_screen(browser: Any, server: Server, path: str) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    assert server.password
    log_in(page, server.url, "demo", server.password)
    page.goto(f"{server.url}{path}")
    links = page.locator("header.top nav a")
    names = links.all_inner_texts()
    assert names == ["Backends", "Composer", "Editor", "Jobs", "Account", "Admin"]
    off_screen = {}
    for i, name in enumerate(names):
        box = links.nth(i).bounding_box()
        assert box is not None, name
        if box["x"] < 0 or box["x"] + box["width"] > PHONE["width"]:
            off_screen[name] = round(box["x"] + box["width"])
    assert off_screen == {}
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= PHONE["width"]
    context.close()
