"""The dashboard in a real browser (Debian's Chromium via Playwright) against a live ``xihe serve``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
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
# A job that holds a twin for minutes whatever the engines' speed: 16 qubits on grid36 take the trajectories engine,
# about 5 ms a shot on the quiet machine, so 100,000 shots are some 8 minutes (the test cancels it).
HOLD_GRID36 = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[16];\ncreg c[16];\n'
               + ("".join(f"h q[{i}];\nt q[{i}];\n" for i in range(16))
                  + "".join(f"cx q[{i}],q[{i + 1}];\n" for i in range(15))) * 4
               + "measure q -> c;\n")


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
    expect(demo.locator("#topology svg.topology")).to_be_visible()
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
    assert sorted(keys) == ["00", "11"]  # bars by count, most frequent first
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
    demo.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    demo.click("#copy-token")
    expect(demo.locator("#copy-status")).to_have_text("Copied.")
    assert demo.evaluate("navigator.clipboard.readText()") == secret
    api = httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert api.get("/backends").status_code == 200
    demo.goto(f"{server.url}/account")
    expect(demo.locator("#new-token-secret")).to_have_count(0)  # shown once
    row = demo.locator("#tokens tr", has_text="e2e")
    questions: list[str] = []
    demo.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    row.locator("button.revoke").click()  # dismissed: nothing happens
    expect(demo.locator("#tokens tr", has_text="e2e").locator(".token-state")).to_have_text("active")
    assert api.get("/backends").status_code == 200 and "Revoke the token" in questions[0]
    demo.once("dialog", lambda dialog: dialog.accept())
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
        # Seconds on the twin's trajectories (1,000 shots took 80 s at load 5, near the wait below).
        response = api.post("/jobs", json={"qasm": HOLD_GRID36, "backend": "grid36", "shots": 200})
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]
    demo.goto(f"{server.url}/jobs")
    demo.evaluate("window.sameDocument = true")
    badge = demo.locator(f"tr[data-job='{job_id}'] .job-status")
    assert badge.get_attribute("data-status") in ("QUEUED", "RUNNING")
    expect(badge).to_have_attribute("data-status", "DONE", timeout=90_000)
    assert demo.evaluate("window.sameDocument") is True  # updated in place by polling, not by a reload
    expect(demo.locator(f"tr[data-job='{job_id}'] .finished")).not_to_be_empty()


def _record_foreign_requests(context: Any, origin: str) -> list[str]:
    """Abort, and list, every request that would leave the server's origin."""
    foreign: list[str] = []

    def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    context.route("**/*", handle)
    return foreign


def test_api_docs_render_offline_from_the_package(browser: Any, server: Server) -> None:
    context = browser.new_context()
    foreign = _record_foreign_requests(context, server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server.url}/docs")
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    expect(page.locator("#swagger-ui .opblock-summary-path", has_text="/api/v1/jobs").first).to_be_visible()
    page.goto(f"{server.url}/redoc")
    expect(page.locator("#redoc h1").first).to_contain_text("Xihe")
    expect(page.locator("#redoc [role=menuitem]").first).to_be_visible()
    assert foreign == []
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    context.close()


PHONE = {"width": 390, "height": 844}


def test_logout_then_the_old_cookie_is_refused(browser: Any, server: Server) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    log_in(page, server.url, "bob", BOB_PASSWORD)
    old = [cookie for cookie in context.cookies() if cookie["name"] == "xihe_session"]
    csrf = page.locator("body").get_attribute("data-csrf")
    page.click("form.logout button")
    expect(page).to_have_url(f"{server.url}/login")
    context.close()
    replay = browser.new_context()
    replay.add_cookies(old)  # someone kept the cookie (a shared computer, a stolen copy)
    page = replay.new_page()
    page.set_default_timeout(30_000)
    for path in ("/jobs", "/account"):
        page.goto(f"{server.url}{path}")
        expect(page).to_have_url(re.compile(r"/login\?next="))
    posted = page.request.post(f"{server.url}/account/tokens", form={"name": "stolen", "csrf_token": csrf or ""},
                               max_redirects=0)
    assert posted.status == 303 and posted.headers["location"].startswith("/login")
    replay.close()


