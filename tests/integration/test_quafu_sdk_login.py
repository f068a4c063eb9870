"""quafu-sdk 0.2.7's browser login (``quafu.login()``, OAuth 2.0 code + PKCE), unmodified, end to end.

The SDK opens its authorize URL with the user's browser (Python's ``webbrowser``, which honours ``BROWSER``); here
that browser is Chromium driven by Playwright: it logs in through Xihe's real login form and clicks Allow, and the
redirect reaches the SDK's own loopback listener, which then exchanges the code with its PKCE verifier. The token
it saves is then used from every client protocol, and ``quafu.logout()`` revokes it.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.live import REPO_ROOT, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import Server, run_xihe

NAME, PASSWORD = "quafu-sdk-login", "sdk-login-password-1"

BROWSER = r'''#!{python}
"""A browser for webbrowser.open: Chromium logs in through Xihe's form and allows the SDK."""
import re, sys
sys.path.insert(0, {repo!r})
from playwright.sync_api import sync_playwright
from tests.e2e.browser import launch

with sync_playwright() as playwright:
    browser = launch(playwright)
    page = browser.new_page()
    page.goto(sys.argv[1])
    page.fill("#name", {name!r})
    page.fill("#password", {password!r})
    page.click("button[type=submit]")
    page.wait_for_selector("#oauth-allow")
    if "%2Fcallback&" in sys.argv[1]:  # the SDK's loopback listener gets the code
        with page.expect_response(re.compile(r"http://127\.0\.0\.1:\d+/callback\?code=")) as answer:
            page.click("#oauth-allow")
        ok = answer.value.status == 200
    else:  # the paste page shows code#state
        page.click("#oauth-allow")
        print(page.inner_text("#oauth-pasted"))
        ok = True
    browser.close()
sys.exit(0 if ok else 1)
'''

LOGIN = r'''
import json, os, sys
import quafu
url = sys.argv[1]
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
out = {"login": quafu.login(base_url=url, timeout=240)}
out["whoami"] = quafu.whoami(base_url=url)
client = quafu.Client(base_url=url)
out["credential_kind"] = client.credential.kind
job = client.submit(BELL, target="sim", shots=200)
out["counts"] = job.result(timeout=300).counts
out["job_id"] = job.id
saved = json.load(open(os.path.join(os.environ["QUAFU_CONFIG_DIR"], "credentials.json")))
out["profile"] = next(iter(saved["profiles"].values()))
print(json.dumps(out, default=str))
'''

PASTE = r'''
import io, json, re, subprocess, sys
import quafu
from quafu.client import web_login

url, browser = sys.argv[1], sys.argv[2]
shown = io.StringIO()
links = []


def reader(prompt, stop, deadline):
    """The user at the terminal: opens the printed link, allows, pastes what the page shows."""
    link = re.search(r"(http://\S+/oauth/authorize\?\S+)", shown.getvalue()).group(1)
    links.append(link)
    return subprocess.run([browser, link], capture_output=True, text=True, timeout=180,
                          check=True).stdout.strip().splitlines()[-1]


client = quafu.Client(base_url=url)
credential = web_login(client, open_browser=False, timeout=240, reader=reader, out=shown)
out = {"kind": credential.kind, "who": client.whoami()["name"], "link": links[0],
       "revoked": quafu.logout(base_url=url)["revoked"]}
print(json.dumps(out))
'''

LOGOUT = r'''
import json, sys
import quafu
url = sys.argv[1]
out = {"logout": quafu.logout(base_url=url)}
try:
    quafu.Client(api_key=sys.argv[2], base_url=url).whoami()
    out["after"] = "accepted"
except quafu.QuafuError as exc:
    out["after"] = type(exc).__name__
print(json.dumps(out, default=str))
'''


def drive_login(server: Server, home: Path, name: str = NAME) -> dict[str, Any]:
    """A new user ``name`` logs in with ``quafu.login()`` (Chromium as the browser), uses the token, logs out."""
    run_xihe("users", "add", name, "--password-value", PASSWORD, "--data-dir", str(server.data_dir), env=server.env)
    browser = home / "browser.py"
    browser.write_text(BROWSER.format(python=sys.executable, repo=str(REPO_ROOT), name=name, password=PASSWORD))
    browser.chmod(0o755)
    python = client_python("quafu-sdk", "0.2.7", 11)
    os.environ["BROWSER"] = str(browser)  # inherited by the client's process (webbrowser reads it there)
    try:
        logged_in = run_client(python, LOGIN, home, server.url)
    finally:
        del os.environ["BROWSER"]
    token = logged_in["profile"]["token"]
    with httpx.Client(base_url=server.url, timeout=30) as http:
        native = http.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
        sqc = http.get("/task/verify", headers={"token": token})
        legacy = http.post("/qbackend/get_backends/", headers={"api_token": token})
        logged_out = run_client(python, LOGOUT, home, server.url, token)
        after = http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    return {"in": logged_in, "native": native, "sqc": sqc, "legacy": legacy, "out": logged_out,
            "after": after.status_code, "name": name}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    return drive_login(shared_server(tmp_path_factory, request), tmp_path_factory.mktemp("sdk-login"))


def test_login_saves_a_qf_token_that_expires_in_90_days(session: dict[str, Any]) -> None:
    logged_in = session["in"]
    name = session["name"]
    assert logged_in["login"]["name"] == name and logged_in["login"]["kind"] == "oauth"
    assert logged_in["whoami"]["name"] == name and logged_in["credential_kind"] == "oauth"
    profile = logged_in["profile"]
    assert re.fullmatch(r"qf_[0-9A-Za-z]+", profile["token"]) and profile["kind"] == "oauth"
    left = datetime.fromisoformat(profile["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=89) < left <= timedelta(days=90)


def test_the_login_token_works_on_every_api(session: dict[str, Any]) -> None:
    counts = session["in"]["counts"]
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 200
    assert session["native"].status_code == 200
    assert session["in"]["job_id"] in {job["id"] for job in session["native"].json()["items"]}
    assert session["sqc"].json() == f"token of {session['name']} verified"
    assert session["legacy"].json()["status"] == 200


def test_logout_revokes_the_token_on_the_server(session: dict[str, Any]) -> None:
    assert session["out"]["logout"]["revoked"] is True and session["out"]["logout"]["kind"] == "oauth"
    assert session["out"]["after"] == "LoginRevoked" and session["after"] == 401


def test_pasting_the_code_from_xihes_page_logs_in(tmp_path_factory: pytest.TempPathFactory,
                                                   request: pytest.FixtureRequest) -> None:
    """The terminal path (no loopback): the SDK prints the link, the page shows code#state, the user pastes it."""
    server: Server = shared_server(tmp_path_factory, request)
    name = "quafu-sdk-paste"
    run_xihe("users", "add", name, "--password-value", PASSWORD, "--data-dir", str(server.data_dir), env=server.env)
    home = tmp_path_factory.mktemp("sdk-paste")
    browser = home / "browser.py"
    browser.write_text(BROWSER.format(python=sys.executable, repo=str(REPO_ROOT), name=name, password=PASSWORD))
    browser.chmod(0o755)
    report = run_client(client_python("quafu-sdk", "0.2.7", 11), PASTE, home, server.url, str(browser))
    assert "%2Foauth%2Fcode&" in report["link"]  # Xihe's paste page, not a loopback listener
    assert report["kind"] == "oauth" and report["who"] == name and report["revoked"] is True
