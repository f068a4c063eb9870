"""Protocol-level behaviour of the client's HTTP layer: retries, backoff, Retry-After, timeouts, error mapping.

These use ``httpx.MockTransport`` because they test what the client does with a given answer (a dropped
connection, a 429 with Retry-After) that a healthy server does not produce on demand; the end-to-end behaviour
against a real server is in ``tests/integration``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from xihe.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    NotFoundError,
    QuotaError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationError,
)
from xihe.client.transport import SyncTransport, parse_retry_after
from xihe.errors import ValidationError as CoreValidationError
from xihe.errors import XiheError

FAST = RetryPolicy(max_attempts=4, backoff=0.001, max_backoff=0.002)

JOB = {
    "id": "j1",
    "status": "QUEUED",
    "backend": "sim",
    "shots": 100,
    "name": None,
    "tags": [],
    "priority": 0,
    "kind": "single",
    "num_circuits": 1,
    "created_at": "2026-01-01T00:00:00Z",
    "started_at": None,
    "finished_at": None,
    "queue_position": 0,
    "estimated_start": None,
    "attempts": 0,
    "error": None,
    "result": None,
    "results": None,
}
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'


def problem(status: int, detail: str, code: str | None = None, **headers: str) -> httpx.Response:
    body = {"type": "about:blank", "title": "error", "status": status, "detail": detail, "code": code}
    return httpx.Response(status, json=body, headers=headers)


Answer = Callable[[httpx.Request], httpx.Response]


def scripted(answers: list[Answer], seen: list[httpx.Request]) -> httpx.MockTransport:
    """A transport answering the n-th request with the n-th script entry (the last one repeats)."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen) - 1, len(answers) - 1)](request)

    return httpx.MockTransport(handler)


def drop(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("server disconnected without sending a response", request=request)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json=JOB)


def make_client(answers: list[Answer], seen: list[httpx.Request]) -> Client:
    return Client("http://xihe.test", token="tok", retry=FAST, transport=scripted(answers, seen))


def test_submit_retried_after_dropped_connection_reuses_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    job = make_client([drop, drop, created], seen).run(BELL, backend="sim", shots=100)
    assert job.id == "j1"
    assert len(seen) == 3
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(keys) == 1 and len(keys.pop()) >= 16


def test_each_submit_gets_its_own_idempotency_key() -> None:
    seen: list[httpx.Request] = []
    client = make_client([created], seen)
    client.run(BELL, backend="sim")
    client.run(BELL, backend="sim")
    assert seen[0].headers["Idempotency-Key"] != seen[1].headers["Idempotency-Key"]


def test_submit_body_follows_the_native_contract() -> None:
    seen: list[httpx.Request] = []
    make_client([created], seen).run(
        [BELL, BELL], backend="sim", shots=10, seed=7, name="n", tags=("a", "b"), compile=False
    )
    body = json.loads(seen[0].content)
    assert seen[0].url.path == "/api/v1/jobs" and seen[0].method == "POST"
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert body["circuits"] == [BELL, BELL] and "qasm" not in body
    expected = {"backend": "sim", "shots": 10, "seed": 7, "name": "n", "tags": ["a", "b"], "compile": False}
    assert {key: body[key] for key in expected} == expected


def test_connection_refused_retried_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    backends = make_client([refuse, refuse, lambda r: httpx.Response(200, json=[])], seen).backends()
    assert backends == [] and len(seen) == 3


def test_read_timeout_is_retried() -> None:
    seen: list[httpx.Request] = []
    job = make_client([read_timeout, lambda r: httpx.Response(200, json=JOB)], seen).job("j1")
    assert job.info.status == "QUEUED" and len(seen) == 2


def test_connection_errors_exhaust_retries_into_transport_error() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(TransportError, match="4 attempt"):
        make_client([refuse], seen).backends()
    assert len(seen) == FAST.max_attempts


def test_429_waits_for_retry_after_then_retries() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    transport = SyncTransport(
        "http://xihe.test/api/v1",
        "tok",
        retry=RetryPolicy(max_attempts=3, backoff=0.5),
        transport=scripted([lambda r: problem(429, "slow down", **{"Retry-After": "7"}), created], seen),
        sleep=sleeps.append,
    )
    assert transport.request("POST", "jobs", json={})["id"] == "j1"
    assert sleeps == [7.0]


def test_503_backs_off_exponentially() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    transport = SyncTransport(
        "http://xihe.test/api/v1",
        "tok",
        retry=RetryPolicy(max_attempts=4, backoff=0.5, max_backoff=8),
        transport=scripted([lambda r: problem(503, "busy")] * 3 + [created], seen),
        sleep=sleeps.append,
    )
    transport.request("GET", "backends")
    assert sleeps == [0.5, 1.0, 2.0]


