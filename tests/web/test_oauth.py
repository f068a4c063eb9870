"""The PKCE browser login's protocol on the real app (Xihe's web login, real SQLite): what the pages and the token
endpoint accept and refuse. quafu-sdk's own login, driven end to end, is in tests/integration/test_quafu_sdk_login.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Site
from xihe.service.clock import utcnow
from xihe.service.oauth import AuthorizeRequest
from xihe.service.repositories import oauth_codes, users
from xihe.service.repositories.oauth_codes import GrantError

LOOPBACK = "http://127.0.0.1:54321/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_query(challenge: str, redirect_uri: str = LOOPBACK, **changes: str) -> str:
    params = {"response_type": "code", "client_id": "quafu-sdk", "redirect_uri": redirect_uri,
              "code_challenge": challenge, "code_challenge_method": "S256", "state": "st4te", "device_name": "lab-pc"}
    return "/oauth/authorize?" + urlencode(params | changes)


def allow(client: TestClient, challenge: str, redirect_uri: str = LOOPBACK, decision: str = "allow") -> str:
    """Open the consent page logged in, answer it; the Location the browser is sent to."""
    page = client.get(authorize_query(challenge, redirect_uri))
    assert page.status_code == 200 and "lab-pc" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    answer = client.post("/oauth/authorize", data=fields | {"decision": decision}, follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


def exchange(client: TestClient, code: str, verifier: str, redirect_uri: str = LOOPBACK) -> tuple[int, dict]:
    response = client.post("/api/v1/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": redirect_uri,
        "client_id": "quafu-sdk"})
    return response.status_code, response.json()


def code_of(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st4te"]
    return query["code"][0]


def test_a_visitor_logs_in_through_xihes_form_and_comes_back(site: Site) -> None:
    browser = site.anonymous()
    _verifier, challenge = pkce()
    first = browser.get(authorize_query(challenge), follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login?next=/oauth/authorize")
    form = browser.get(first.headers["location"])
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    next_path = re.search(r'name="next" value="([^"]+)"', form.text)
    assert nonce and next_path
    logged = browser.post("/login", data={"name": "bob", "password": "bob-password-1", "csrf_token": nonce.group(1),
                                          "next": next_path.group(1).replace("&amp;", "&")}, follow_redirects=False)
    assert logged.status_code == 303 and logged.headers["location"] == authorize_query(challenge)
    consent = browser.get(logged.headers["location"])
    assert "Authorize quafu-sdk" in consent.text
    # The answer redirects to the loopback listener: the page's CSP lets its form go there, and nowhere else.
    assert "form-action 'self' http://127.0.0.1:54321;" in consent.headers["content-security-policy"]


def test_s256_verified_and_the_token_is_a_revocable_qf_token(site: Site) -> None:
    bob = site.client("bob")
    verifier, challenge = pkce()
    code = code_of(allow(bob, challenge))
    assert exchange(bob, code, pkce()[0]) == (400, {"error": "invalid_grant", "error_description":
                                                    "code_verifier does not match the code_challenge (PKCE S256)"})
    assert exchange(bob, code, verifier, "http://127.0.0.1:1/callback")[1]["error"] == "invalid_grant"
    status, token = exchange(bob, code, verifier)  # a wrong attempt does not spend the code
    assert status == 200 and token["token_type"] == "Bearer" and re.fullmatch(r"qf_[0-9A-Za-z]+",
                                                                             token["access_token"])
    assert timedelta(days=89) < timedelta(seconds=token["expires_in"]) <= timedelta(days=90)
    api = site.anonymous()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert api.get("/api/v1/auth/me", headers=bearer).json()["user"]["name"] == "bob"
    assert api.get("/api/v1/jobs", headers=bearer).status_code == 200  # the native API
    assert api.get("/task/verify", headers={"token": token["access_token"]}).json() == "token of bob verified"
    with site.database.read() as session:
        row = next(t for t in users.list_tokens(session, 2) if t.kind == "oauth")
    assert row.name == "quafu-sdk on lab-pc"  # listed on the account page under the client and device
    assert "quafu-sdk on lab-pc" in bob.get("/account").text
    assert api.post("/api/v1/oauth/revoke", data={"token": token["access_token"], "token_type_hint":
                                                  "access_token", "client_id": "quafu-sdk"}).json() == {}
    assert api.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_a_code_works_once_and_a_replay_revokes_its_token(site: Site) -> None:
    bob = site.client("bob")
    verifier, challenge = pkce()
    code = code_of(allow(bob, challenge))
    status, token = exchange(bob, code, verifier)
    assert status == 200
    assert exchange(bob, code, verifier)[1]["error"] == "invalid_grant"
    me = site.anonymous().get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 401


def test_codes_expire_after_five_minutes(site: Site) -> None:
    verifier, challenge = pkce()
    request = AuthorizeRequest("quafu-sdk", LOOPBACK, challenge, "s", "pc")
    issued_at = utcnow()
    with site.database.write() as session:
        code = oauth_codes.issue_code(session, 2, request, issued_at)
    with site.database.write() as session, pytest.raises(GrantError, match="expired"):
        oauth_codes.redeem(session, code, client_id="quafu-sdk", redirect_uri=LOOPBACK, verifier=verifier,
                           now=issued_at + timedelta(minutes=5, seconds=1))
    with site.database.write() as session:  # within the five minutes it is good
        grant = oauth_codes.redeem(session, code, client_id="quafu-sdk", redirect_uri=LOOPBACK, verifier=verifier,
                                   now=issued_at + timedelta(minutes=4, seconds=59))
    assert grant.access_token.startswith("qf_")


def test_deny_and_the_paste_page(site: Site) -> None:
    bob = site.client("bob")
    _verifier, challenge = pkce()
    denied = allow(bob, challenge, decision="deny")
    assert parse_qs(urlsplit(denied).query) == {"error": ["access_denied"], "state": ["st4te"]}
    pasted = allow(bob, challenge, "https://testserver/oauth/code")
    assert pasted.startswith("/oauth/code?code=")
    page = bob.get(pasted)
    assert f"{code_of(pasted)}#st4te" in page.text


def test_bad_requests_are_refused_without_redirecting_to_unchecked_uris(site: Site) -> None:
    bob = site.client("bob")
    _verifier, challenge = pkce()
    for changes in ({"redirect_uri": "http://evil.example/callback"}, {"client_id": "other"},
                    {"redirect_uri": "https://127.0.0.1:5/callback"}, {"state": ""}):
        page = bob.get(authorize_query(challenge, **changes), follow_redirects=False)
        assert page.status_code == 400 and "Login request refused" in page.text, changes
    plain = bob.get(authorize_query(challenge, code_challenge_method="plain"), follow_redirects=False)
    assert plain.status_code == 303 and "error=invalid_request" in plain.headers["location"]
    assert plain.headers["location"].startswith(LOOPBACK)
    token = bob.post("/api/v1/oauth/token", data={"grant_type": "password", "client_id": "quafu-sdk"})
    assert token.status_code == 400 and token.json()["error"] == "unsupported_grant_type"
