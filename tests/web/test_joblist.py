"""The job list: search, date range, sort, page size, live new rows (long poll) and multi-select cancel."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.web.conftest import Site, page_csrf
from tests.web.test_pages import submit
from xihe.service.clock import utcnow
from xihe.service.models import Job


def _shown(page: str) -> list[str]:
    return re.findall(r'<tr data-job="([0-9a-f]+)"', page)


def test_search_finds_jobs_by_id_prefix_name_and_tag(bob: TestClient) -> None:
    named = submit(bob, name="Grover sweep 7")
    tagged = submit(bob, tags="teaching, week3")
    other = submit(bob, name="plain")
    assert _shown(bob.get("/jobs?q=grover").text) == [named]  # case-insensitive part of the name
    assert _shown(bob.get("/jobs?q=WEEK3").text) == [tagged]
    assert _shown(bob.get(f"/jobs?q={other[:6]}").text) == [other]
    assert _shown(bob.get("/jobs?q=%25").text) == []  # a LIKE wildcard is a plain character


def test_date_range_sort_and_page_size(site: Site, bob: TestClient) -> None:
    ids = [submit(bob, name=f"dated-{i}", shots=str(100 + i)) for i in range(3)]
    with site.database.write() as session:  # submitted on three different days
        for days, job_id in zip((10, 5, 0), ids, strict=True):
            row = session.get(Job, job_id)
            assert row is not None
            row.created_at = utcnow() - timedelta(days=days)
    day = (utcnow() - timedelta(days=5)).date().isoformat()
    assert _shown(bob.get(f"/jobs?q=dated&from={day}&to={day}").text) == [ids[1]]
    assert _shown(bob.get(f"/jobs?q=dated&from={day}").text) == [ids[2], ids[1]]
    assert _shown(bob.get("/jobs?q=dated&order=oldest").text) == ids
    assert _shown(bob.get("/jobs?q=dated&order=shots").text) == ids[::-1]
    first = bob.get("/jobs?q=dated&per_page=10&order=oldest")
    assert 'id="filter-per-page"' in first.text and _shown(first.text) == ids
    while len(_shown(bob.get("/jobs?per_page=25").text)) < 12:
        submit(bob, name="filler")
    everyone = _shown(bob.get("/jobs?per_page=10").text)
    assert len(everyone) == 10
    page = bob.get("/jobs?per_page=10").text
    nxt = html.unescape(re.search(r'href="([^"]+)" id="page-next"', page).group(1))  # type: ignore[union-attr]
    assert "per_page=10" in nxt and "page=2" in nxt
    assert set(_shown(bob.get(nxt).text)).isdisjoint(everyone)


def test_a_new_job_comes_to_an_open_list_by_long_poll(site: Site, bob: TestClient) -> None:
    page = bob.get("/jobs").text
    newest = html.unescape(re.search(r'data-newest="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    newest = newest or "1970-01-01T00:00:00+00:00"  # an empty list: what the page's script sends
    quiet = bob.get("/jobs/updates.json", params={"after": newest, "wait": 0}).json()
    assert quiet == {"new": [], "changed": []}
    fresh = submit(bob, name="<b>fresh</b>")
    news = bob.get("/jobs/updates.json", params={"after": newest, "wait": 5}).json()
    assert [row["id"] for row in news["new"]] == [fresh]
    assert "&lt;b&gt;fresh&lt;/b&gt;" in news["new"][0]["html"] and "<b>" not in news["new"][0]["html"]
    filtered = bob.get("/jobs/updates.json", params={"after": newest, "q": "nothing-like-this"}).json()
    assert filtered["new"] == []  # only rows the shown filters would list
    later = bob.get("/jobs/updates.json", params={"after": newest, "page": 2}).json()
    assert later["new"] == []  # not the first page: nothing is added at the top
    site.run_jobs()


def test_cancel_selected_cancels_only_the_users_open_jobs(site: Site, alice: TestClient, bob: TestClient) -> None:
    mine = [submit(bob, name="bulk") for _ in range(3)]
    theirs = submit(alice, name="not bob's")
    csrf = page_csrf(bob, "/jobs")
    refused = bob.post("/jobs/cancel", data={"job": mine, "csrf_token": "stale"})
    assert refused.status_code == 403
    response = bob.post("/jobs/cancel", data={"job": [*mine[:2], theirs], "csrf_token": csrf,
                                              "back": "/jobs?q=bulk"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/jobs?q=bulk&cancelled=2"
    states = {job_id: bob.get(f"/jobs/{job_id}/status.json").json()["status"] for job_id in mine}
    assert states == {mine[0]: "CANCELLED", mine[1]: "CANCELLED", mine[2]: "QUEUED"}
    assert alice.get(f"/jobs/{theirs}/status.json").json()["status"] == "QUEUED"
    assert "Cancelled 2 jobs." in bob.get("/jobs?q=bulk&cancelled=2").text
    offsite = bob.post("/jobs/cancel", data={"job": [], "csrf_token": csrf, "back": "//evil.example/jobs"},
                       follow_redirects=False)
    assert offsite.headers["location"] == "/jobs?cancelled=0"
    site.run_jobs()


def test_the_job_page_shows_a_status_timeline_with_durations(site: Site, bob: TestClient) -> None:
    job_id = submit(bob, name="timed")
    queued = bob.get(f"/jobs/{job_id}").text
    assert "Submitted" in queued and "so far" in queued
    site.run_jobs()
    page = bob.get(f"/jobs/{job_id}").text
    steps = re.findall(r'<li class="step state-(\w+)"', page)
    assert steps == ["queued", "running", "done"]
    assert re.search(r"Attempt 1 on [^<]+</span>\s*<span class=\"took\">ran [\d.]+ s", page)
    assert re.search(r"Submitted</span>\s*<span class=\"took\">queued [\d.]+ (s|min)", page)


def test_the_account_page_counts_todays_jobs_circuits_and_execution(site: Site, alice: TestClient) -> None:
    def today() -> tuple[int, int, float]:
        text = alice.get("/account").text
        match = re.search(r'id="usage-today">(\d+) jobs?,\s+(\d+) circuits?, ([\d.]+) s of execution', text)
        assert match, text
        return int(match.group(1)), int(match.group(2)), float(match.group(3))

    jobs_before, circuits_before, _ = today()
    job_id = submit(alice, name="today")
    site.run_jobs()
    with site.database.read() as session:
        row = session.get(Job, job_id)
        assert row is not None and row.exec_seconds is not None
        ran = row.exec_seconds
    jobs_after, circuits_after, seconds = today()
    assert (jobs_after, circuits_after) == (jobs_before + 1, circuits_before + 1)
    assert seconds >= round(ran, 1) - 0.05
