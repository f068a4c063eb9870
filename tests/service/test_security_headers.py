"""Hardening (issue 18, item 9): security headers on every response, ``/metrics`` for admins or a configured
network only, no internal exception text in a job's error, and every authenticated operation's 401/403/429 in the
OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.service.helpers import BELL, Server, run_xihe, server_env
from xihe.service.retry import RetryPolicy

BASELINE = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-headers")
    # No network may read /metrics without a token here: only an admin's token opens it.
    srv = Server(data_dir, server_env(data_dir, WORKERS="0", METRICS_NETWORKS="")).start()
    yield srv
    srv.stop()


def _requests(server: Server) -> list[tuple[str, httpx.Response]]:
    auth = {"Authorization": f"Bearer {server.token}"}
    base = server.url
    return [
        ("health", httpx.get(f"{base}/api/v1/health")),
        ("job list", httpx.get(f"{base}/api/v1/jobs", headers=auth)),
        ("submit", httpx.post(f"{base}/api/v1/jobs", headers=auth, json={"qasm": BELL, "backend": "sim"})),
        ("401", httpx.get(f"{base}/api/v1/jobs")),
        ("404", httpx.get(f"{base}/api/v1/nothing-here")),
        ("422", httpx.post(f"{base}/api/v1/jobs", headers=auth, json={"backend": "sim"})),
        ("413", httpx.post(f"{base}/api/v1/jobs", headers=auth, content=b"x" * (3 << 20))),
        ("openapi", httpx.get(f"{base}/openapi.json")),
        ("static", httpx.get(f"{base}/static/xihe.css")),
        ("legacy", httpx.post(f"{base}/qbackend/get_backends/", headers={"api_token": str(server.token)})),
        ("metrics", httpx.get(f"{base}/metrics", headers=auth)),
        ("docs", httpx.get(f"{base}/docs")),
        ("login page", httpx.get(f"{base}/login")),
    ]


def test_every_response_carries_the_security_headers(server: Server) -> None:
    for name, response in _requests(server):
        for header, value in BASELINE.items():
            assert response.headers.get(header) == value, (name, response.status_code, dict(response.headers))
        policy = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in policy, (name, policy)
        assert "strict-transport-security" not in response.headers  # plain HTTP: no HSTS
    api_policy = httpx.get(f"{server.url}/api/v1/health").headers["content-security-policy"]
    assert api_policy.startswith("default-src 'none'")
    # Pages keep their own policies: the vendored Swagger UI runs its scripts from 'self'.
    assert "script-src 'self'" in httpx.get(f"{server.url}/docs").headers["content-security-policy"]


def test_hsts_over_https_from_a_trusted_proxy(server: Server) -> None:
    response = httpx.get(f"{server.url}/api/v1/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_metrics_need_an_admin_or_a_configured_network(server: Server) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    other = run_xihe("users", "add", "metrics-reader-not-admin", env=server.env)
    assert httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {other}"}).status_code == 403
    admin = httpx.get(f"{server.url}/api/v1/metrics", headers={"Authorization": f"Bearer {server.token}"})
    assert admin.status_code == 200 and "xihe_http_requests_total" in admin.text


def test_every_authenticated_operation_documents_401_403_and_429(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    undocumented = []
    public = {"/api/v1/health"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in public:
                continue
            codes = set(operation["responses"])
            if not {"401", "403", "429"} <= codes:
                undocumented.append((method, path, sorted(codes)))
    assert not undocumented, undocumented
    admin_only = spec["paths"]["/api/v1/backends/{name}/status"]["put"]["responses"]
    assert "403" in admin_only


def test_an_unexpected_error_is_stored_without_its_internal_text() -> None:
    allocation = MemoryError("Unable to allocate 3.50 GiB for an array with shape (234881024,) and data type "
                             "complex128")
    reason = RetryPolicy(max_attempts=1).after_error(1, allocation).reason
    assert "allocate" not in reason and "shape" not in reason and "memory" in reason
    leaky = RuntimeError("could not open /var/lib/xihe/secret/path.db: permission denied")
    assert "/var/lib" not in RetryPolicy(max_attempts=3).after_error(1, leaky).reason
