"""quafu-sdk 0.2.7's ``stats()`` and daily-quota refusal, through the real client, from Xihe's own quota.

Xihe's quota is ``jobs_per_day`` jobs in any rolling 24 hours, one pool for every backend and every client; the
test user gets a quota of 3 and spends it from the native API and the SDK, on the ideal simulator and a twin.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.client.live import new_user_token, shared_server
from tests.integration.quafu_clients import client_python, run_client
from tests.service.helpers import BELL, Server, run_xihe

SCENARIO = r'''
import json, sys
import quafu
from quafu import Client

url, token = sys.argv[1], sys.argv[2]
c = Client(api_key=token, base_url=url)
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\nmeasure q -> c;\n'
out = {}
c.submit([BELL, BELL], target="line10-sim", shots=100).results(timeout=300)
out["before"] = c.stats(days=3)
try:
    c.submit(BELL, target="sim", shots=10)
    out["refused"] = "accepted"
except quafu.QuotaError as exc:
    out["refused"] = {"type": type(exc).__name__, "text": str(exc), "vars": exc.vars,
                      "retry_after": exc.retry_after, "resets_at": exc.resets_at}
out["after"] = quafu.Client(api_key=token, base_url=url).stats()
try:
    c.stats(days=0)
    out["bad_days"] = "accepted"
except quafu.QuafuError as exc:
    out["bad_days"] = type(exc).__name__
print(json.dumps(out, default=str))
'''


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> dict[str, Any]:
    server: Server = shared_server(tmp_path_factory, request)
    token = new_user_token(server, "quafu-sdk-stats")
    run_xihe("users", "limits", "quafu-sdk-stats", "--jobs-per-day", "3", "--data-dir", str(server.data_dir),
             env=server.env)
    with httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as api:  # one native job: the same quota
        assert api.post("/jobs", json={"qasm": BELL, "backend": "sim", "shots": 10}).status_code == 201
        assert api.post("/jobs", json={"qasm": BELL, "backend": "line10-ideal", "shots": 10}).status_code == 201
    python = client_python("quafu-sdk", "0.2.7", 11)
    return run_client(python, SCENARIO, tmp_path_factory.mktemp("sdk-stats"), server.url, token)


def test_stats_count_every_clients_jobs_per_day(report: dict[str, Any]) -> None:
    before = report["before"]
    today = datetime.now(UTC).date()
    assert before["days"] == 3 and [d["date"] for d in before["daily"]] == [
        str(today - timedelta(days=k)) for k in (2, 1, 0)]
    assert before["jobs"] == 3 and before["tasks"] == 4 and before["shots"] == 10 + 10 + 2 * 100
    assert before["daily"][-1] == {"date": str(today), "jobs": 3, "tasks": 4, "shots": 220}
    assert before["daily"][0]["jobs"] == 0
    assert before["durations"]["run_s"]["count"] >= 1 and before["durations"]["run_s"]["total"] > 0


def test_quota_is_xihes_shared_rolling_pool_by_class(report: dict[str, Any]) -> None:
    quota = report["before"]["quota"]
    assert quota["date"] == str(datetime.now(UTC).date()) and quota["unit"] == "jobs"
    # sim: the native sim job and the ideal line10 variant (Quafu counts Jiuding as ideal); noisy: the twin batch.
    assert (quota["sim"]["used"], quota["noisy"]["used"], quota["real"]["used"]) == (2, 1, 0)
    for kind in ("sim", "noisy", "real"):
        cell = quota[kind]
        assert cell["limit"] == cell["hard_limit"] == 3 and cell["remaining"] == 0 and cell["degraded"] is False
        resets = datetime.fromisoformat(cell["resets_at"])
        assert timedelta(hours=23) < resets - datetime.now(UTC) <= timedelta(days=1)


def test_daily_cap_is_the_sdks_quota_error_with_its_reset(report: dict[str, Any]) -> None:
    refused = report["refused"]
    assert refused["type"] == "QuotaError"
    assert refused["vars"]["hard_limit"] == 3 and refused["vars"]["used"] == 3
    assert refused["resets_at"] == report["before"]["quota"]["sim"]["resets_at"]
    assert 0 < refused["retry_after"] <= 86400 and refused["vars"]["wait_s"] == refused["retry_after"]
    after = report["after"]
    assert after["days"] == 30 and len(after["daily"]) == 30 and after["jobs"] == 3  # the refusal is not a job
    assert report["bad_days"] == "BadRequest"
