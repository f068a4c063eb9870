"""The dashboard in a real browser (Debian's Chromium via Playwright) against a live ``xihe serve``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.browser import launch, log_in
from tests.service.helpers import BELL, Server, basis_state_qasm, run_xihe, server_env

pytestmark = pytest.mark.browser
# The machine may be busy: give every wait room (they return as soon as the condition holds).
expect.set_options(timeout=30_000)

BOB_PASSWORD = "bob-password-1"
# "cx q[0] q[1];": a missing comma on line 6.
BELL_WITH_TYPO = BELL.replace("cx q[0],q[1];", "cx q[0] q[1];")
# Some tenths of a second each on line10 (8-qubit noisy simulation): a batch of them runs for seconds.
SLOW_LINE10 = basis_state_qasm(0b10110101, 8).replace("measure", "barrier q;\n" + "h q;\n" * 6 + "measure")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-e2e")
    srv = Server(data_dir, server_env(data_dir, WORKERS="1", HEARTBEAT_SECONDS="0.2")).start()
    run_xihe("users", "add", "bob", "--password-value", BOB_PASSWORD, "--data-dir", str(data_dir), env=srv.env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def demo(browser: Any, server: Server) -> Iterator[Page]:
    """The demo user (admin, password printed by ``xihe serve``), logged in once for the module."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    assert server.password
    log_in(page, server.url, "demo", server.password)
    yield page
    context.close()


def test_login_refuses_a_wrong_password_then_lets_the_user_in(browser: Any, server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/jobs")
    expect(page).to_have_url(re.compile(r"/login\?next=/jobs$"))
    page.fill("#name", "bob")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    page.fill("#password", BOB_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/jobs")
    expect(page.locator("#current-user")).to_have_text("bob")
    cookie = next(c for c in context.cookies() if c["name"] == "xihe_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    page.click("form.logout button")
    expect(page).to_have_url(f"{server.url}/login")
    page.goto(f"{server.url}/jobs")
    expect(page).to_have_url(re.compile(r"/login"))
    context.close()


def test_dongling_shows_its_106_working_qubits_and_marks_the_dead(demo: Page, server: Server) -> None:
    demo.goto(f"{server.url}/backends")
    demo.click("a[href='/backends/dongling']")
    expect(demo.locator("#topology svg")).to_be_visible()
    expect(demo.locator("#topology g.qubit.working")).to_have_count(106)
    expect(demo.locator("#topology g.qubit.dead")).to_have_count(24)
    expect(demo.locator("#working-count")).to_have_text("106")
    dead = demo.locator("#topology g.qubit.dead").first
    expect(dead.locator("title")).to_contain_text("dead")
    assert dead.locator("path").count() == 1  # the cross over a dead qubit
    expect(demo.locator("#calibration-time")).to_contain_text("2024-04-01 14:27:11 UTC")
    demo.select_option("#metric", "readout")
    demo.click("text=Redraw")
    expect(demo.locator("#topology .legend")).to_contain_text("readout error")


def test_typo_is_shown_at_its_line_then_the_fixed_bell_runs_near_50_50(demo: Page, server: Server) -> None:
    demo.goto(f"{server.url}/editor")
    editor = demo.locator("#qasm")
    editor.fill("")
    editor.press_sequentially(BELL_WITH_TYPO)
    error_line = demo.locator("#gutter span.error")
    expect(error_line).to_have_attribute("data-line", "6")
    expect(demo.locator("#validation")).to_contain_text("Line 6, column")
    expect(demo.locator("#error-band")).to_be_visible()
    expect(demo.locator("#submit")).to_be_disabled()

    editor.fill(BELL)
    expect(demo.locator("#validation")).to_have_text("Valid OpenQASM 2.0 for sim.")
    expect(demo.locator("#gutter span.error")).to_have_count(0)
    expect(demo.locator("#drawing svg")).to_be_visible()
    demo.select_option("#backend", "sim")
    demo.fill("#shots", "2000")
    demo.fill("#job-name", "bell from the browser")
    demo.click("#submit")
    expect(demo).to_have_url(re.compile(r"/jobs/[0-9a-f]{16}$"))
    expect(demo.locator("#job-status")).to_have_attribute("data-status", "DONE", timeout=60_000)
    bars = demo.locator("#histogram svg g.bar")
    expect(bars).to_have_count(2)
    keys = [bars.nth(i).get_attribute("data-key") for i in range(2)]
    shares = [float(bars.nth(i).get_attribute("data-probability") or "nan") for i in range(2)]
    assert keys == ["00", "11"]
    assert all(0.45 < share < 0.55 for share in shares) and sum(shares) == pytest.approx(1.0)
    for i in range(2):
        box = bars.nth(i).locator("rect").bounding_box()
        assert box is not None and box["height"] > 50  # drawn, not just present
    with demo.expect_download() as download:
        demo.click("#download")
    assert download.value.suggested_filename.startswith("xihe-job-")


def test_a_revoked_token_is_refused_by_the_api(demo: Page, server: Server) -> None:
    demo.goto(f"{server.url}/account")
    demo.fill("#token-name", "e2e")
    demo.click("#create-token button[type=submit]")
    secret = demo.locator("#new-token-secret").inner_text().strip()
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert api.get("/backends").status_code == 200
    demo.goto(f"{server.url}/account")
    expect(demo.locator("#new-token-secret")).to_have_count(0)  # shown once
    row = demo.locator("#tokens tr", has_text="e2e")
    row.locator("button.revoke").click()
    expect(demo.locator("#tokens tr", has_text="e2e").locator(".token-state")).to_have_text("revoked")
    refused = api.get("/backends")
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    api.close()


def test_a_second_user_cannot_open_the_first_users_job(browser: Any, demo: Page, server: Server) -> None:
    demo.goto(f"{server.url}/jobs")
    first = demo.locator("#jobs tr[data-job]").first
    job_id = first.get_attribute("data-job")
    assert job_id
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, server.url, "bob", BOB_PASSWORD)
    response = page.goto(f"{server.url}/jobs/{job_id}")
    assert response is not None and response.status == 404
    expect(page.locator("#error-title")).to_have_text("No such job")
    expect(page.locator("#histogram svg")).to_have_count(0)
    page.goto(f"{server.url}/jobs")
    expect(page.locator(f"tr[data-job='{job_id}']")).to_have_count(0)
    context.close()


def test_the_job_list_follows_status_live(demo: Page, server: Server) -> None:
    with server.client() as api:
        response = api.post("/jobs", json={"circuits": [SLOW_LINE10] * 12, "backend": "line10", "shots": 100})
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]
    demo.goto(f"{server.url}/jobs")
    demo.evaluate("window.sameDocument = true")
    badge = demo.locator(f"tr[data-job='{job_id}'] .job-status")
    assert badge.get_attribute("data-status") in ("QUEUED", "RUNNING")
    expect(badge).to_have_attribute("data-status", "DONE", timeout=90_000)
    assert demo.evaluate("window.sameDocument") is True  # updated in place by polling, not by a reload
    expect(demo.locator(f"tr[data-job='{job_id}'] .finished")).not_to_be_empty()