def _login_over_http(url: str, name: str, password: str, forwarded_for: str) -> httpx.Response:
    """One form login as a browser behind the proxy would send it, the client address in X-Forwarded-For."""
    headers = {"X-Forwarded-For": forwarded_for}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
        form = http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, form.text
        cookie = form.cookies.get("xihe_login_csrf")
        return http.post("/login", data={"name": name, "password": password, "csrf_token": token.group(1)},
                         headers={"Cookie": f"xihe_login_csrf={cookie}"})


def test_a_lockout_from_one_address_does_not_stop_the_owner_elsewhere(server: Server) -> None:
    # The server's peer here is 127.0.0.1, the nginx of docs/deploy.md: uvicorn trusts its X-Forwarded-For.
    for _ in range(10):
        assert _login_over_http(server.url, "bob", "guess", "198.51.100.9").status_code == 401
    assert _login_over_http(server.url, "bob", BOB_PASSWORD, "198.51.100.9").status_code == 429
    assert _login_over_http(server.url, "bob", BOB_PASSWORD, "203.0.113.30").status_code == 303


def test_an_untrusted_forwarded_header_is_ignored(tmp_path_factory: pytest.TempPathFactory) -> None:
    data_dir = tmp_path_factory.mktemp("xihe-e2e-untrusted")
    env = server_env(data_dir, WORKERS="1")
    env["XIHE_TRUSTED_PROXIES"] = "192.0.2.1"  # the only trusted proxy; the tests' 127.0.0.1 is not it
    srv = Server(data_dir, env).start()
    try:
        run_xihe("users", "add", "bob", "--password-value", BOB_PASSWORD, "--data-dir", str(data_dir), env=srv.env)
        for _ in range(10):
            assert _login_over_http(srv.url, "bob", "guess", "198.51.100.10").status_code == 401
        # A forged header cannot make the attacker look like a fresh address: it is still 127.0.0.1, paused.
        assert _login_over_http(srv.url, "bob", BOB_PASSWORD, "203.0.113.31").status_code == 429
    finally:
        srv.stop()


def test_the_editor_blocks_what_the_backend_refuses_and_points_at_the_column(demo: Page, server: Server) -> None:
    demo.goto(f"{server.url}/editor")
    editor = demo.locator("#qasm")
    wide = BELL.replace("qreg q[2];", "qreg q[12];").replace("creg c[2];", "creg c[12];")
    editor.fill(wide)
    demo.select_option("#backend", "line10")
    expect(demo.locator("#validation")).to_contain_text("Parses, but not for line10")
    expect(demo.locator("#submit")).to_be_disabled()  # no 422 round trip
    demo.select_option("#backend", "sim")
    expect(demo.locator("#validation")).to_have_text("Valid OpenQASM 2.0 for sim.")
    expect(demo.locator("#submit")).to_be_enabled()

    editor.fill(BELL_WITH_TYPO)  # "cx q[0] q[1];": the parser names the column of "q[1]"
    caret = demo.locator("#error-caret")
    expect(caret).to_be_visible()
    column = int(caret.get_attribute("data-column") or "0")
    assert f"column {column}" in (demo.locator("#validation").text_content() or "")
    box, area = caret.bounding_box(), editor.bounding_box()
    assert box is not None and area is not None
    assert box["x"] > area["x"] + (column - 2) * 7  # drawn under that column, not at the line's start

    editor.fill(BELL)
    editor.press("End")
    editor.press("Tab")
    assert demo.evaluate("document.activeElement.id") == "qasm"  # Tab indents instead of leaving the box
    assert editor.input_value().endswith("  ")
    editor.press("Escape")
    editor.press("Tab")
    assert demo.evaluate("document.activeElement.id") != "qasm"  # Escape, Tab: the keyboard way out


