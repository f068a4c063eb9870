"""The SDK against a real ``xihe serve``: submit, wait, results, batches, sweeps, listing, cancel, typed errors,
the async client, and a submit whose response is lost on the way back (retried, one job).

The live server's workers serve every backend but ``grid36``, so a job there stays QUEUED for as long as a test
needs (for cancellation and wait timeouts) without any timing assumption.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.client.live import QUOTA_SHOTS, WAIT_S, new_user_token, shared_server
from tests.service.helpers import Server, server_env
from xihe import Circuit, Parameter
from xihe.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    JobCancelledError,
    JobTimeoutError,
    NotFoundError,
    NotLoggedInError,
    QuotaError,
    RateLimitError,
    RetryPolicy,
    ValidationError,
)
from xihe.results import Result

IDLE_BACKEND = "grid36"  # no worker serves it (see tests/client/live.py)


def basis(bits: str) -> Circuit:
    """A circuit whose only outcome is ``bits`` (c[0] leftmost)."""
    circuit = Circuit(len(bits), len(bits))
    for i, bit in enumerate(bits):
        if bit == "1":
            circuit.x(i)
    return circuit.measure(list(range(len(bits))), list(range(len(bits))))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Server:
    return shared_server(tmp_path_factory, request)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return new_user_token(server, "sdk-user")


@pytest.fixture
def client(server: Server, token: str) -> Iterator[Client]:
    with Client(server.url, token) as c:
        yield c


def test_circuit_runs_and_result_has_counts_and_provenance(client: Client) -> None:
    job = client.run(basis("1011"), backend="sim", shots=200, seed=5, name="basis", tags=("sdk",))
    info = job.wait(timeout=WAIT_S, progress=False)
    assert info.status == "DONE" and job.status() == "DONE"
    result = job.result()
    assert isinstance(result, Result)
    assert result.counts == {"1011": 200} and result.probabilities == {"1011": 1.0}
    assert result.metadata["job_id"] == job.id and "compiled_qasm" in result.metadata
    import matplotlib

    matplotlib.use("Agg")
    axes = result.plot(title="basis")
    assert [patch.get_height() for patch in axes.patches] == [1.0]


def test_batch_returns_results_in_submission_order(client: Client) -> None:
    outcomes = ["01", "10", "11"]
    job = client.run([basis(bits) for bits in outcomes], backend="sim", shots=50)
    results = job.result(timeout=WAIT_S)
    assert isinstance(results, list)
    assert [r.counts for r in results] == [{bits: 50} for bits in outcomes]


def test_parameter_sweep_gives_one_result_per_binding(client: Client) -> None:
    theta = Parameter("theta")
    circuit = Circuit(1, 1).rx(theta, 0).measure(0, 0)
    job = client.run(circuit, backend="sim", shots=100, parameters=[{"theta": 0.0}, {"theta": 3.141592653589793}])
    results = job.result(timeout=WAIT_S)
    assert isinstance(results, list) and [r.counts for r in results] == [{"0": 100}, {"1": 100}]


def test_qasm_text_and_listing_with_filters(client: Client) -> None:
    tag = uuid.uuid4().hex[:12]
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nx q[1];\nmeasure q -> c;\n'
    first = client.run(qasm, backend="sim", shots=10, tags=(tag,))
    second = client.run(qasm, backend="sim", shots=10, tags=(tag,))
    second.wait(timeout=WAIT_S, progress=False)
    page = client.jobs(tag=tag)
    assert page.total == 2 and {job.id for job in page} == {first.id, second.id}
    assert client.job(second.id).result().counts == {"01": 10}


def test_backends_and_backend_detail(client: Client) -> None:
    names = {b.name for b in client.backends()}
    assert {"sim", "line10", IDLE_BACKEND} <= names
    line = client.backend("line10")
    assert line.num_qubits == 10 and line.system_id is not None and line.coupling_map
    assert line.calibration is not None and "data" in line.calibration


def test_backend_says_how_many_qubits_can_be_used_together(client: Client) -> None:
    # line10: all 10 qubits work, but one has no working coupler.
    listed = {b.name: b for b in client.backends()}
    assert (listed["line10"].num_working_qubits, listed["line10"].max_connected_qubits) == (10, 9)
    assert client.backend("line10").max_connected_qubits == 9
    assert listed["sim"].max_connected_qubits == listed["sim"].num_qubits


def test_cancelling_a_finished_job_returns_it_unchanged(client: Client) -> None:
    # ConflictError's docstring: a finished job is not a conflict; the server answers 200 with the job as it is.
    job = client.run(basis("1"), backend="sim", shots=10)
    assert job.wait(timeout=WAIT_S, progress=False).status == "DONE"
    assert job.cancel().status == "DONE"
    assert job.result().counts == {"1": 10}


def test_url_ending_in_the_api_prefix_is_understood(server: Server, token: str) -> None:
    for url in (f"{server.url}/api/v1", f"{server.url}/api/v1/"):
        with Client(url, token) as client:
            assert client.url == server.url and "sim" in {b.name for b in client.backends()}

    async def listed() -> set[str]:
        async with AsyncClient(f"{server.url}/api/v1/", token) as client:
            return {b.name for b in await client.backends()}

    assert "sim" in asyncio.run(listed())


def test_no_token_says_not_logged_in_before_sending(server: Server, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Any) -> None:
    for name in ("XIHE_TOKEN", "XIHE_URL", "XIHE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Client(server.url) as client, pytest.raises(NotLoggedInError) as denied:
        client.backends()
    assert str(denied.value).startswith("not logged in: run `xihe login`") and "XIHE_TOKEN" in str(denied.value)
    # Nothing is sent: an unreachable server gives the same answer at once, not a connection error.
    with Client("http://127.0.0.1:1") as offline, pytest.raises(NotLoggedInError):
        offline.run(basis("1"), backend="sim")

    async def unreachable() -> None:
        async with AsyncClient("http://127.0.0.1:1") as client:
            await client.backends()

    with pytest.raises(NotLoggedInError):
        asyncio.run(unreachable())


def test_queued_job_cancels_and_wait_times_out(client: Client) -> None:
    job = client.run(basis("1"), backend=IDLE_BACKEND, shots=10)
    assert job.status() == "QUEUED" and job.info.queue_position is not None
    with pytest.raises(JobTimeoutError):
        job.wait(timeout=0.5, progress=False)
    assert job.cancel().status == "CANCELLED"
    with pytest.raises(JobCancelledError):
        job.result()


def test_server_errors_become_typed_exceptions(client: Client, server: Server) -> None:
    with pytest.raises(ValidationError) as unknown:
        client.run(basis("1"), backend="no-such-backend")
    assert "no-such-backend" in unknown.value.detail and unknown.value.status == 422
    with pytest.raises(ValidationError) as syntax:
        client.run('OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n', backend="sim")
    assert syntax.value.status == 400 and "line 3" in syntax.value.detail
    with pytest.raises(ValidationError, match="qubit"):
        client.run(basis("1" * 11), backend="line10")
    with pytest.raises(QuotaError) as quota:
        client.run(basis("1"), backend="sim", shots=QUOTA_SHOTS + 1)
    assert quota.value.status == 403 and str(QUOTA_SHOTS) in quota.value.detail
    with pytest.raises(NotFoundError):
        client.job("0" * 16)
    with Client(server.url, "xh_wrong") as stranger, pytest.raises(AuthenticationError) as denied:
        stranger.backends()
    assert denied.value.status == 401 and denied.value.detail


def test_async_client_runs_jobs_concurrently(server: Server, token: str) -> None:
    async def go() -> list[Any]:
        async with AsyncClient(server.url, token) as client:
            jobs = [await client.run(basis(bits), backend="sim", shots=20) for bits in ("00", "01", "10")]
            results = await asyncio.gather(*(job.result(timeout=WAIT_S) for job in jobs))
            listed = await client.jobs(limit=3)
            assert len(listed) == 3
            return [r.counts for r in results]

    assert asyncio.run(go()) == [{"00": 20}, {"01": 20}, {"10": 20}]


class DroppingProxy:
    """A TCP proxy that forwards each request to the server but, for the first ``drops`` submits (POST /jobs),
    closes the client's connection without relaying the answer: the server accepted the job, the client never
    hears of it."""

    def __init__(self, upstream_port: int, drops: int) -> None:
        self.upstream_port = upstream_port
        self.drops = drops
        self.submits: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        request = _read_request(conn)
        if request is None:
            return
        head, _, body = request.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        forwarded = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
        with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
            upstream.sendall(forwarded)
            answer = b""
            while chunk := upstream.recv(65536):
                answer += chunk
        if lines[0].startswith(b"POST /api/v1/jobs "):
            self.submits.append(head)
            if self.drops > 0:
                self.drops -= 1
                return  # the connection closes with no answer
        conn.sendall(answer)

    def close(self) -> None:
        self._listener.close()


def _read_request(conn: socket.socket) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def test_submit_whose_response_is_lost_is_retried_and_makes_one_job(server: Server, token: str) -> None:
    proxy = DroppingProxy(server.port, drops=1)
    tag = uuid.uuid4().hex[:12]
    try:
        with Client(f"http://127.0.0.1:{proxy.port}", token) as client:
            job = client.run(basis("110"), backend="sim", shots=30, tags=(tag,))
            assert job.result(timeout=WAIT_S).counts == {"110": 30}
    finally:
        proxy.close()
    assert len(proxy.submits) == 2  # the lost one and its retry
    keys = {line for head in proxy.submits for line in head.split(b"\r\n") if line.lower().startswith(b"idempotency")}
    assert len(keys) == 1
    with Client(server.url, token) as direct:
        page = direct.jobs(tag=tag)
    assert page.total == 1 and page[0].id == job.id


@pytest.fixture(scope="module")
def throttled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server allowing each user 2 requests per second, with a burst of 2."""
    data_dir = tmp_path_factory.mktemp("xihe-throttled")
    env = server_env(data_dir, WORKERS="0", RATE_LIMIT_PER_SECOND="2", RATE_LIMIT_BURST="2")
    server = Server(data_dir, env).start("--no-workers", timeout=WAIT_S)
    try:
        yield server
    finally:
        server.stop()


def test_rate_limited_requests_wait_for_retry_after_and_succeed(throttled_server: Server) -> None:
    token = throttled_server.token or ""
    with Client(throttled_server.url, token, retry=RetryPolicy(max_attempts=1)) as impatient:
        with pytest.raises(RateLimitError) as limited:
            for _ in range(10):
                impatient.backends()
        assert limited.value.status == 429 and (limited.value.retry_after or 0) >= 1
    seen = RecordingTransport()
    with Client(throttled_server.url, token, transport=seen) as patient:
        names = [len(patient.backends()) for _ in range(5)]  # over the limit: 429s, retried after Retry-After
    assert len(set(names)) == 1 and names[0] >= 5
    assert 429 in seen.statuses and seen.statuses.count(200) == 5


class RecordingTransport(httpx.HTTPTransport):
    """The real HTTP transport, noting each answer's status."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.statuses.append(response.status_code)
        return response
