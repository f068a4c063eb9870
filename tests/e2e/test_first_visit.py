"""What a new user met on a first visit, in Chromium against a live ``xihe serve``.

- The composer said "Valid: 2 qubits, 3 operations" for a circuit without measurements, then the submit landed
  on the editor with a 422 ("the circuit measures nothing"); now it warns, holds the submit and offers to measure.
- ``/favicon.ico`` answered 404 (a console error on the first load).
- At 390 px the Jobs table scrolled its Status column out of sight ("DON…"), and the chip page's legend shrank
  with the chip drawing to about 5 px text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.browser import launch, log_in
from tests.service.helpers import BELL, Server, server_env, wait_all

pytestmark = pytest.mark.browser
expect.set_options(timeout=30_000)
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-first-visit")
    srv = Server(data_dir, server_env(data_dir, WORKERS="1")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def _page(browser: Any, server: Server, phone: bool = False) -> Page:
    context = browser.new_context(viewport=PHONE if phone else {"width": 1280, "height": 900}, is_mobile=phone,
                                  has_touch=phone)
    page: Page = context.new_page()
    page.set_default_timeout(30_000)
    assert server.password
    log_in(page, server.url, "demo", server.password)
    return page


def test_the_composer_warns_before_submitting_a_circuit_without_measurements(browser: Any, server: Server) -> None:
    page = _page(browser, server)
    page.goto(f"{server.url}/composer")
    status = page.locator("#composer-status")
    page.click(".gate-tool[data-gate='h']")
    page.click("#grid button.cell[data-q='0'][data-col='0']")
    page.click(".gate-tool[data-gate='cx']")
    page.click("#grid button.cell[data-q='0'][data-col='1']")
    page.click("#grid button.cell[data-q='1'][data-col='1']")
    expect(status).to_contain_text("Valid: 2 qubits, 2 operations")
    expect(status).to_contain_text("measures nothing")
    expect(page.locator("#composer-submit")).to_be_disabled()
    offer = page.locator("#composer-measure-all")
    expect(offer).to_be_visible()
    offer.click()
    expect(page.locator("#composer-qasm")).to_have_value(
        re.compile(r"cx q\[0\],q\[1\];\nmeasure q\[0\] -> c\[0\];\nmeasure q\[1\] -> c\[1\];\n$"))
    expect(status).to_have_text("Valid: 2 qubits, 4 operations.")
    expect(offer).to_be_hidden()
    expect(page.locator("#composer-submit")).to_be_enabled()
    page.select_option("#composer-backend", "sim")
    page.click("#composer-submit")
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f]{16}$"))  # the job page, not the editor with a 422
    page.context.close()


def test_the_favicon_is_served_under_the_pages_policy(browser: Any, server: Server) -> None:
    answer = httpx.get(f"{server.url}/favicon.ico", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/x-icon"
    assert answer.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    context = browser.new_context()
    page = context.new_page()
    missing: list[str] = []
    page.on("response", lambda response: missing.append(response.url) if response.status >= 400 else None)
    page.goto(f"{server.url}/login")
    icon = page.evaluate("fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)")
    assert icon == 200  # fetched by the page itself: allowed by its Content-Security-Policy
    assert missing == []
    context.close()


def test_on_a_phone_the_job_status_is_not_cut_off(browser: Any, server: Server) -> None:
    with server.client() as api:
        job = api.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10, "name": "bell on a phone"})
        assert job.status_code == 201, job.text
        assert wait_all(api, [job.json()["id"]])[job.json()["id"]]["status"] == "DONE"
    page = _page(browser, server, phone=True)
    page.goto(f"{server.url}/jobs")
    badge = page.locator(f"tr[data-job='{job.json()['id']}'] .job-status")
    expect(badge).to_have_text("DONE")
    shown = badge.evaluate("""b => {
        const box = b.getBoundingClientRect();
        let clip = {left: 0, right: window.innerWidth};  // the viewport, narrowed by every scrolling ancestor
        for (let e = b.parentElement; e; e = e.parentElement) {
            const style = getComputedStyle(e);
            if (style.overflowX !== "visible") {
                const r = e.getBoundingClientRect();
                clip = {left: Math.max(clip.left, r.left), right: Math.min(clip.right, r.right)};
            }
        }
        return {left: box.left, right: box.right, clipLeft: clip.left, clipRight: clip.right,
                overflow: b.scrollWidth - b.clientWidth};
    }""")
    assert shown["clipLeft"] <= shown["left"] and shown["right"] <= shown["clipRight"], shown
    assert shown["overflow"] <= 0, shown
    assert int(page.evaluate("document.documentElement.scrollWidth")) <= PHONE["width"]
    page.context.close()


def test_on_a_phone_the_chip_legend_is_readable(browser: Any, server: Server) -> None:
    page = _page(browser, server, phone=True)
    page.goto(f"{server.url}/backends/dongling")
    sizes = page.locator("#topology .legend text").evaluate_all(
        "texts => texts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)")
    assert sizes and min(sizes) >= 10, sizes
    chip = page.locator("#topology svg.topology").bounding_box()
    assert chip is not None and chip["x"] + chip["width"] <= PHONE["width"]  # the chip itself still fits
    page.context.close()
