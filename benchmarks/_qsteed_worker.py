"""Runs under QSteed's own environment (.venv-qsteed): compile a batch of circuits for one chip, write results.json.

Called by :func:`_compiler_peers.qsteed_compile_all` with a jobs file ``{chip, chip_file, timeout, items}``; the
resource database is built in the current ``HOME`` (a temporary directory) from the given chip file. Only the
``call_compiler_api`` call is timed. A circuit that raises or runs past ``timeout`` CPU seconds (CPU, not wall: on a
loaded machine the wall clock says little) gets an ``error``.
"""

import json
import signal
import sys
import time
from pathlib import Path


def main() -> None:
    from qsteed.apis.compiler_api import call_compiler_api
    from qsteed.apis.resourceDB_api import update_chip_api
    from qsteed.first_build_db import first_build_db

    jobs = json.loads(Path(sys.argv[1]).read_text())
    first_build_db()
    update_chip_api(jobs["chip"], json.loads(Path(jobs["chip_file"]).read_text()))

    def too_long(signum, frame):
        raise TimeoutError(f"over {jobs['timeout']} CPU seconds")

    signal.signal(signal.SIGPROF, too_long)
    results = {}
    for name, text in jobs["items"]:
        signal.setitimer(signal.ITIMER_PROF, float(jobs["timeout"]))
        started, cpu = time.perf_counter(), time.process_time()
        try:
            out = call_compiler_api(circuit=text, qpu_name=jobs["chip"], optimization_level=3)
            results[name] = {"qasm": out[0], "seconds": time.perf_counter() - started,
                             "cpu": time.process_time() - cpu}
        except Exception as exc:  # reported per circuit, never hidden
            results[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    Path("results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main()
