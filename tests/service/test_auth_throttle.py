"""Failed authentications are throttled per client address in every protocol, a long poll stops when its token is
revoked, and one proxy-trust setting decides the client address and scheme for rate limits and cookies alike
(issue 18, item 8). A real ``xihe serve`` with a small failure bucket; distinct clients are told apart by the
X-Forwarded-For of a trusted proxy (the test itself, on 127.0.0.1)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.service.helpers import BELL, Server, server_env

BURST = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-throttle")
    # No workers: a submitted job stays QUEUED, so a long poll on it waits its whole time unless stopped.
    env = server_env(data_dir, WORKERS="0", AUTH_FAILURE_BURST=str(BURST), AUTH_FAILURES_PER_MINUTE="6")
    srv = Server(data_dir, env).start()
    yield srv
    srv.stop()


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _sim_system_id(server: Server) -> str:
    with server.client() as client:
        return str(client.get("/backends/sim").json()["system_id"])


def test_native_guesses_get_429_with_retry_after_even_for_a_good_token(server: Server) -> None:
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=30) as client:
        bad = {**_from("10.0.0.1"), "Authorization": "Bearer qf_guess"}
        assert [client.get("/jobs", headers=bad).status_code for _ in range(BURST)] == [401] * BURST
        throttled = client.get("/jobs", headers=bad)
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert throttled.json()["code"] == "too_many_failed_authentications"
        # A good token from the throttled address is refused too (else a 200 would tell a guesser it hit).
        good = {**_from("10.0.0.1"), "Authorization": f"Bearer {server.token}"}
        assert client.get("/jobs", headers=good).status_code == 429
        # Another address is not affected, nor is a missing token counted against it.
        assert client.get("/jobs", headers={**good, **_from("10.0.0.2")}).status_code == 200


def test_legacy_quafu_quafu_sdk_and_quafusqc_guesses_are_throttled(server: Server) -> None:
    system_id = _sim_system_id(server)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        def legacy(address: str) -> httpx.Response:
            return client.post("/qbackend/scq_kit_asyc/", headers={**_from(address), "api_token": "guess"},
                               data={"qtasm": BELL, "selected_server": system_id, "shots": "10"})

        def sdk(address: str) -> httpx.Response:
            return client.get("/api/v1/jobs/1/status", headers={**_from(address), "Authorization": "Bearer x"})

        def sqc(address: str) -> httpx.Response:
            return client.get("/task/verify", headers={**_from(address), "token": "guess"})

        for number, send in enumerate((legacy, sdk, sqc)):
            address = f"10.0.1.{number}"
            for _ in range(BURST):
                assert send(address).status_code != 429
            throttled = send(address)
            assert throttled.status_code == 429, (send.__name__, throttled.text)
            assert int(throttled.headers["Retry-After"]) >= 1


def test_a_long_poll_stops_when_its_token_is_revoked(server: Server) -> None:
    with server.client() as admin:
        created = admin.post("/tokens", json={"name": "poller"}).json()
    with httpx.Client(base_url=f"{server.url}/api/v1", timeout=60,
                      headers={"Authorization": f"Bearer {created['token']}", **_from("10.0.2.1")}) as poller:
        job = poller.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).json()
        answer: list[httpx.Response] = []
        started = threading.Event()

        def poll() -> None:
            started.set()
            answer.append(poller.get(f"/jobs/{job['id']}", params={"wait": 30}))

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        started.wait()
        with server.client() as admin:
            assert admin.delete(f"/tokens/{created['id']}").status_code == 204
        thread.join(60)
    # Before the fix the poll ran its 30 s and answered 200 QUEUED with the revoked token.
    assert answer and answer[0].status_code == 401, answer[0].text if answer else "no answer"


def test_the_proxy_setting_decides_the_cookie_scheme_and_the_address(tmp_path_factory: pytest.TempPathFactory,
                                                                     server: Server) -> None:
    secure_headers = {"Host": "xihe.example.org", "X-Forwarded-Proto": "https"}
    trusted = httpx.get(f"{server.url}/login", headers=secure_headers)
    assert "secure" in trusted.headers["set-cookie"].lower()
    data_dir = tmp_path_factory.mktemp("xihe-untrusted")
    untrusting = Server(data_dir, server_env(data_dir, WORKERS="0", TRUSTED_PROXIES="",
                                             AUTH_FAILURE_BURST="1")).start()
    try:
        # Nobody is a trusted proxy: the forwarded scheme is ignored (plain HTTP to a public name: no Secure) ...
        cookie = httpx.get(f"{untrusting.url}/login", headers=secure_headers).headers["set-cookie"].lower()
        assert "secure" not in cookie
        # ... and so is the forwarded address: two "clients" share 127.0.0.1's bucket.
        bad = {"Authorization": "Bearer guess"}
        assert httpx.get(f"{untrusting.url}/api/v1/jobs", headers={**bad, **_from("10.9.0.1")}).status_code == 401
        assert httpx.get(f"{untrusting.url}/api/v1/jobs", headers={**bad, **_from("10.9.0.2")}).status_code == 429
    finally:
        untrusting.stop()
