"""The native API over HTTP against a real ``xihe serve`` (uvicorn, SQLite, local worker processes)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.service.helpers import (
    BELL,
    Server,
    basis_state_qasm,
    entangled_qasm,
    run_xihe,
    server_env,
    wait_all,
    worker_pids,
)

RX_SWEEP = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nrx(theta) q[0];\nmeasure q[0] -> c[0];\n'
# A few ms per circuit on line10 (8-qubit density matrix): a batch of 400 runs for seconds.
LONG_LINE10 = basis_state_qasm(0b10101101, 8).replace("measure", "barrier q;\n" + "h q;\n" * 6 + "measure")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("xihe-api")
    env = server_env(data_dir, WORKERS="2", HEARTBEAT_SECONDS="0.2", LEASE_SECONDS="5")
    srv = Server(data_dir, env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def add_user(server: Server, name: str, *extra: str) -> str:
    return run_xihe("users", "add", name, *extra, "--data-dir", str(server.data_dir), env=server.env)


def submit(client: httpx.Client, **body: object) -> dict:
    response = client.post("/jobs", json={"backend": "sim", "shots": 1000, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_bell_job_end_to_end(client: httpx.Client) -> None:
    job = submit(client, qasm=BELL, seed=11, name="bell", tags=["e2e"])
    assert job["status"] in ("QUEUED", "RUNNING", "DONE") and job["kind"] == "single"
    done = client.get(f"/jobs/{job['id']}", params={"wait": 30}).json()
    assert done["status"] == "DONE", done
    result = done["result"]
    assert set(result["counts"]) == {"00", "11"} and sum(result["counts"].values()) == 1000
    assert 400 < result["counts"]["00"] < 600
    assert result["probabilities"]["00"] == pytest.approx(result["counts"]["00"] / 1000)
    assert result["bit_order"] == "c0_leftmost" and "OPENQASM 2.0" in result["compiled_qasm"]
    assert result["calibration_id"] and set(result["versions"]) == {"xihe", "compiler", "engine"}
    assert done["attempts"] == 1 and done["started_at"] and done["finished_at"]
    again = wait_all(client, [submit(client, qasm=BELL, seed=11)["id"]])
    assert next(iter(again.values()))["result"]["counts"] == result["counts"]  # same seed, same counts


def test_batch_gives_one_result_per_circuit(client: httpx.Client) -> None:
    job = submit(client, circuits=[basis_state_qasm(5, 3), basis_state_qasm(2, 3)], shots=100)
    done = wait_all(client, [job["id"]])[job["id"]]
    assert done["kind"] == "batch" and done["num_circuits"] == 2 and done["result"] is None
    assert [r["counts"] for r in done["results"]] == [{"101": 100}, {"010": 100}]


def test_sweep_binds_each_parameter_set(client: httpx.Client) -> None:
    job = submit(client, qasm=RX_SWEEP, parameters=[{"theta": 0.0}, {"theta": 3.141592653589793}], shots=200)
    done = wait_all(client, [job["id"]])[job["id"]]
    assert done["kind"] == "sweep" and [r["counts"] for r in done["results"]] == [{"0": 200}, {"1": 200}]


def test_memory_on_request(client: httpx.Client) -> None:
    done = wait_all(client, [submit(client, qasm=basis_state_qasm(1, 2), shots=5, memory=True)["id"]])
    assert next(iter(done.values()))["result"]["memory"] == ["01"] * 5


def test_verbatim_job_on_a_twin_keeps_its_qubits(client: httpx.Client) -> None:
    backend = client.get("/backends/line10").json()
    a, b = backend["coupling_map"][0]
    gate = "cx" if "cx" in backend["native_gates"] else backend["native_gates"][0]
    qasm = (f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[10];\ncreg c[2];\n{gate} q[{a}],q[{b}];\n'
            f"measure q[{a}] -> c[0];\nmeasure q[{b}] -> c[1];\n")
    if gate != "cx":
        pytest.fail(f"line10 should list cx as native (DESIGN.md): {backend['native_gates']}")
    done = wait_all(client, [submit(client, qasm=qasm, backend="line10", compile=False, shots=300)["id"]])
    job = next(iter(done.values()))
    assert job["status"] == "DONE" and sum(job["result"]["counts"].values()) == 300


def test_circuit_wider_than_the_connected_qubits_is_refused_at_submit(client: httpx.Client) -> None:
    # line10 has 10 working qubits, but one has no working coupler: only 9 can be used together. A 10-qubit
    # circuit (a GHZ chain, or even one X) used to be accepted and then FAILED at compile.
    before = client.get("/jobs", params={"limit": 1}).json()["total"]
    chain = basis_state_qasm(0, 10).replace("measure", "h q[0];\n" + "".join(
        f"cx q[{i}],q[{i + 1}];\n" for i in range(9)) + "measure")
    for qasm in (chain, basis_state_qasm(1, 10)):
        refused = client.post("/jobs", json={"qasm": qasm, "backend": "line10", "shots": 10})
        problem = _problem(refused)
        assert (refused.status_code, problem["code"], problem["stage"]) == (422, "invalid_for_backend", "validate")
        assert "at most 9" in problem["detail"] and "max_connected_qubits" in problem["detail"], problem
    assert client.get("/jobs", params={"limit": 1}).json()["total"] == before
    nine = wait_all(client, [submit(client, qasm=basis_state_qasm(0b100000001, 9), backend="line10", shots=50)["id"]])
    assert next(iter(nine.values()))["status"] == "DONE"


def test_list_filters_and_paging(client: httpx.Client) -> None:
    ids = [submit(client, qasm=BELL, shots=10, tags=["paging"])["id"] for _ in range(3)]
    wait_all(client, ids)
    page = client.get("/jobs", params={"tag": "paging", "limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["limit"] == 2
    rest = client.get("/jobs", params={"tag": "paging", "limit": 2, "offset": 2}).json()
    assert {j["id"] for j in page["items"] + rest["items"]} == set(ids)
    assert [j["id"] for j in page["items"]] == ids[::-1][:2]  # newest first
    done = client.get("/jobs", params={"status": "DONE", "backend": "sim", "limit": 500}).json()
    assert set(ids) <= {j["id"] for j in done["items"]}
    assert client.get("/jobs", params={"backend": "grid36"}).json()["total"] == 0


def test_cancel_queued_and_running_jobs(client: httpx.Client) -> None:
    # line10 is exclusive: while a long batch runs there, the next line10 job must wait in the queue.
    running = submit(client, backend="line10", circuits=[LONG_LINE10] * 400, shots=20000, seed=1)
    deadline = time.monotonic() + 30
    while client.get(f"/jobs/{running['id']}").json()["status"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    queued = submit(client, backend="line10", qasm=BELL)
    view = client.get(f"/jobs/{queued['id']}").json()
    assert view["status"] == "QUEUED" and view["queue_position"] == 0 and view["estimated_start"]
    cancelled = client.post(f"/jobs/{queued['id']}/cancel").json()
    assert cancelled["status"] == "CANCELLED"
    assert client.post(f"/jobs/{running['id']}/cancel").status_code == 200
    final = wait_all(client, [running["id"]])[running["id"]]
    assert final["status"] == "CANCELLED" and final["results"] is None
    assert client.post(f"/jobs/{queued['id']}/cancel").json()["status"] == "CANCELLED"  # idempotent


def test_backends_and_calibration_history(client: httpx.Client) -> None:
    names = {b["name"]: b for b in client.get("/backends").json()}
    assert {"sim", "sim-clifford", "line10", "dongling", "grid36"} <= set(names)
    assert names["line10"]["exclusive"] and names["sim"]["status"] == "online"
    line10 = client.get("/backends/line10").json()
    assert len(line10["working_qubits"]) == 10 and line10["coupling_map"] and line10["calibration"]["id"]
    at = line10["calibration"]["time"]
    assert client.get("/backends/line10", params={"at": at}).json()["calibration"]["id"] == line10["calibration"]["id"]
    old = client.get("/backends/line10", params={"at": "2000-01-01T00:00:00Z"})
    assert old.status_code == 404 and old.json()["code"] == "no_calibration"
    assert client.get("/backends/nope").status_code == 404
    dongling = client.get("/backends/dongling").json()
    assert dongling["num_working_qubits"] == len(dongling["working_qubits"]) <= dongling["num_qubits"]
    # How many qubits one circuit can use together: the largest connected group of working qubits.
    assert {name: names[name]["max_connected_qubits"] for name in ("sim", "line10", "dongling", "grid36")} == {
        "sim": names["sim"]["num_qubits"], "line10": 9, "dongling": 106, "grid36": 36}
    assert line10["max_connected_qubits"] == 9 and dongling["max_connected_qubits"] == 106


def test_tokens_create_list_revoke_and_expire(server: Server, client: httpx.Client) -> None:
    created = client.post("/tokens", json={"name": "laptop"})
    assert created.status_code == 201
    secret, token_id = created.json()["token"], created.json()["id"]
    listed = client.get("/tokens").json()
    assert token_id in {t["id"] for t in listed} and all("token" not in t for t in listed)
    with server.client(secret) as other:
        assert other.get("/jobs").status_code == 200
        assert client.delete(f"/tokens/{token_id}").status_code == 204
        refused = other.get("/jobs")
        assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    short = client.post("/tokens", json={"expires_in_days": 1 / 86400}).json()["token"]
    time.sleep(1.2)
    with server.client(short) as expired:
        assert expired.get("/jobs").status_code == 401
    assert client.delete("/tokens/does-not-exist").status_code == 404


def test_isolation_between_users(server: Server, client: httpx.Client) -> None:
    job = submit(client, qasm=BELL, shots=10)
    other_token = add_user(server, "mallory")
    with server.client(other_token) as other:
        assert other.get(f"/jobs/{job['id']}").status_code == 404
        assert other.post(f"/jobs/{job['id']}/cancel").status_code == 404
        assert other.get("/jobs").json()["total"] == 0
    anonymous = httpx.get(f"{server.url}/api/v1/jobs")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    with server.client("xh_not-a-real-token") as wrong:
        assert wrong.get(f"/jobs/{job['id']}").status_code == 401


def test_no_secret_is_stored_in_clear(server: Server, client: httpx.Client) -> None:
    secret = client.post("/tokens", json={"name": "scan"}).json()["token"]
    run_xihe("users", "add", "carol", "--password-value", "hunter2-very-secret", "--data-dir",
             str(server.data_dir), env=server.env)
    blobs = b"".join(p.read_bytes() for p in server.data_dir.glob("xihe.db*"))
    assert server.token and server.password
    for clear in (secret, server.token, server.password, "hunter2-very-secret"):
        assert clear.encode() not in blobs


def test_idempotency_key_makes_one_job(client: httpx.Client) -> None:
    body = {"qasm": BELL, "backend": "sim", "shots": 10, "tags": ["idem"]}
    headers = {"Idempotency-Key": "submit-42"}
    first = client.post("/jobs", json=body, headers=headers)
    second = client.post("/jobs", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second.headers["idempotent-replayed"] == "true"
    assert client.get("/jobs", params={"tag": "idem"}).json()["total"] == 1
    conflict = client.post("/jobs", json={**body, "shots": 11}, headers=headers)
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_conflict"


def test_quotas_and_rate_limit(server: Server) -> None:
    token = add_user(server, "quota-user")
    run_xihe("users", "limits", "quota-user", "--max-shots", "100", "--jobs-per-day", "3", "--max-qubits", "2",
             "--data-dir", str(server.data_dir), env=server.env)
    with server.client(token) as user:
        too_many = user.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 101})
        assert too_many.status_code == 403 and too_many.json()["code"] == "quota_shots"
        wide = user.post("/jobs", json={"qasm": basis_state_qasm(0, 3), "backend": "sim", "shots": 10})
        assert wide.status_code == 403 and wide.json()["code"] == "quota_qubits"
        # jobs-per-day counts jobs: a batch of 5 circuits and a sweep of 4 bindings are one job each.
        assert user.post("/jobs", json={"circuits": [BELL] * 5, "backend": "sim", "shots": 10}).status_code == 201
        sweep = {"qasm": RX_SWEEP, "parameters": [{"theta": 0.1 * i} for i in range(4)], "backend": "sim",
                 "shots": 10}
        assert user.post("/jobs", json=sweep).status_code == 201
        assert user.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).status_code == 201
        daily = user.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10})
        assert daily.status_code == 403 and daily.json()["code"] == "quota_jobs_per_day"
        assert "3 jobs" in daily.json()["detail"], daily.json()
    token = add_user(server, "chatty")
    run_xihe("users", "limits", "chatty", "--rate-limit", "2", "--data-dir", str(server.data_dir), env=server.env)
    with server.client(token) as chatty:
        codes = [chatty.get("/backends").status_code for _ in range(8)]
        assert 429 in codes and codes[0] == 200
        limited = next(r for r in (chatty.get("/jobs") for _ in range(5)) if r.status_code == 429)
        assert int(limited.headers["retry-after"]) >= 1 and limited.json()["code"] == "rate_limited"


def test_wall_time_limit_fails_the_job(server: Server) -> None:
    token = add_user(server, "slow")
    run_xihe("users", "limits", "slow", "--wall-seconds", "0.3", "--data-dir", str(server.data_dir), env=server.env)
    assert server.process is not None
    workers_before = set(worker_pids(server))
    with server.client(token) as slow:
        job = slow.post("/jobs", json={"circuits": [LONG_LINE10] * 400, "backend": "line10", "shots": 20000})
        assert job.status_code == 201
        done = wait_all(slow, [job.json()["id"]])[job.json()["id"]]
    assert done["status"] == "FAILED" and done["error"]["stage"] == "execute"
    assert "wall-time limit" in done["error"]["detail"]
    # The overrunning worker ended itself; the supervisor has started a fresh one.
    deadline = time.monotonic() + 30
    while True:
        workers_now = set(worker_pids(server))
        if len(workers_now) == len(workers_before) and workers_now != workers_before:
            break
        assert time.monotonic() < deadline, (workers_before, workers_now)
        time.sleep(0.2)


def test_health_metrics_and_openapi(server: Server, client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["database"] == "sqlite"
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "xihe_jobs_submitted_total" in metrics and 'xihe_jobs{status="DONE"}' in metrics
    spec = httpx.get(f"{server.url}/openapi.json").json()
    operation_ids = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"submit_job", "list_jobs", "get_job", "cancel_job", "list_backends", "get_backend", "create_token",
            "list_tokens", "revoke_token", "health", "metrics"} <= operation_ids


def test_long_poll_returns_at_the_deadline_while_queued(client: httpx.Client) -> None:
    started = time.monotonic()
    job = submit(client, qasm=BELL, shots=10)
    body = client.get(f"/jobs/{job['id']}", params={"wait": 5}).json()
    assert body["status"] == "DONE" and time.monotonic() - started < 5


def test_demo_user_is_created_once(server: Server) -> None:
    listing = run_xihe("users", "list", "--data-dir", str(server.data_dir), env=server.env)
    assert "demo" in listing and "admin" in listing


def _problem(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert {"type", "title", "status", "detail", "code", "stage"} <= set(body)
    assert body["status"] == response.status_code and body["detail"]
    return body


def test_problem_json_for_unknown_route(server: Server) -> None:
    assert _problem(httpx.get(f"{server.url}/api/v1/nothing-here"))["status"] == 404


def line10_off_coupling() -> str:
    return ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[10];\ncreg c[2];\ncx q[0],q[9];\n'
            "measure q[0] -> c[0];\nmeasure q[9] -> c[1];\n")


MALFORMED: list[tuple[str, dict | bytes, int, str, str]] = [
    # (case, body, status, code, a word the detail must contain)
    ("qasm syntax error", {"qasm": "OPENQASM 2.0;\nqreg q[2];\nh q[0]\n"}, 400, "qasm_syntax", "line"),
    ("undefined gate", {"qasm": 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nfoo q[0];\n'}, 400, "qasm_syntax",
     "foo"),
    ("not qasm at all", {"qasm": "print('hello')"}, 400, "qasm_syntax", "line"),
    ("unknown backend", {"qasm": BELL, "backend": "nope"}, 422, "unknown_backend", "nope"),
    ("too many qubits", {"qasm": basis_state_qasm(0, 12), "backend": "line10"}, 422, "invalid_for_backend", "12"),
    ("too large for the machine's memory", {"qasm": entangled_qasm(34)}, 422, "too_large", "GiB"),
    ("shots zero", {"qasm": BELL, "shots": 0}, 422, "invalid_request", "shots"),
    ("shots negative", {"qasm": BELL, "shots": -5}, 422, "invalid_request", "shots"),
    ("shots huge", {"qasm": BELL, "shots": 10**12}, 422, "invalid_request", "shots"),
    ("shots above backend max", {"qasm": BELL, "backend": "line10", "shots": 10**7}, 422, "too_many_shots",
     "maximum"),
    ("shots as string", {"qasm": BELL, "shots": "100"}, 422, "invalid_request", "shots"),
    ("shots as float", {"qasm": BELL, "shots": 1.5}, 422, "invalid_request", "shots"),
    ("qasm as number", {"qasm": 42}, 422, "invalid_request", "qasm"),
    ("missing backend", {"qasm": BELL, "backend": None}, 422, "invalid_request", "backend"),
    ("neither qasm nor circuits", {}, 422, "invalid_request", "exactly one"),
    ("both qasm and circuits", {"qasm": BELL, "circuits": [BELL]}, 422, "invalid_request", "exactly one"),
    ("empty batch", {"circuits": []}, 422, "invalid_request", "circuits"),
    ("unknown field", {"qasm": BELL, "shotz": 5}, 422, "invalid_request", "shotz"),
    ("optimization level 7", {"qasm": BELL, "optimization_level": 7}, 422, "invalid_request", "optimization_level"),
    ("negative seed", {"qasm": BELL, "seed": -1}, 422, "invalid_request", "seed"),
    ("priority too high", {"qasm": BELL, "priority": 99}, 422, "invalid_request", "priority"),
    ("tags not a list", {"qasm": BELL, "tags": "x"}, 422, "invalid_request", "tags"),
    ("parameters with a batch", {"circuits": [BELL], "parameters": [{"a": 1.0}]}, 422, "invalid_request",
     "parameters"),
    ("sweep binding misses a parameter", {"qasm": RX_SWEEP, "parameters": [{"phi": 1.0}]}, 422, "bad_parameters",
     "theta"),
    ("unbound parameter", {"qasm": RX_SWEEP}, 422, "unbound_parameters", "theta"),
    ("no measurement", {"qasm": BELL.replace("measure q -> c;\n", "")}, 422, "no_measurement", "measures nothing"),
    ("no measurement in a batch", {"circuits": [BELL, BELL.replace("measure q -> c;\n", "")]}, 422,
     "no_measurement", "circuit 1"),
    ("wider than the connected qubits", {"qasm": basis_state_qasm(1, 10), "backend": "line10"}, 422,
     "invalid_for_backend", "at most 9"),
    ("verbatim off the coupling map", {"qasm": "LINE10_OFF", "backend": "line10", "compile": False}, 422,
     "invalid_for_backend", "9"),
    ("bad circuit in a batch", {"circuits": [BELL, "OPENQASM 2.0;\nqreg q[1];\nbogus q[0];\n"]}, 400, "qasm_syntax",
     "circuit 1"),
    ("bad JSON", b'{"qasm": ', 400, "bad_json", "JSON"),
    ("JSON array body", b"[1, 2, 3]", 422, "invalid_request", "object"),
    ("oversized body", b'{"qasm": "' + b"x" * (3 * 1024 * 1024) + b'"}', 413, "body_too_large", "exceeds"),
]


@pytest.mark.parametrize(("case", "body", "status", "code", "word"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_submit_is_a_clear_4xx(client: httpx.Client, case: str, body: dict | bytes, status: int, code: str,
                                         word: str) -> None:
    before = client.get("/jobs", params={"limit": 1}).json()["total"]
    if isinstance(body, bytes):
        response = client.post("/jobs", content=body, headers={"content-type": "application/json"})
    else:
        payload = {"backend": "sim", "shots": 100, **body}
        if payload.get("qasm") == "LINE10_OFF":
            payload["qasm"] = line10_off_coupling()
        payload = {k: v for k, v in payload.items() if v is not None}
        response = client.post("/jobs", json=payload)
    problem = _problem(response)
    assert (response.status_code, problem["code"]) == (status, code), problem
    assert word.lower() in problem["detail"].lower(), problem["detail"]
    assert client.get("/jobs", params={"limit": 1}).json()["total"] == before  # nothing stored


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/jobs?limit=0", 422), ("get", "/jobs?status=BOGUS", 422), ("get", "/jobs/unknown-id", 404),
    ("get", "/jobs/x?wait=-1", 422), ("post", "/jobs/unknown-id/cancel", 404), ("get", "/backends/x", 404),
    ("get", "/backends/line10?at=notadate", 422), ("delete", "/jobs", 405),
])
def test_malformed_queries(client: httpx.Client, method: str, path: str, status: int) -> None:
    assert _problem(client.request(method.upper(), path)).get("status") == status


def test_form_body_and_long_idempotency_key(client: httpx.Client) -> None:
    form = client.post("/jobs", data={"qasm": BELL, "backend": "sim"})
    assert _problem(form)["status"] == 422
    long_key = client.post("/jobs", json={"qasm": BELL, "backend": "sim"}, headers={"Idempotency-Key": "k" * 300})
    assert _problem(long_key)["status"] == 422


def test_admin_maintenance_switch(server: Server, client: httpx.Client) -> None:
    user_token = add_user(server, "not-admin")
    with server.client(user_token) as user:
        refused = user.put("/backends/grid36/status", json={"status": "maintenance"})
        assert refused.status_code == 403
    try:
        assert client.put("/backends/grid36/status", json={"status": "maintenance"}).json()["status"] == "maintenance"
        assert client.get("/backends/grid36").json()["status"] == "maintenance"
        blocked = client.post("/jobs", json={"qasm": BELL, "backend": "grid36", "shots": 10})
        assert blocked.status_code == 409 and blocked.json()["code"] == "backend_unavailable"
        assert client.put("/backends/grid36/status", json={"status": "broken"}).status_code == 422
    finally:
        assert client.put("/backends/grid36/status", json={"status": "online"}).status_code == 200
    done = wait_all(client, [submit(client, qasm=BELL, backend="grid36", shots=10)["id"]])
    assert next(iter(done.values()))["status"] == "DONE"


def test_oversized_chunked_body_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        yield b'{"qasm": "'
        for _ in range(300):
            yield b"x" * 10_000
        yield b'"}'

    response = client.post("/jobs", content=chunks(), headers={"content-type": "application/json"})
    assert _problem(response)["code"] == "body_too_large" and response.status_code == 413
