"""Backends, editor, jobs, account and admin pages over the real app and database."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from tests.service.helpers import BELL
from tests.web.conftest import Site, page_csrf
from xihe.service.clock import utcnow
from xihe.service.repositories import calibrations, jobs, queue, users
from xihe.service.views import DEFAULT_JOB_SECONDS

TYPO_LINE_6 = BELL.replace("cx q[0],q[1];", "cx q[0] q[1];")


def submit(client: TestClient, **fields: str) -> str:
    form = {"qasm": BELL, "backend": "sim", "shots": "1000", "compile": "on", "optimization_level": "2",
            "seed": "7", "csrf_token": page_csrf(client, "/editor"), **fields}
    response = client.post("/editor/submit", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/jobs/([0-9a-f]+)", response.headers["location"])
    assert match
    return match.group(1)


def validate(client: TestClient, qasm: str, backend: str = "sim", compile: bool = True) -> dict:
    response = client.post("/editor/validate", json={"qasm": qasm, "backend": backend, "compile": compile},
                           headers={"X-CSRF-Token": page_csrf(client, "/editor")})
    assert response.status_code == 200
    return response.json()


def test_backends_list_every_backend_with_status_size_and_queue(alice: TestClient) -> None:
    page = alice.get("/backends").text
    for name in ("sim", "sim-clifford", "line10", "dongling", "grid36"):
        assert f'data-backend="{name}"' in page
    row = page.split('data-backend="dongling"')[1].split("</tr>")[0]
    assert "106 / 130" in row and "status-online" in row and 'class="num queue">0<' in row


def test_dongling_page_draws_the_chip_and_its_calibration(alice: TestClient) -> None:
    page = alice.get("/backends/dongling").text
    assert page.count('class="qubit working"') == 106 and page.count('class="qubit dead"') == 24
    assert 'data-label="Q0101"' in page and "Qubits: T1 (µs)" in page and "Couplers: 2q fidelity" in page
    assert "2024-04-01 14:27:11 UTC" in page  # the calibration's time
    qubit_rows = page.split('id="calibration-qubits"')[1].split("</table>")[0]
    assert qubit_rows.count('<tr class="working">') == 106 and qubit_rows.count('<tr class="dead">') == 24
    assert "65.33" in qubit_rows  # Q0103's T1 from the chip file
    readout = alice.get("/backends/dongling?metric=readout").text
    assert "Qubits: readout error" in readout
    assert alice.get("/backends/nope").status_code == 404
    assert "nothing to draw" in alice.get("/backends/sim").text


def test_validation_reports_the_line_and_column_of_a_typo(alice: TestClient) -> None:
    answer = validate(alice, TYPO_LINE_6)
    assert answer["ok"] is False and answer["error"]["line"] == 6 and answer["error"]["column"] >= 1
    assert answer["error"]["message"] and not answer["error"]["message"].startswith("line")
    good = validate(alice, BELL)
    assert good["ok"] is True and good["error"] is None and "<svg" in good["svg"]
    assert good["stats"] == {"qubits": 2, "clbits": 2, "operations": 4, "depth": 3, "parameters": []}


def test_validation_checks_the_circuit_against_the_backend(alice: TestClient) -> None:
    wide = BELL.replace("qreg q[2];", "qreg q[12];").replace("creg c[2];", "creg c[12];")
    answer = validate(alice, wide, backend="line10")
    assert answer["error"] is None and "12 qubits" in answer["backend_error"] and answer["ok"] is False
    verbatim = validate(alice, BELL, backend="dongling", compile=False)
    assert verbatim["backend_error"]  # h+cx on unconnected, non-native qubits
    assert validate(alice, "   ")["error"]["message"] == "the program is empty"


def test_editor_rejects_bad_options_and_keeps_the_text(alice: TestClient) -> None:
    csrf = page_csrf(alice, "/editor")
    base = {"qasm": BELL, "backend": "sim", "compile": "on", "optimization_level": "2", "csrf_token": csrf}
    zero = alice.post("/editor/submit", data={**base, "shots": "0"})
    assert zero.status_code == 422 and "shots" in zero.text and "cx q[0],q[1];" in zero.text
    typo = alice.post("/editor/submit", data={**base, "shots": "10", "qasm": TYPO_LINE_6})
    assert typo.status_code == 400 and "line 6" in typo.text
    not_a_number = alice.post("/editor/submit", data={**base, "shots": "many"})
    assert not_a_number.status_code == 422


def test_the_counts_table_lists_the_most_frequent_outcome_first(site: Site, alice: TestClient) -> None:
    skewed = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nry(2.5) q[0];\nmeasure q -> c;\n'
    job_id = submit(alice, qasm=skewed)  # P(1) = sin^2(1.25) = 0.90
    site.run_jobs()
    page = alice.get(f"/jobs/{job_id}").text
    table = page.split('class="grid compact counts"')[1].split("</table>")[0]
    rows = re.findall(r"<code>(\d+)</code></td><td class=\"num\">(\d+)<", table)
    assert [key for key, _ in rows] == ["1", "0"]
    assert int(rows[0][1]) > int(rows[1][1])
    bars = re.findall(r'class="bar" data-key="(\d+)"', page)
    assert bars == ["1", "0"]


def test_a_submitted_job_page_shows_histogram_counts_and_download(site: Site, alice: TestClient) -> None:
    job_id = submit(alice, name="bell web", tags="web, bell")
    queued = alice.get(f"/jobs/{job_id}").text
    assert 'data-status="QUEUED"' in queued and "position 1 in the sim queue" in queued
    assert 'id="estimated-start"' in queued
    site.run_jobs()
    page = alice.get(f"/jobs/{job_id}").text
    assert 'data-status="DONE"' in page
    bars = re.findall(r'class="bar" data-key="(\d+)" data-count="(\d+)"', page)
    assert {key for key, _ in bars} == {"00", "11"} and sum(int(c) for _, c in bars) == 1000
    assert "Compiled OpenQASM" in page and "sim-v1-" in page
    download = alice.get(f"/jobs/{job_id}/download")
    assert download.headers["content-disposition"] == f'attachment; filename="xihe-job-{job_id}.json"'
    body = download.json()
    assert body["id"] == job_id and body["result"]["counts"] == {k: int(c) for k, c in bars}
    status = alice.get(f"/jobs/{job_id}/status.json").json()
    assert status["status"] == "DONE" and status["terminal"] is True


def test_a_twin_job_shows_its_layout_on_the_chip_and_its_calibration(site: Site, alice: TestClient) -> None:
    job_id = submit(alice, backend="dongling", shots="200")
    site.run_jobs()
    page = alice.get(f"/jobs/{job_id}").text
    layout = re.findall(r"<code>q\[(\d)\]→(\d+)</code>", page)
    assert len(layout) == 2
    topology = page.split('id="layout-topology"')[1]
    assert topology.count('class="qubit working used"') == 2
    for virtual, physical in layout:
        assert f'data-qubit="{physical}"' in topology and f">q{virtual}</text>" in topology
    assert "This job ran under <code>dongling-v1-" in page and "Q0" in page.split("Calibration snapshot")[1]
    assert "wires are the physical qubits" in page
    # Dongling's file is from 2024-04: a job run today says how old the noise it was emulated with is.
    age = re.search(r'id="calibration-age"[^>]*>This calibration was\s+<strong>(\d+) days old</strong>', page)
    assert age and int(age.group(1)) > 365


def test_job_list_filters_and_live_status(site: Site, alice: TestClient) -> None:
    first = submit(alice, tags="filter-me")
    second = submit(alice, backend="line10", shots="50")
    tagged = alice.get("/jobs?tag=filter-me").text
    assert first in tagged and second not in tagged
    by_backend = alice.get("/jobs?backend=line10").text
    assert second in by_backend and first not in by_backend
    queued = alice.get("/jobs?status=QUEUED").text
    assert first in queued and second in queued
    known = f"{first}=QUEUED:,{second}=QUEUED:,missing=QUEUED:"
    live = alice.get(f"/jobs/updates.json?known={known}").json()["changed"]
    assert sorted(item["id"] for item in live) == sorted([first, second])  # the page did not know their places
    assert all(item["status"] == "QUEUED" and item["queue_position"] is not None for item in live)
    site.run_jobs()
    assert first not in alice.get("/jobs?status=QUEUED").text
    done = alice.get(f"/jobs/updates.json?known={first}=QUEUED:0").json()["changed"][0]
    assert done["status"] == "DONE" and done["finished_at"]


def test_cancel_from_the_job_page(site: Site, alice: TestClient) -> None:
    job_id = submit(alice)
    response = alice.post(f"/jobs/{job_id}/cancel", data={"csrf_token": page_csrf(alice)}, follow_redirects=False)
    assert response.status_code == 303
    assert 'data-status="CANCELLED"' in alice.get(f"/jobs/{job_id}").text


def test_another_users_job_is_not_found(site: Site, alice: TestClient, bob: TestClient) -> None:
    job_id = submit(alice)
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/download"):
        response = bob.get(path)
        assert response.status_code == 404 and "No such job" in response.text and "histogram" not in response.text
    assert bob.get(f"/jobs/{job_id}/status.json").status_code == 404
    assert bob.get(f"/jobs/updates.json?known={job_id}=x").json() == {"new": [], "changed": []}
    assert job_id not in bob.get("/jobs").text
    cancel = bob.post(f"/jobs/{job_id}/cancel", data={"csrf_token": page_csrf(bob)})
    assert cancel.status_code == 404
    assert 'data-status="QUEUED"' in alice.get(f"/jobs/{job_id}").text
    site.run_jobs()


def test_tokens_are_shown_once_and_revoked_tokens_are_refused_by_the_api(alice: TestClient) -> None:
    csrf = page_csrf(alice)
    posted = alice.post("/account/tokens", data={"name": "laptop", "csrf_token": csrf}, follow_redirects=False)
    assert posted.status_code == 303  # POST-redirect-GET: a reload of the page cannot post again
    location = posted.headers["location"]
    token_id = re.fullmatch(r"/account\?token=([0-9a-f]+)", location).group(1)  # type: ignore[union-attr]
    created = alice.get(location)
    secret = re.search(r'id="new-token-secret">((?:xh|qf)_[^<]+)<', created.text)
    assert created.status_code == 200 and secret
    api = {"Authorization": f"Bearer {secret.group(1)}"}
    assert alice.get("/api/v1/jobs", headers=api).status_code == 200
    reloaded = alice.get(location)  # the browser's reload of the page it landed on
    assert secret.group(1) not in reloaded.text and 'id="new-token-secret"' not in reloaded.text  # shown once
    assert reloaded.text.count('data-token="') == created.text.count('data-token="')  # and no second token
    revoked = alice.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert revoked.status_code == 303
    assert alice.get("/api/v1/jobs", headers=api).status_code == 401
    row = alice.get("/account").text.split(f'data-token="{token_id}"')[1].split("</tr>")[0]
    assert "revoked" in row


def test_account_page_title_is_plain_text_and_its_password_form_appears_once(alice: TestClient) -> None:
    page = alice.get("/account").text
    assert "<title>Account · Xihe</title>" in page
    assert page.count('id="change-password"') == 1


def test_admin_switches_a_backend_to_maintenance(site: Site, alice: TestClient) -> None:
    csrf = page_csrf(alice, "/admin")
    alice.post("/admin/backends/grid36/status", data={"status": "maintenance", "csrf_token": csrf})
    with site.database.read() as session:
        assert calibrations.backend_status_overrides(session)["grid36"] == "maintenance"
    assert "status-maintenance" in alice.get("/backends").text.split('data-backend="grid36"')[1].split("</tr>")[0]
    refused = alice.post("/editor/submit", data={"qasm": BELL, "backend": "grid36", "shots": "10", "compile": "on",
                                                  "optimization_level": "2", "csrf_token": csrf})
    assert refused.status_code == 409 and "grid36 is in maintenance" in refused.text
    alice.post("/admin/backends/grid36/status", data={"status": "online", "csrf_token": csrf})
    assert alice.post("/admin/backends/grid36/status", data={"status": "broken", "csrf_token": csrf}).status_code \
        == 422


def test_admin_adds_users_and_sets_quotas(site: Site, alice: TestClient) -> None:
    csrf = page_csrf(alice, "/admin")
    added = alice.post("/admin/users", data={"name": "dave", "password": "dave-password-1", "role": "user",
                                             "csrf_token": csrf})
    assert added.status_code == 201 and 'data-user="dave"' in added.text
    assert alice.post("/admin/users", data={"name": "dave", "password": "dave-password-1",
                                            "csrf_token": csrf}).status_code == 409
    assert alice.post("/admin/users", data={"name": "erin", "password": "short", "csrf_token": csrf}).status_code \
        == 422
    dave_id = re.search(r'action="/admin/users/(\d+)/limits" id="limits-\d+"', added.text.split('data-user="dave"')[1])
    assert dave_id
    alice.post(f"/admin/users/{dave_id.group(1)}/limits", data={"max_shots": "100", "csrf_token": csrf})
    dave = site.client("dave", "dave-password-1")
    over = dave.post("/editor/submit", data={"qasm": BELL, "backend": "sim", "shots": "101", "compile": "on",
                                             "optimization_level": "2", "csrf_token": page_csrf(dave, "/editor")})
    assert over.status_code == 403 and "limit of 100" in over.text
    bad = alice.post(f"/admin/users/{dave_id.group(1)}/limits", data={"max_shots": "lots", "csrf_token": csrf})
    assert bad.status_code == 422 and "max shots must be a number" in bad.text
    alice.post(f"/admin/users/{dave_id.group(1)}/active", data={"active": "false", "csrf_token": csrf})
    assert dave.get("/jobs", follow_redirects=False).status_code == 303  # a disabled account's session ends


def test_admin_limits_are_finite_numbers_a_database_column_holds(site: Site, alice: TestClient) -> None:
    """A wall-time limit of "nan" was stored and then never reached (any time > NaN is false), so that user's jobs
    ran without one; 10^23 jobs a day was a 500 (the integer column overflowed). Both are the form's 422 now, and
    the user's limits are left as they were."""
    csrf = page_csrf(alice, "/admin")
    added = alice.post("/admin/users", data={"name": "frank", "password": "frank-password-1", "role": "user",
                                             "csrf_token": csrf})
    frank = re.search(r'action="/admin/users/(\d+)/limits"', added.text.split('data-user="frank"')[1])
    assert frank
    for field, value, says in (("wall_seconds", "nan", "wall seconds must be a finite number"),
                               ("wall_seconds", "inf", "wall seconds must be a finite number"),
                               ("jobs_per_day", "99999999999999999999999", "jobs per day is at most 2147483647")):
        refused = alice.post(f"/admin/users/{frank.group(1)}/limits", data={field: value, "csrf_token": csrf})
        assert refused.status_code == 422 and says in refused.text, (field, value, refused.status_code)
    with site.database.read() as session:
        account = users.get_user_by_name(session, "frank")
        assert account is not None and account.wall_seconds is None and account.jobs_per_day is None


