"""NUL and other control characters get a 422 at the edge on SQLite and PostgreSQL (issue 18, item 6).

Every path parameter and string query parameter of every documented operation (read from the live server's
OpenAPI), every string field of every documented JSON body, and the hand-read fields of the legacy Quafu forms,
quafu-sdk and quafusqc bodies are sent with a NUL (and, for names, other control characters). Before the fix
PostgreSQL answered 500 (psycopg refuses NUL in text) and the legacy routes internal error 5003; none of these
may reach the catch-all 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.service.helpers import BELL, Server, fresh_postgres_database, run_xihe, server_env

NUL = "a\x00b"
# Names take no control character at all (a line break in a token name is as wrong as a NUL).
NAME_BREAKERS = ("a\x00b", "a\x01b", "a\nb", "a\x1bb", "a\x7fb")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp(f"xihe-nul-{request.param}")
    if request.param == "sqlite":
        srv = Server(data_dir, server_env(data_dir, WORKERS="1")).start()
        yield srv
        srv.stop()
        return
    with fresh_postgres_database() as url:
        env = server_env(data_dir, url, WORKERS="1")
        run_xihe("db", "upgrade", env=env)
        srv = Server(data_dir, env).start()
        yield srv
        srv.stop()


def _plausible(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind is None and "anyOf" in schema:
        kind = next((s.get("type") for s in schema["anyOf"] if s.get("type") != "null"), "string")
    return {"integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}.get(str(kind), "x")


def _is_string(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "string" for option in options)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return dict(spec["components"]["schemas"][ref.rsplit("/", 1)[1]])
    return schema


def hostile_requests(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, raw URL, httpx keyword arguments) for every path/query parameter and JSON string field."""
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            path_params = {p["name"] for p in params if p["in"] == "path"}
            good_path = path
            for name in path_params:
                good_path = good_path.replace("{" + name + "}", "1")
            for name in path_params:
                bad = path
                for other in path_params:
                    bad = bad.replace("{" + other + "}", quote(NUL, safe="") if other == name else "1")
                yield method, bad, {}
            for param in params:
                if param["in"] == "query" and _is_string(param.get("schema", {})):
                    yield method, good_path + "?" + param["name"] + "=" + quote(NUL, safe=""), {}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = _resolve(spec, body["schema"])
            properties = {k: _resolve(spec, v) for k, v in schema.get("properties", {}).items()}
            valid = {k: _plausible(v) for k, v in properties.items() if k in schema.get("required", [])}
            for name, field in properties.items():
                if _is_string(field):
                    yield method, good_path, {"json": {**valid, name: NUL}}


def test_every_documented_string_parameter_and_field_refuses_nul(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    headers = {"Authorization": f"Bearer {server.token}"}
    answers: list[tuple[str, str, int]] = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for method, url, kwargs in hostile_requests(spec):
            response = client.request(method.upper(), url, **kwargs)
            answers.append((method, url + (" " + json.dumps(kwargs["json"]) if kwargs else ""),
                            response.status_code))
    assert len(answers) > 30  # the whole API, not a handful
    wrong = [a for a in answers if a[2] != 422]
    assert not wrong, wrong


def test_native_names_refuse_every_control_character(server: Server) -> None:
    with server.client() as client:
        for bad in NAME_BREAKERS:
            assert client.post("/tokens", json={"name": bad}).status_code == 422
            job = {"qasm": BELL, "backend": "sim", "shots": 10}
            assert client.post("/jobs", json={**job, "name": bad}).status_code == 422
            assert client.post("/jobs", json={**job, "tags": [bad]}).status_code == 422
        # Line breaks stay legal in program text; a NUL there does not.
        assert client.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).status_code == 201
        assert client.post("/jobs", json={"qasm": BELL + "\x00", "backend": "sim"}).status_code == 422
        assert client.post("/jobs", json={"circuits": [BELL, "\x00"], "backend": "sim"}).status_code == 422
        assert client.delete(f"/tokens/{quote(NUL, safe='')}").status_code == 422
        assert client.get("/jobs", params={"backend": NUL}).status_code == 422
        assert client.post("/tokens", json={"expires_in_days": True}).status_code == 422



def test_a_too_long_job_name_is_refused_in_characters(server: Server) -> None:
    """The length limit of a job's optional name counts characters, and says so (it said "at most 256 items
    after validation", found trying Xihe as a new user); a control character is still refused."""
    job = {"qasm": BELL, "backend": "sim", "shots": 10}
    with server.client() as client:
        refused = client.post("/jobs", json={**job, "name": "n" * 257})
        assert refused.status_code == 422
        assert "at most 256 characters" in refused.text and "items" not in refused.text
        assert client.post("/jobs", json={**job, "name": "n" * 256}).status_code == 201
        assert client.post("/jobs", json={**job, "name": "n\x07" * 10}).status_code == 422

def _system_id(server: Server) -> str:
    return str(httpx.get(f"{server.url}/api/v1/backends/sim", headers={"Authorization": f"Bearer {server.token}"})
               .json()["system_id"])


def test_legacy_quafu_forms_refuse_nul_and_infinite_shots(server: Server) -> None:
    token = {"api_token": str(server.token)}
    send = {"qtasm": BELL, "selected_server": _system_id(server), "shots": "10"}
    with httpx.Client(base_url=server.url, headers=token, timeout=60) as client:
        for data in ({**send, "task_name": NUL}, {**send, "qtasm": BELL + "\x00"},
                     {**send, "selected_server": NUL}):
            assert client.post("/qbackend/scq_kit_asyc/", data=data).status_code == 422
        assert client.post("/qbackend/scq_task_recall/", data={"task_id": NUL}).status_code == 422
        answer = client.post("/qbackend/scq_kit_asyc/", data={**send, "shots": "1e400"})
        assert answer.status_code == 200 and answer.json()["status"] == 400, answer.text  # BAD_REQUEST, not 5003
        assert "shots" in answer.json()["message"]


def test_quafu_sdk_and_quafusqc_fields_refuse_nul(server: Server) -> None:
    bearer = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        sdk = {"mode": "batch", "target": "sim", "shots": 10, "tasks": [{"qasm": BELL, "name": NUL}]}
        assert client.post("/jobs", json=sdk, headers=bearer).status_code == 422
        assert client.post("/jobs", json={**sdk, "target": NUL}, headers=bearer).status_code == 422
        for path in (f"/jobs/{quote(NUL, safe='')}/status", f"/jobs/{quote(NUL, safe='')}/results"):
            assert client.get(path, headers=bearer).status_code == 422
        sqc = {"token": str(server.token)}
        assert client.post(f"/run/?name={quote(NUL, safe='')}&chip=sim", content=b'{"qasm": "x"}',
                           headers=sqc).status_code == 422
        assert client.post("/run/?chip=sim", content=json.dumps({"circuit": "a\x00"}).encode(),
                           headers=sqc).status_code == 422
        for path in ("/status/", "/result/", "/cancel/", "/delete/"):
            assert client.get(path + quote(NUL, safe=""), headers=sqc).status_code == 422
        assert client.get("/query/", params={"chips": NUL}, headers=sqc).status_code == 422


def test_no_request_reached_the_catch_all(server: Server) -> None:
    assert server.log_path is not None
    log = server.log_path.read_text()
    assert "unhandled error" not in log and "Traceback" not in log, log[-4000:]
