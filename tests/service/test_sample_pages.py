"""A sampling job's shots are read in bounded pages (issue 18): ``GET /sample/{id}?outline=true`` gives the answer's
shape without its shots, ``GET /sample/{id}/pubs/{p}?binding=&offset=&limit=`` a page of at most 16,384 shots per
register, and the SDK's ``SampleJob.samples()`` reads the pages, every answer bounded, into the same values as the
whole streamed answer. A real app and worker on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from xihe.app import create_app
from xihe.client import Client
from xihe.client.sample import samples_from_json
from xihe.client.sync import SampleJob
from xihe.service.db import Database
from xihe.service.repositories import users
from xihe.service.settings import Settings
from xihe.service.worker import Worker

SHOTS = 20_000  # more than a page (16,384)
CIRCUIT = ('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg a[2];\ncreg b[1];\nrx(theta) q[0];\nh q[1];\n'
           "cx q[1],q[2];\nmeasure q[0] -> a[0];\nmeasure q[1] -> a[1];\nmeasure q[2] -> b[0];\n")


def test_the_sdk_reads_a_sampling_job_page_by_page(settings: Settings, database: Database) -> None:
    with database.write() as session:
        user = users.create_user(session, "sampler", role="user", password="sampler-password-1")
        token = users.create_token(session, user).secret
    headers = {"Authorization": f"Bearer {token}"}
    worker = Worker(settings, database)
    try:
        with TestClient(create_app(settings, database=database), base_url="https://testserver") as app_client:
            submitted = app_client.post("/api/v1/sample", headers=headers, json={
                "pubs": [{"circuit": CIRCUIT, "parameter_values": [{"theta": 0.3}, {"theta": 2.0}]},
                         {"circuit": CIRCUIT.replace("rx(theta)", "x"), "shots": 7}],
                "backend": "sim", "shots": SHOTS, "seed": 18})
            assert submitted.status_code == 201, submitted.text
            job_id = submitted.json()["id"]
            while worker.run_once():
                pass
            whole = app_client.get(f"/api/v1/sample/{job_id}", headers=headers)
            assert whole.status_code == 200
            expected = samples_from_json(whole.json())
            outline = app_client.get(f"/api/v1/sample/{job_id}", params={"outline": "true"}, headers=headers).json()
            assert [[len(r["samples"]) for r in pub["registers"]] for pub in outline["pubs"]] == [[2, 2], [1, 1]]
            assert all(row == [] for pub in outline["pubs"] for r in pub["registers"] for row in r["samples"])
            page = app_client.get(f"/api/v1/sample/{job_id}/pubs/0", headers=headers,
                                  params={"binding": 1, "offset": 16_380, "limit": 10}).json()
            assert page["total"] == SHOTS and [r["name"] for r in page["registers"]] == ["a", "b"]
            assert [int(v, 16) for v in page["registers"][0]["samples"]] == expected[0].registers["a"][1][16_380:16_390]
            assert app_client.get(f"/api/v1/sample/{job_id}/pubs/2", headers=headers).status_code == 404

            sizes: list[tuple[str, int]] = []

            class Counting(httpx.BaseTransport):
                def handle_request(self, request: httpx.Request) -> httpx.Response:
                    response = app_client._transport.handle_request(request)
                    response.read()
                    sizes.append((request.url.path, len(response.content)))
                    return response

            with Client("https://testserver", token, transport=Counting()) as client:
                samples = SampleJob(client, client.job(job_id).info).samples()
    finally:
        worker.close()
    assert samples == expected
    assert samples[0].registers["a"][0] != samples[0].registers["a"][1]  # the bindings are told apart
    # Every answer the SDK read is at most a page of shots, under half of the whole answer's size.
    assert max(size for _path, size in sizes) < len(whole.content) // 2
    assert sum(path.endswith("/pubs/0") for path, _size in sizes) == 4  # two pages under each binding