def test_cancel_asks_first(demo: Page, server: Server) -> None:
    with server.client() as api:
        response = api.post("/jobs", json={"qasm": HOLD_GRID36, "backend": "grid36", "shots": 100_000})
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]
    demo.goto(f"{server.url}/jobs/{job_id}")
    questions: list[str] = []
    demo.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    demo.click("#cancel")
    assert questions and job_id in questions[0]
    with server.client() as api:
        assert api.get(f"/jobs/{job_id}").json()["status"] in ("QUEUED", "RUNNING")
    demo.once("dialog", lambda dialog: dialog.accept())
    demo.click("#cancel")
    expect(demo.locator("#job-status")).to_have_attribute("data-status", "CANCELLED", timeout=60_000)


def test_the_composer_builds_a_bell_circuit_by_clicks_and_submits_it(demo: Page, server: Server) -> None:
    demo.goto(f"{server.url}/composer")
    expect(demo.locator("#composer-status")).to_contain_text("Valid: 2 qubits, 0 operations")
    demo.click(".gate-tool[data-gate='h']")
    demo.click("#grid button.cell[data-q='0'][data-col='0']")
    demo.click(".gate-tool[data-gate='cx']")
    demo.click("#grid button.cell[data-q='0'][data-col='1']")  # control
    demo.click("#grid button.cell[data-q='1'][data-col='1']")  # target
    demo.click(".gate-tool[data-gate='measure']")
    demo.click("#grid button.cell[data-q='0'][data-col='2']")
    demo.click("#grid button.cell[data-q='1'][data-col='2']")
    text = demo.locator("#composer-qasm")
    expect(text).to_have_value(re.compile(r"h q\[0\];\ncx q\[0\],q\[1\];\nmeasure q\[0\] -> c\[0\];\n"
                                          r"measure q\[1\] -> c\[1\];\n$"))
    outcomes = demo.locator("#probability-list li")
    expect(outcomes).to_have_count(2)
    shown = {outcomes.nth(i).get_attribute("data-outcome"): float(outcomes.nth(i).get_attribute("data-probability")
                                                                  or "nan") for i in range(2)}
    assert shown == {"00": pytest.approx(0.5, abs=1e-9), "11": pytest.approx(0.5, abs=1e-9)}
    # the other way: an edit of the text redraws the grid
    text.fill(text.input_value().replace("h q[0];", "x q[1];\nh q[0];"))
    expect(demo.locator("#grid button.cell[data-gate='x'][data-q='1']")).to_have_count(1)
    expect(demo.locator("#composer-status")).to_contain_text("Valid: 2 qubits, 5 operations")
    demo.click(".gate-tool[data-gate='delete']")
    demo.click("#grid button.cell[data-gate='x']")
    expect(demo.locator("#grid button.cell[data-gate='x']")).to_have_count(0)
    expect(text).not_to_have_value(re.compile(r"x q\[1\]"))
    demo.drag_and_drop(".gate-tool[data-gate='z']", "#grid button.cell[data-q='0'][data-col='3']")  # by drag
    expect(text).to_have_value(re.compile(r"measure q\[1\] -> c\[1\];\nz q\[0\];\n$"))
    demo.click("#grid button.cell[data-gate='z']")  # the Delete tool is still chosen
    expect(text).not_to_have_value(re.compile(r"z q\[0\]"))
    demo.select_option("#composer-backend", "sim")
    demo.fill("#composer-name", "bell by clicks")
    demo.click("#composer-submit")
    expect(demo).to_have_url(re.compile(r"/jobs/[0-9a-f]{16}$"))
    expect(demo.locator("#job-status")).to_have_attribute("data-status", "DONE", timeout=60_000)
    keys = sorted(demo.locator("#histogram svg g.bar").evaluate_all("bars => bars.map(b => b.dataset.key)"))
    assert keys == ["00", "11"]