def test_edit_a_copy_fills_the_editor_from_ones_own_job_only(alice: TestClient, bob: TestClient) -> None:
    job_id = submit(alice, backend="line10", shots="123", name="copy me", tags="a, b")
    page = alice.get(f"/editor?from_job={job_id}").text
    assert "cx q[0],q[1];" in page and 'value="123"' in page and 'value="copy me"' in page
    assert '<option value="line10" selected>' in page and 'value="a, b"' in page
    assert 'value="copy me"' not in bob.get(f"/editor?from_job={job_id}").text


def test_every_editor_example_is_valid(alice: TestClient) -> None:
    from xihe.web.routes.editor import EXAMPLES

    page = alice.get("/editor").text
    for title, text in EXAMPLES.items():
        assert f'value="{html.escape(title)}"' in page
        answer = validate(alice, text)
        assert answer["ok"], (title, answer)


def test_the_queue_estimate_counts_the_running_job_ahead(site: Site, alice: TestClient) -> None:
    """line10 runs one job at a time: the next job waits for the running one, and the page says so."""
    with site.database.write() as session:  # earlier tests' line10 jobs would be ahead in the queue
        leftover, _ = jobs.list_jobs(session, 1, status="QUEUED", backend="line10", tag=None, limit=1000, offset=0)
        for job in leftover:
            jobs.request_cancel(session, job)
    running_id, waiting_id = submit(alice, backend="line10"), submit(alice, backend="line10")
    with site.database.write() as session:
        claimed = queue.claim_next_job(session, worker_id="test-worker", host="test", backends=["line10"],
                                       exclusive=["line10"], memory_budget=2**30, lease_seconds=3600, now=utcnow())
        assert claimed is not None and claimed.id == running_id
    before = utcnow()
    status = alice.get(f"/jobs/{waiting_id}/status.json").json()
    assert status["queue_position"] == 0 and status["running"] == 1
    with site.database.read() as session:  # what the page used: line10's recent mean job time (cached), or default
        mean = jobs.mean_exec_seconds(session, "line10") or DEFAULT_JOB_SECONDS
    assert datetime.fromisoformat(status["estimated_start"]) >= before + timedelta(seconds=mean)  # one job ahead
    assert status["queue_text"].startswith("starts in")
    assert "next in the queue, 1 running on 1 slot; your share this hour:" in status["queue_text"]
    page = alice.get(f"/jobs/{waiting_id}").text
    assert "next in the queue, 1 running" in page
    with site.database.write() as session:  # leave the backend free for whatever runs next
        for job_id in (running_id, waiting_id):
            job = jobs.get_user_job(session, 1, job_id)
            assert job is not None
            jobs.request_cancel(session, job)


