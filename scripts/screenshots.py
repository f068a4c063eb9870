"""Save a PNG of every dashboard page to docs/screenshots/ (``make screenshots``).

Starts a real ``xihe serve`` on a free port with a throw-away data folder, logs in as the demo user, builds a Bell
circuit in the composer, runs one on the Dongling twin, and photographs each page in Debian's Chromium at 1360 px
and 390 px (a phone).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.e2e.browser import launch, log_in  # noqa: E402
from tests.service.helpers import BELL, Server, basis_state_qasm, run_xihe, server_env  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
TYPO = BELL.replace("cx q[0],q[1];", "cx q[0] q[1];")  # a missing comma on line 6
SLOW = basis_state_qasm(0b10110101, 8).replace("measure", "barrier q;\n" + "h q;\n" * 6 + "measure")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xihe-shots-") as tmp:
        data_dir = Path(tmp)
        server = Server(data_dir, server_env(data_dir, WORKERS="1", HEARTBEAT_SECONDS="0.2")).start()
        try:
            run_xihe("users", "add", "bob", "--password-value", "bob-password-1", "--data-dir", str(data_dir),
                     env=server.env)
            assert server.password is not None
            shoot(server)
        finally:
            server.stop()
    print(f"screenshots in {OUT.relative_to(ROOT)}: {', '.join(sorted(p.name for p in OUT.glob('*.png')))}")


def shoot(server: Server) -> None:
    url, password = server.url, server.password or ""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1360, "height": 900}, device_scale_factor=1)

        def save(name: str, full_page: bool = True) -> None:
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=full_page)

        page.goto(f"{url}/login")
        save("login", full_page=False)
        log_in(page, url, "demo", password)
        save("backends")
        page.goto(f"{url}/backends/dongling")
        save("backend-dongling")
        page.click("#topology g.qubit[data-qubit='2']")
        page.wait_for_selector("#panel-body figure svg")
        page.locator(".chip-and-panel").screenshot(path=str(OUT / "backend-dongling-panel.png"))
        page.goto(f"{url}/backends/dongling?metric=readout")
        page.locator("#topology").screenshot(path=str(OUT / "topology-dongling-readout.png"))
        page.goto(f"{url}/backends/line10")
        save("backend-line10")

        page.goto(f"{url}/composer")
        page.wait_for_selector("#probability-list li")
        for tool, cells in (("h", ["0-0"]), ("cx", ["0-1", "1-1"]), ("measure", ["0-2", "1-2"])):
            page.click(f".gate-tool[data-gate='{tool}']")
            for cell in cells:
                q, col = cell.split("-")
                page.click(f"#grid button.cell[data-q='{q}'][data-col='{col}']")
        page.wait_for_selector("#probability-list li[data-outcome='11']")
        save("composer")
        page.fill("#composer-name", "bell from the composer")
        page.click("#composer-submit")
        page.wait_for_selector("#job-status[data-status=DONE]", timeout=60_000)

        page.goto(f"{url}/editor?backend=dongling")
        page.fill("#qasm", TYPO)
        page.wait_for_selector(".gutter span.error")
        save("editor-error", full_page=False)
        page.fill("#qasm", BELL)
        page.wait_for_selector("#validation.good")
        page.fill("#tags", "bell, demo")
        page.fill("#job-name", "bell on dongling")
        save("editor")
        page.click("#submit")
        page.wait_for_selector("#job-status[data-status=DONE]", timeout=60_000)
        page.wait_for_selector("#histogram svg")
        save("job")

        with server.client() as api:  # a queue on line10: one running, the others waiting with their estimates
            for i in range(3):
                api.post("/jobs", json={"circuits": [SLOW] * 20, "backend": "line10", "shots": 100,
                                        "name": f"sweep part {i + 1}", "tags": ["sweep"]})
        page.goto(f"{url}/jobs")
        page.wait_for_selector("#jobs .job-status[data-status=RUNNING]", timeout=60_000)
        save("jobs")
        page.click("#jobs tr:has(.job-status[data-status=QUEUED]) a")
        page.wait_for_selector("#queue-text")
        save("job-queued", full_page=False)
        page.goto(f"{url}/account")
        page.fill("#token-name", "laptop")
        page.click("#create-token button[type=submit]")
        page.wait_for_selector("#new-token-secret")
        save("account")
        page.goto(f"{url}/admin")
        save("admin")
        page.goto(f"{url}/jobs/0000000000000000")
        save("not-found", full_page=False)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                    has_touch=True, storage_state=page.context.storage_state())
        small = phone.new_page()
        for name, path in (("phone-backends", "/backends"), ("phone-backend-dongling", "/backends/dongling"),
                           ("phone-jobs", "/jobs"), ("phone-editor", "/editor"), ("phone-composer", "/composer")):
            small.goto(f"{url}{path}")
            small.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
        small.goto(f"{url}/jobs")
        small.click("#jobs tr:has(.job-status[data-status=DONE]) a")
        small.wait_for_selector("#histogram svg")
        small.screenshot(path=str(OUT / "phone-job.png"), full_page=False)
        phone.close()
        browser.close()


if __name__ == "__main__":
    main()