def test_new_jobs_appear_live_and_several_can_be_cancelled_at_once(demo: Page, server: Server) -> None:
    demo.goto(f"{server.url}/jobs")
    demo.evaluate("window.sameDocument = true")
    with server.client() as api:  # a long job holds grid36 (minutes of noisy shots); the next three wait behind it
        ids = [api.post("/jobs", json={"qasm": HOLD_GRID36, "backend": "grid36", "shots": 100_000,
                                       "name": "live 0"}).json()["id"]]
        ids += [api.post("/jobs", json={"qasm": BELL, "backend": "grid36", "shots": 100,
                                        "name": f"live {i}"}).json()["id"] for i in range(1, 4)]
    for job_id in ids:
        expect(demo.locator(f"#jobs tr[data-job='{job_id}']")).to_have_count(1)  # no reload: the long poll
    assert demo.evaluate("window.sameDocument") is True
    newest = demo.locator("#jobs tbody tr").first.get_attribute("data-job")
    assert newest == ids[-1]
    for job_id in ids[1:]:
        demo.check(f"#jobs tr[data-job='{job_id}'] .pick-job")
    expect(demo.locator("#selected-count")).to_have_text("3 selected")
    questions: list[str] = []
    demo.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    demo.click("#cancel-selected")
    expect(demo.locator("#cancel-notice")).to_have_text("Cancelled 3 jobs.")
    assert questions == ["Cancel 3 selected jobs? This cannot be undone."]
    with server.client() as api:
        states = [api.get(f"/jobs/{job_id}").json()["status"] for job_id in ids]
        assert states[1:] == ["CANCELLED"] * 3 and states[0] in ("QUEUED", "RUNNING")
        api.post(f"/jobs/{ids[0]}/cancel")


def test_search_sort_and_page_size_from_the_form(demo: Page, server: Server) -> None:
    with server.client() as api:
        api.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10, "name": "findable 2"})
        api.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10, "name": "findable 3"})
    demo.goto(f"{server.url}/jobs")
    demo.fill("#filter-q", "findable 2")
    demo.select_option("#filter-per-page", "10")
    demo.click("#filters button[type=submit]")
    expect(demo.locator("#jobs tbody tr")).to_have_count(1)
    expect(demo.locator("#jobs tbody tr td").nth(2)).to_have_text("findable 2")
    assert "per_page=10" in demo.url


def test_a_tap_on_a_qubit_opens_its_panel_with_history(browser: Any, server: Server) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    assert server.password
    log_in(page, server.url, "demo", server.password)
    page.goto(f"{server.url}/backends/line10")
    page.locator("#topology g.qubit[data-qubit='3']").tap()
    expect(page.locator("#panel-title")).to_contain_text("(#3)")
    expect(page.locator("#panel-body figure svg.history").first).to_be_visible()
    expect(page.locator("#topology g.qubit.selected")).to_have_attribute("data-qubit", "3")
    page.select_option("#panel-qubit", "4")  # the keyboard's way
    expect(page.locator("#panel-title")).to_contain_text("(#4)")
    # a horizontal line has no height, so Playwright calls it invisible: tap the screen at its middle instead
    middle = page.locator("#topology line.coupler.working[data-pair='4-5']").evaluate(
        "line => { const r = line.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }")
    page.touchscreen.tap(middle[0], middle[1])
    expect(page.locator("#panel-title")).to_contain_text("Coupler")
    page.select_option("#metric", "t2")
    expect(page.locator("#topology .legend")).to_contain_text("T2 echo")
    context.close()


def test_results_export_png_and_csv_and_switch_to_log(demo: Page, server: Server) -> None:
    with server.client() as api:
        job_id = api.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 500}).json()["id"]
        api.get(f"/jobs/{job_id}", params={"wait": 60})
    demo.goto(f"{server.url}/jobs/{job_id}")
    expect(demo.locator("#histogram svg g.ideal")).not_to_have_count(0)  # a twin: the ideal overlay
    with demo.expect_download() as png:
        demo.click("button.png")
    assert png.value.suggested_filename == f"xihe-{job_id}-0.png"
    head = Path(png.value.path()).read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n"
    with demo.expect_download() as table:
        demo.click("a.csv")
    assert Path(table.value.path()).read_text().startswith("outcome,count,probability,ideal_probability\n")
    demo.select_option("#view-scale", "log")
    demo.click("#view-options button[type=submit]")
    expect(demo.locator("#histogram svg")).to_have_attribute("data-scale", "log")