def test_a_backend_in_maintenance_is_not_shown_as_valid(site: Site, alice: TestClient) -> None:
    assert validate(alice, BELL, backend="line10")["ok"] is True
    with site.database.write() as session:
        calibrations.set_backend_status(session, "line10", "maintenance")
    try:
        answer = validate(alice, BELL, backend="line10")
        assert answer["ok"] is False and "line10 is in maintenance" in answer["backend_error"]
    finally:
        with site.database.write() as session:
            calibrations.set_backend_status(session, "line10", "online")


def test_admin_refuses_user_names_with_spaces_markup_or_control_characters(alice: TestClient) -> None:
    csrf = page_csrf(alice, "/admin")
    for name in ("two words", "<b>x</b>", "tab\there", "ünïcode", "-dash-first", "x" * 65, "new\nline"):
        refused = alice.post("/admin/users", data={"name": name, "password": "long-enough-1", "csrf_token": csrf})
        assert refused.status_code == 422 and "A user name has 1 to 64 characters" in refused.text, name
    assert alice.post("/admin/users", data={"name": "lab.user_2-b", "password": "long-enough-1",
                                            "csrf_token": csrf}).status_code == 201


def test_the_account_page_shows_the_users_quota_and_todays_use(site: Site, bob: TestClient) -> None:
    before = re.search(r'id="quota-jobs">(\d+) of (\d+)<', bob.get("/account").text)
    assert before and int(before.group(2)) == site.settings.default_jobs_per_day
    submit(bob)
    after = re.search(r'id="quota-jobs">(\d+) of', bob.get("/account").text)
    assert after and int(after.group(1)) == int(before.group(1)) + 1
    with site.database.write() as session:
        account = users.get_user_by_name(session, "bob")
        assert account is not None
        account.max_shots = 500
    assert 'id="quota-shots">up to 500<' in bob.get("/account").text
    site.run_jobs()
