"""The web job page, a result's CSV and the JSON download read a large batch within bounds (issue 18).

A batch of 8 items of ~29,500 outcomes each: each item's record (its first page of 16,384 outcomes with their
probabilities) is about 1 MB of JSON, 8 MB for the job, past the record's 2 MiB budget. The page read every item
whole and drew a table of each; it now reads the job's record as the API's ``GET /jobs/{id}`` does (the first items
whole, the later ones summaries linking to the page of that item alone); the download carries every item's whole
counts (all their pages), streamed an item and a page at a time. Each is checked against the API's own pages, and
the API's peak resident memory during each is bounded. Measured (docs/benchmarks.md, "Hostile input, fifth pass"):
the page 78 MiB of peak rise and 12.8 MB of HTML before, 13.6 MiB and 3.2 MB after; the download 73 MiB before
(8.8 MB, first pages only), under 1 MiB after (11.9 MB, every outcome).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.integration.test_count_pages import _web_session
from tests.integration.test_result_pages import peak_rise_during
from tests.service.helpers import Server, served

QUBITS = 16
ITEMS = 8
SHOTS = 40_000
PAGE = 16384
WIDE = (f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{QUBITS}];\ncreg c[{QUBITS}];\nh q;\n'
        "measure q -> c;\n")
# What the job's items hold as JSON, each outcome twice (count and probability): about 8 MB for the first pages,
# 14 MB for the whole counts.
PAGE_JSON = ITEMS * PAGE * 2 * (QUBITS + 14)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with served("sqlite", tmp_path_factory.mktemp("xihe-web-budget"), WORKERS="1") as live:
        yield live


@pytest.fixture(scope="module")
def batch(server: Server) -> dict:
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "circuits": [WIDE] * ITEMS, "shots": SHOTS, "seed": 18,
                                         "compile": False}).json()
        done = client.get(f"/jobs/{job['id']}", params={"wait": 120}).json()
    assert done["status"] == "DONE", done
    assert all(r["counts_outcomes"] > PAGE for r in done["results"])
    return done


def api_item(server: Server, job_id: str, index: int) -> dict:
    with server.client() as client:
        return client.get(f"/jobs/{job_id}/items/{index}").json()  # type: ignore[no-any-return]


def api_counts(server: Server, job_id: str, index: int) -> dict[str, int]:
    """Every outcome of one item, from the API's count pages."""
    pairs: list[tuple[str, int]] = []
    with server.client() as client:
        while True:
            page = client.get(f"/jobs/{job_id}/items/{index}/counts", params={"offset": len(pairs), "limit": PAGE})
            if not page.json()["counts"]:
                return dict(pairs)
            pairs += page.json()["counts"].items()


def shown_tables(html: str) -> dict[int, dict[str, int]]:
    """The counts table of each result section the page draws in full."""
    tables = {}
    for index, body in re.findall(r'<section class="card result" data-index="(\d+)">(.*?)</section>', html, re.S):
        tables[int(index)] = {key: int(n) for key, n in
                              re.findall(r'<tr><td><code>([01]+)</code></td><td class="num">(\d+)</td>', body)}
    return tables


def test_the_json_download_streams_every_items_whole_counts(server: Server, batch: dict) -> None:
    url = f"/jobs/{batch['id']}/download"
    with closing(_web_session(server)) as web:
        web.get(url)  # warm the route once
        answer, rise = peak_rise_during(server, lambda: web.get(url))
    assert answer.status_code == 200
    record = json.loads(answer.content)
    assert record["id"] == batch["id"] and record["status"] == "DONE" and len(record["results"]) == ITEMS
    for index, result in enumerate(record["results"]):
        counts = api_counts(server, batch["id"], index)
        assert result["counts"] == counts and len(counts) == result["counts_outcomes"]
        assert sum(counts.values()) == SHOTS
        assert result["probabilities"] == pytest.approx({key: n / SHOTS for key, n in counts.items()})
    assert rise < PAGE_JSON // 2, f"the download raised the API's peak by {rise / 2**20:.1f} MiB"
    # A single job's download is its record, as the API answers it.
    bell = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
    with server.client() as client:
        job = client.post("/jobs", json={"backend": "sim", "qasm": bell, "shots": 100, "seed": 1}).json()
        done = client.get(f"/jobs/{job['id']}", params={"wait": 60}).json()
    with closing(_web_session(server)) as web:
        single = web.get(f"/jobs/{job['id']}/download").json()
    moving = ("eta", "queue_position", "estimated_start")
    assert single["result"] == done["result"] and single["results"] is None
    assert {k: v for k, v in single.items() if k not in moving} == {k: v for k, v in done.items() if k not in moving}


def test_the_job_page_reads_the_record_within_its_budget(server: Server, batch: dict) -> None:
    url = f"/jobs/{batch['id']}"
    with closing(_web_session(server)) as web:
        web.get(url)  # warm the page once
        page, rise = peak_rise_during(server, lambda: web.get(url))
        alone, alone_rise = peak_rise_during(server, lambda: web.get(url, params={"item": 5}))
        csv_rise = peak_rise_during(server, lambda: web.get(f"{url}/results/6.csv"))[1]
    assert page.status_code == 200 and alone.status_code == 200
    whole = shown_tables(page.text)
    assert whole and 0 in whole and len(whole) < ITEMS
    for index, table in whole.items():  # every item shown in full is its record's page, as the API serves it
        assert table == api_item(server, batch["id"], index)["counts"]
    summarized = [int(i) for i in re.findall(r'href="/jobs/[^"?]+\?item=(\d+)"', page.text)]
    assert sorted([*whole, *summarized]) == list(range(ITEMS))
    assert shown_tables(alone.text) == {5: api_item(server, batch["id"], 5)["counts"]}
    assert rise < 3 * PAGE_JSON, f"the page raised the API's peak by {rise / 2**20:.1f} MiB"
    assert alone_rise < PAGE_JSON // 4, f"one item's page raised the API's peak by {alone_rise / 2**20:.1f} MiB"
    assert csv_rise < PAGE_JSON // 4, f"one item's CSV raised the API's peak by {csv_rise / 2**20:.1f} MiB"
