"""Login, the session cookie, CSRF on every form, logout, and who may see what."""

from __future__ import annotations

import base64
import json
import re
from http.cookies import SimpleCookie

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORDS, Site, log_in, login_csrf, page_csrf
from xihe.service.repositories import login_failures, users
from xihe.web.sessions import SESSION_COOKIE


def _session_cookie(set_cookie_headers: list[str]) -> SimpleCookie:
    for header in set_cookie_headers:
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if SESSION_COOKIE in cookie:
            return cookie
    raise AssertionError(f"no session cookie in {set_cookie_headers}")


def test_pages_send_anonymous_users_to_the_login_form(site: Site) -> None:
    client = site.anonymous()
    for path in ("/backends", "/backends/dongling", "/editor", "/jobs", "/account", "/admin", "/jobs/abc",
                 "/composer", "/backends/line10/qubits/3", "/jobs/abc/results/0.csv"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=" + path.split("?")[0])
    assert client.get("/jobs/updates.json?known=x").status_code == 401
    assert client.post("/editor/validate", json={"qasm": "x"}).status_code == 401
    assert client.post("/composer/state", json={"qasm": "x"}).status_code == 401


def test_login_sets_a_signed_secure_httponly_cookie(site: Site) -> None:
    client = site.anonymous()
    response = log_in(client, "alice", PASSWORDS["alice"], next_path="/jobs")
    assert response.status_code == 303 and response.headers["location"] == "/jobs"
    cookie = _session_cookie(response.headers.get_list("set-cookie"))[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"].lower() == "lax"
    assert PASSWORDS["alice"] not in cookie.value
    assert client.get("/jobs").status_code == 200
    assert 'id="current-user">alice (admin)' in client.get("/backends").text


def test_wrong_password_and_unknown_user_are_refused_alike(site: Site) -> None:
    client = site.anonymous()
    wrong = log_in(client, "alice", "not-the-password")
    unknown = log_in(client, "nobody", "whatever-it-is")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_login_form_needs_its_csrf_value(site: Site) -> None:
    client = site.anonymous()
    login_csrf(client)  # the cookie half is set; the form half is missing or forged
    for token in ("", "forged"):
        response = client.post("/login", data={"name": "alice", "password": PASSWORDS["alice"], "csrf_token": token},
                               follow_redirects=False)
        assert response.status_code == 403
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_every_form_post_needs_the_session_csrf_token(site: Site, alice: TestClient) -> None:
    before = alice.get("/account").text.count('data-token="')
    posts = [("/account/tokens", {"name": "x"}), ("/logout", {}), ("/editor/submit", {"qasm": "x"}),
             ("/admin/users", {"name": "eve", "password": "eve-password-1"}),
             ("/admin/backends/sim/status", {"status": "maintenance"})]
    for path, data in posts:
        for token in (None, "forged"):
            body = dict(data) if token is None else {**data, "csrf_token": token}
            response = alice.post(path, data=body, follow_redirects=False)
            assert response.status_code == 403, path
            assert "security token" in response.text
    assert alice.get("/account").text.count('data-token="') == before
    assert alice.get("/backends").status_code == 200  # still logged in: logout was refused too
    refused = alice.post("/editor/validate", json={"qasm": "OPENQASM 2.0;"}, headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 403


def test_a_tampered_or_foreign_session_is_ignored(site: Site) -> None:
    client = site.anonymous()
    response = log_in(client, "bob", PASSWORDS["bob"])
    token = _session_cookie(response.headers.get_list("set-cookie"))[SESSION_COOKIE].value
    body, _, signature = token.partition(".")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    fields["user_id"] = 1  # try to become alice with bob's signature
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode() + "." + signature
    other = TestClient(site.app, base_url="https://testserver", cookies={SESSION_COOKIE: forged})
    assert other.get("/backends", follow_redirects=False).status_code == 303


def test_a_new_password_ends_old_sessions(site: Site) -> None:
    with site.database.write() as session:
        users.create_user(session, "carol", password="carol-password-1")
    client = site.client("carol", "carol-password-1")
    assert client.get("/jobs").status_code == 200
    with site.database.write() as session:
        account = users.get_user_by_name(session, "carol")
        assert account is not None
        users.set_password(session, account, "carol-password-2")
    assert client.get("/jobs", follow_redirects=False).status_code == 303


def test_logout_clears_the_session(site: Site) -> None:
    client = site.client("bob")
    response = client.post("/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert re.search(rf"{SESSION_COOKIE}=\"?\"?;", response.headers["set-cookie"])
    assert client.get("/jobs", follow_redirects=False).status_code == 303


def test_logout_revokes_the_session_on_every_replica(site: Site) -> None:
    client = site.client("alice")
    old_cookie = client.cookies.get(SESSION_COOKIE)
    old_csrf = page_csrf(client)
    other_replica = Site(site.settings, site.database)  # a second app on the same database
    replayed = TestClient(other_replica.app, base_url="https://testserver", cookies={SESSION_COOKIE: old_cookie})
    assert replayed.get("/admin", follow_redirects=False).status_code == 200  # one session, seen by both
    with site.database.read() as session:
        account = users.get_user_by_name(session, "alice")
        assert account is not None
        tokens_before = len(list(users.list_tokens(session, account.id)))
    assert client.post("/logout", data={"csrf_token": old_csrf}, follow_redirects=False).status_code == 303
    for app_client in (TestClient(site.app, base_url="https://testserver", cookies={SESSION_COOKIE: old_cookie}),
                       replayed):
        for path in ("/jobs", "/admin"):
            refused = app_client.get(path, follow_redirects=False)
            assert refused.status_code == 303 and refused.headers["location"].startswith("/login"), path
        assert app_client.get("/jobs/updates.json?known=x").status_code == 401
        created = app_client.post("/account/tokens", data={"name": "after-logout", "csrf_token": old_csrf},
                                  follow_redirects=False)
        assert created.status_code == 303 and created.headers["location"].startswith("/login")
    with site.database.read() as session:
        assert len(list(users.list_tokens(session, account.id))) == tokens_before
    other_replica.close()


def test_login_never_redirects_off_site(site: Site) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = log_in(site.anonymous(), "bob", PASSWORDS["bob"], next_path=target)
        assert response.status_code == 303 and response.headers["location"] == "/backends"


def test_admin_pages_need_the_admin_role(site: Site, bob: TestClient) -> None:
    assert bob.get("/admin").status_code == 403
    refused = bob.post("/admin/backends/sim/status", data={"status": "offline", "csrf_token": page_csrf(bob)})
    assert refused.status_code == 403
    assert 'href="/admin"' not in bob.get("/backends").text


def test_pages_carry_security_headers(alice: TestClient) -> None:
    headers = alice.get("/backends").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"


def _from(site: Site, address: str) -> TestClient:
    """A client whose connection comes from ``address`` (what the ASGI server reports as the peer)."""
    client = TestClient(site.app, base_url="https://testserver", client=(address, 40000))
    client.__enter__()
    return client


def test_repeated_wrong_passwords_pause_that_name_from_that_address(site: Site) -> None:
    with site.database.write() as session:
        users.create_user(session, "frank", password="frank-password-1")
    attacker = _from(site, "198.51.100.7")
    for _ in range(10):
        assert log_in(attacker, "frank", "guess").status_code == 401
    paused = log_in(attacker, "Frank", "frank-password-1")  # names are counted case-blind
    assert paused.status_code == 429 and "Too many failed logins" in paused.text
    assert int(paused.headers["retry-after"]) > 0
    assert log_in(attacker, "bob", PASSWORDS["bob"]).status_code == 303  # other accounts still log in
    # The owner, from their own address, is never refused the right password (no lockout by strangers).
    assert log_in(_from(site, "203.0.113.20"), "frank", "frank-password-1").status_code == 303
    attacker.close()


def test_login_backoff_doubles_with_each_further_failure(site: Site) -> None:
    with site.database.write() as session:
        users.create_user(session, "hank", password="hank-password-1")
    throttle = site.app.state.web.login_throttle
    throttle.base_delay = 1e-9  # let each try through at once, to see the pauses grow
    try:
        client = _from(site, "198.51.100.8")
        for _ in range(10):
            assert log_in(client, "hank", "guess").status_code == 401
        keys = throttle.keys("hank", "198.51.100.8")
        pauses = []
        for _ in range(4):
            assert log_in(client, "hank", "guess").status_code == 401
            with site.database.read() as session:
                count, _ = login_failures.counts(session, keys)[keys[0]]
            pauses.append(throttle.delay(keys[0], count))
        assert pauses == [pauses[0] * 2**i for i in range(4)]
    finally:
        throttle.base_delay = site.app.state.web.web_settings.login_base_delay_seconds
    assert log_in(client, "hank", "hank-password-1").status_code == 429
    assert log_in(_from(site, "203.0.113.21"), "hank", "hank-password-1").status_code == 303
    client.close()


def test_changing_the_password_keeps_this_session_and_ends_the_others(site: Site) -> None:
    with site.database.write() as session:
        users.create_user(session, "gina", password="gina-password-1")
    here, elsewhere = site.client("gina", "gina-password-1"), site.client("gina", "gina-password-1")
    csrf = page_csrf(here)
    wrong = here.post("/account/password", data={"current": "nope", "new": "gina-password-2",
                                                 "confirm": "gina-password-2", "csrf_token": csrf})
    assert wrong.status_code == 403 and "current password is wrong" in wrong.text
    short = here.post("/account/password", data={"current": "gina-password-1", "new": "short", "confirm": "short",
                                                 "csrf_token": csrf})
    assert short.status_code == 422
    done = here.post("/account/password", data={"current": "gina-password-1", "new": "gina-password-2",
                                                "confirm": "gina-password-2", "csrf_token": csrf})
    assert done.status_code == 200 and "Your password was changed" in done.text
    assert here.get("/jobs", follow_redirects=False).status_code == 200
    assert elsewhere.get("/jobs", follow_redirects=False).status_code == 303
    assert log_in(site.anonymous(), "gina", "gina-password-2").status_code == 303
