"""Work proportional to a request's size stays off the API's event loop (issue 18, ``/health`` within 100 ms).

Sampling the API process with ``py-spy --gil`` during bursts of 190 KB submits found the legacy pyquafu form
decoded twice on the event loop (the control-character guard's ``parse_qsl``, then Starlette's form parser: pure
Python unquoting, ~40 ms per program on the loaded machine each). The guard now scans the raw bytes with one
regular expression (same verdict as decoding, checked here against the decoding rule on seeded random forms), and
the legacy route decodes its form, and encodes its answer, on the thread pool: every ``urllib.parse.unquote``
call of a legacy submit runs on a pool thread (counted by thread, on a real app and database). The shared
``POST /jobs`` (quafu-sdk's and the native submission) decoded its JSON body on the loop (~20 ms for 2 MB): now on
the pool thread that submits it, as is quafu-sdk's append.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import urllib.parse
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from xihe.app import create_app
from xihe.devices.registry import SIM_ALIAS_SYSTEM_ID
from xihe.service.api.text_guard import _form_has_control, _form_has_control_decoded
from xihe.service.db import Database
from xihe.service.repositories import users
from xihe.service.settings import Settings

PROGRAM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n' + "h q[0];\ncx q[0],q[1];\n" * 400 + \
    "measure q -> c;\n"


def test_the_raw_form_scan_agrees_with_decoding_the_form() -> None:
    rng = random.Random(18)
    alphabet = [bytes([b]) for b in range(256)] + [f"%{b:02x}".encode() for b in range(256)] + \
        [f"%{b:02X}".encode() for b in range(256)] + [b"&", b"=", b"+", b"%", b"%%", b"%g1", b"%C2%85"]
    found = 0
    for _ in range(20_000):
        body = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _form_has_control(body) == _form_has_control_decoded(body), body
        found += _form_has_control(body)
    assert 0 < found < 20_000
    for allowed in (b"a=%09%0a%0D", b"qtasm=" + urlencode({"x": PROGRAM}).encode(), b"a=\t\r\n"):
        assert not _form_has_control(allowed) and not _form_has_control_decoded(allowed)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_legacy_submit_decodes_its_form_off_the_event_loop(settings: Settings, database: Database,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with database.write() as session:
        user = users.create_user(session, "legacy", role="user", password="legacy-password-1")
        token = users.create_token(session, user).secret
    threads: list[str] = []
    real_unquote = urllib.parse.unquote

    def unquote(*args: object, **kwargs: object) -> str:
        threads.append(threading.current_thread().name)
        return real_unquote(*args, **kwargs)  # type: ignore[arg-type]

    with TestClient(create_app(settings, database=database), base_url="https://testserver") as client:
        form = {"qtasm": PROGRAM, "selected_server": str(SIM_ALIAS_SYSTEM_ID), "shots": "10"}
        monkeypatch.setattr(urllib.parse, "unquote", unquote)
        answer = client.post("/qbackend/scq_kit_asyc/", headers={"api_token": token}, data=form)
        monkeypatch.undo()
    assert answer.status_code == 200 and answer.json()["status"] == 0, answer.text
    assert threads, "the form was never decoded"
    assert all(name.startswith("AnyIO worker thread") for name in threads), sorted(set(threads))


def test_the_token_is_read_off_the_event_loop_on_postgresql(settings: Settings, database: Database) -> None:
    """A native request's token read is a network round trip on PostgreSQL: on the thread pool there (every other
    answer waited behind it on the loop), on the loop on SQLite (a local read, cheaper than the hop)."""
    with database.write() as session:
        user = users.create_user(session, "reader", role="user", password="reader-password-1")
        token = users.create_token(session, user).secret
    threads: list[str] = []

    def token_thread(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM api_tokens" in statement and "token_hash" in statement:
            threads.append(threading.current_thread().name)

    event.listen(database.read_engine, "before_cursor_execute", token_thread)
    try:
        with TestClient(create_app(settings, database=database), base_url="https://testserver") as client:
            for _ in range(3):
                assert client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        event.remove(database.read_engine, "before_cursor_execute", token_thread)
    assert len(threads) >= 3
    on_pool = {name.startswith("AnyIO worker thread") for name in threads}
    assert on_pool == {not database.is_sqlite}, threads


def _on_a_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_shared_submit_decodes_its_json_body_off_the_event_loop(settings: Settings, database: Database,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with database.write() as session:
        user = users.create_user(session, "sdk", role="user", password="sdk-password-1")
        token = users.create_token(session, user).secret
    decoded: list[bool] = []  # for each decode of a submitted body: whether it ran on the event loop's thread
    real_loads = json.loads

    def loads(text: str | bytes, *args: object, **kwargs: object) -> object:
        if len(text) >= len(PROGRAM):
            decoded.append(_on_a_loop())
        return real_loads(text, *args, **kwargs)  # type: ignore[arg-type]

    headers = {"Authorization": f"Bearer {token}"}
    sdk = {"mode": "single", "target": "sim", "shots": 10, "circuit_level": "logical", "circuits": [{"qasm": PROGRAM}]}
    native = {"qasm": PROGRAM, "backend": "sim", "shots": 10}
    with TestClient(create_app(settings, database=database), base_url="https://testserver") as client:
        monkeypatch.setattr(json, "loads", loads)
        answers = [client.post("/api/v1/jobs", headers=headers, json=body) for body in (sdk, native)]
        monkeypatch.undo()
    assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
    assert len(decoded) >= 2, "the bodies were never decoded"
    assert not any(decoded), decoded