AXE = Path(__file__).with_name("vendor") / "axe.min.js"  # axe-core from npm (see vendor/VERSION)
PAGES = ("/backends", "/backends/line10", "/backends/dongling", "/backends/sim", "/composer", "/editor", "/jobs",
         "/jobs?q=bell&per_page=10", "/account", "/admin", "/docs", "/redoc", "/jobs/0000000000000000",
         # quafu-sdk's browser login: the consent page and the page showing a code to paste
         "/oauth/authorize?response_type=code&client_id=quafu-sdk&redirect_uri=http%3A%2F%2F127.0.0.1%3A54321%2Fcb"
         "&code_challenge=" + "A" * 43 + "&code_challenge_method=S256&state=s&device_name=lab-pc",
         "/oauth/code?code=abc&state=s")
SERIOUS = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => v.id + ": " + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))"""
READY = {"/docs": "#swagger-ui .opblock", "/redoc": "#redoc h1", "/composer": "#probability-list li"}


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1366, "height": 900}], ids=["390px", "1366px"])
def test_every_page_passes_axe_fits_the_screen_and_stays_on_the_origin(browser: Any, server: Server,
                                                                       viewport: dict[str, int]) -> None:
    """axe-core finds no serious or critical violation, nothing is wider than a 390 px phone, and no request
    leaves the server's origin, on every page (dynamic parts opened: the chip panel, the composer's results)."""
    phone = viewport == PHONE
    # bypass_csp: axe is injected as an inline script; the pages themselves are unchanged.
    context = browser.new_context(viewport=viewport, bypass_csp=True, is_mobile=phone, has_touch=phone)
    foreign = _record_foreign_requests(context, server.url)
    page = context.new_page()
    page.set_default_timeout(30_000)
    violations: dict[str, list[str]] = {}
    too_wide: dict[str, int] = {}

    def check(label: str) -> None:
        page.add_script_tag(path=str(AXE))
        found = page.evaluate(SERIOUS)
        if found:
            violations[label] = found
        width = int(page.evaluate("document.documentElement.scrollWidth"))
        if width > viewport["width"]:
            too_wide[label] = width

    page.goto(f"{server.url}/login")
    check("/login")
    assert server.password
    log_in(page, server.url, "demo", server.password)
    with server.client() as api:
        twin = api.post("/jobs", json={"qasm": BELL, "backend": "line10", "shots": 100, "name": "bell axe"}).json()
        queued = api.post("/jobs", json={"circuits": [SLOW_LINE10] * 30, "backend": "line10", "shots": 100}).json()
        api.get(f"/jobs/{twin['id']}", params={"wait": 60})
    for path in (*PAGES, f"/jobs/{twin['id']}", f"/jobs/{twin['id']}?bits=1&scale=log", f"/jobs/{queued['id']}"):
        page.goto(f"{server.url}{path}")  # "load", not "networkidle": the job list's long poll is always open
        if path in READY:
            expect(page.locator(READY[path]).first).to_be_visible()
        check(path)
    page.goto(f"{server.url}/backends/dongling")
    if phone:  # the header's "Log out" and the chip drawing stay on screen
        logout = page.locator("form.logout button").bounding_box()
        assert logout is not None and logout["x"] + logout["width"] <= PHONE["width"]
        chip = page.locator("#topology svg.topology").bounding_box()
        assert chip is not None and chip["x"] >= 0 and chip["x"] + chip["width"] <= PHONE["width"]
    page.select_option("#panel-qubit", "2")
    expect(page.locator("#panel-body figure svg").first).to_be_visible()
    check("/backends/dongling + qubit panel")
    with server.client() as api:
        api.post(f"/jobs/{queued['id']}/cancel")
    context.close()
    assert violations == {}
    assert too_wide == {} if phone else True
    assert foreign == []