def test_persistent_429_raises_rate_limit_error_with_retry_after() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(RateLimitError) as info:
        make_client([lambda r: problem(429, "too many requests", **{"Retry-After": "0"})], seen).backends()
    assert info.value.retry_after == 0.0 and info.value.status == 429
    assert len(seen) == FAST.max_attempts


def test_500_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ServerError, match="boom"):
        make_client([lambda r: problem(500, "boom")], seen).backends()
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("status", "code", "exception"),
    [
        (401, "invalid_token", AuthenticationError),
        (403, "quota_exceeded", QuotaError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (422, "validation", ValidationError),
        (400, "qasm_syntax", ValidationError),
    ],
)
def test_problem_json_becomes_typed_error_with_server_detail(status: int, code: str, exception: type) -> None:
    seen: list[httpx.Request] = []
    detail = f"server says {status}: gate 'foo' on qubits (3, 9) is not native"
    with pytest.raises(exception) as info:
        make_client([lambda r: problem(status, detail, code)], seen).job("j1")
    assert info.value.detail == detail and info.value.status == status and info.value.code == code
    assert detail in str(info.value)
    assert isinstance(info.value, XiheError)
    assert len(seen) == 1


def test_validation_error_is_also_the_core_validation_error() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(CoreValidationError):
        make_client([lambda r: problem(422, "too wide")], seen).run(BELL, backend="line10")


def test_non_json_error_body_still_gives_a_message() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(NotFoundError, match="no such thing"):
        make_client([lambda r: httpx.Response(404, text="no such thing")], seen).job("x")


def test_fastapi_request_validation_list_is_readable() -> None:
    seen: list[httpx.Request] = []
    body = {"detail": [{"loc": ["body", "shots"], "msg": "Input should be greater than 0", "type": "x"}]}
    with pytest.raises(ValidationError, match="shots: Input should be greater than 0"):
        make_client([lambda r: httpx.Response(422, json=body)], seen).run(BELL, backend="sim", shots=0)


def test_retry_after_http_date_and_garbage() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_async_client_retries_dropped_submit_with_one_key() -> None:
    seen: list[httpx.Request] = []
    handler = scripted([drop, created], seen)

    async def go() -> str:
        async with AsyncClient("http://xihe.test", token="tok", retry=FAST, transport=handler) as client:
            job = await client.run(BELL, backend="sim")
            return job.id

    assert asyncio.run(go()) == "j1"
    assert len(seen) == 2 and seen[0].headers["Idempotency-Key"] == seen[1].headers["Idempotency-Key"]


def test_async_client_maps_errors() -> None:
    seen: list[httpx.Request] = []
    handler = scripted([lambda r: problem(401, "token revoked")], seen)

    async def go() -> None:
        async with AsyncClient("http://xihe.test", token="tok", retry=FAST, transport=handler) as client:
            await client.backends()

    with pytest.raises(AuthenticationError, match="token revoked"):
        asyncio.run(go())


def test_wait_long_polls_until_done_and_converts_the_result() -> None:
    seen: list[httpx.Request] = []
    result = {"counts": {"00": 60, "11": 40}, "probabilities": {"00": 0.6, "11": 0.4}, "shots": 100,
              "compiled_qasm": BELL, "initial_layout": [0, 1], "final_layout": [0, 1], "calibration_id": None,
              "versions": {"xihe": "0.1.0"}, "bit_order": "c0_leftmost", "metadata": {}}
    answers = [
        lambda r: httpx.Response(201, json=JOB),
        lambda r: httpx.Response(200, json=JOB | {"status": "RUNNING"}),
        lambda r: httpx.Response(200, json=JOB | {"status": "DONE", "result": result}),
    ]
    job = make_client(answers, seen).run(BELL, backend="sim", shots=100)
    info = job.wait(timeout=30, progress=False)
    assert info.status == "DONE"
    assert all(r.url.params.get("wait") for r in seen[1:])
    res = job.result()
    assert res.counts == {"00": 60, "11": 40} and res.shots == 100
    assert res.probabilities == {"00": 0.6, "11": 0.4}
    assert res.metadata["compiled_qasm"] == BELL and res.metadata["job_id"] == "j1"


def test_wait_timeout_raises_and_failed_job_raises_with_stage() -> None:
    from xihe.client import JobFailedError, JobTimeoutError

    seen: list[httpx.Request] = []
    client = make_client([lambda r: httpx.Response(200, json=JOB)], seen)
    job = client.job("j1")
    with pytest.raises(JobTimeoutError):
        job.wait(timeout=0.3, progress=False)
    failed = JOB | {"status": "FAILED", "error": {"stage": "compile", "detail": "no route"}}
    job = make_client([lambda r: httpx.Response(200, json=failed)], []).job("j1")
    with pytest.raises(JobFailedError, match="no route") as info:
        job.result()
    assert info.value.stage == "compile"
