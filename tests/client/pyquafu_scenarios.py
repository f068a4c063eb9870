"""Scenarios run by the real, unmodified pyquafu 0.4.5 (in its own venv) against a live Xihe server.

Invoked by tests/integration/test_pyquafu.py as ``python pyquafu_scenarios.py BAD_TOKEN QUOTA_SHOTS``;
``~/.quafu/api`` holds the good token and the server URL. Prints one JSON object (the last line of stdout) with
what pyquafu saw; the tests assert on it. This file runs under pyquafu's interpreter, never under pytest.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

from quafu import QuantumCircuit, Task, User, simulate
from quafu.exceptions import CircuitError, CompileError, QuafuError, UserError

report: dict = {}


def circuit() -> QuantumCircuit:
    """x on q0, a Bell pair on q1-q2: only '100' and '111' (classical bit 0 leftmost) can come out."""
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.h(1)
    qc.cx(1, 2)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def swapped_measure_circuit() -> QuantumCircuit:
    """x on q1 measured into bit 0: pyquafu's order says '10'."""
    qc = QuantumCircuit(2)
    qc.x(1)
    qc.measure([0, 1], [1, 0])
    return qc


def error_of(action) -> dict:
    try:
        action()
    except QuafuError as exc:
        return {"type": type(exc).__name__, "message": exc.message,
                "is_circuit_error": isinstance(exc, CircuitError), "is_compile_error": isinstance(exc, CompileError),
                "is_user_error": isinstance(exc, UserError)}
    return {"type": None}


def main(bad_token: str, quota_shots: str) -> None:
    user = User()
    with contextlib.redirect_stdout(io.StringIO()):
        backends = user.get_available_backends(print_info=True)
    report["backends"] = {
        name: {"system_id": b.system_id, "qubits": b.qubit_num, "status": b.status, "valid_gates": b.get_valid_gates(),
               "queued": b.task_in_queue}
        for name, b in backends.items()
    }
    chip = backends["line10"].get_chip_info(user)
    report["chip_mapping"] = {str(k): v for k, v in chip["mapping"].items()}
    report["chip_keys"] = sorted(chip["full_info"])

    local = simulate(circuit(), shots=400)
    report["local_counts"] = dict(local["counts"])
    local_swapped = simulate(swapped_measure_circuit(), shots=10)
    report["local_swapped_counts"] = dict(local_swapped["counts"])

    task = Task(user)
    task.config(backend="sim", shots=400, compile=True, priority=2)
    done = task.send(circuit(), name="bell-sync", wait=True)
    report["sync"] = {"status": done.task_status, "counts": dict(done.counts), "taskid": done.taskid,
                      "taskname": done.taskname, "measures": {str(k): v for k, v in done.measures.items()}}
    swapped = task.send(swapped_measure_circuit(), name="swapped", wait=True)
    report["swapped"] = {"status": swapped.task_status, "counts": dict(swapped.counts)}

    task.config(backend="line10", shots=300, compile=True)
    queued = [task.send(circuit(), name=f"async-{i}", group="grp", wait=False) for i in range(2)]
    report["async_first_status"] = [r.task_status for r in queued]
    report["async_first_res"] = [dict(r.counts) for r in queued]
    deadline = time.monotonic() + 300
    finished = {}
    while time.monotonic() < deadline and len(finished) < len(queued):
        for r in queued:
            again = task.retrieve(r.taskid)
            if again.task_status in ("Completed", "Failed", "Canceled"):
                finished[r.taskid] = {"status": again.task_status, "counts": dict(again.counts),
                                      "openqasm": again.transpiled_openqasm, "taskname": again.taskname}
        time.sleep(0.2)
    report["retrieved"] = finished
    with contextlib.redirect_stdout(io.StringIO()):
        group = task.retrieve_group("grp")
    report["group"] = sorted((r.taskid, r.task_status) for r in group)
    report["history"] = task.get_history()

    # Verbatim (compile=0): native gates on a coupled pair of line10 run as written.
    task.config(backend="line10", shots=300, compile=False)
    native = QuantumCircuit(10)
    native.rx(1, 3.141592653589793)
    native.h(2)
    native.cx(2, 3)
    native.measure([1, 2, 3], [0, 1, 2])
    verbatim = task.send(native, name="verbatim", wait=True)
    report["verbatim"] = {"status": verbatim.task_status, "counts": dict(verbatim.counts),
                          "openqasm": verbatim.transpiled_openqasm}
    # The 106-working-qubit chip, compiled by Xihe.
    task.config(backend="dongling", shots=300, compile=True)
    big = task.send(circuit(), name="dongling", wait=True)
    report["dongling"] = {"status": big.task_status, "counts": dict(big.counts)}

    # A circuit Xihe cannot parse (pyquafu writes a NaN angle as 'nan') -> 5001 -> pyquafu's CircuitError.
    task.config(backend="sim", shots=10, compile=True)
    broken = QuantumCircuit(1)
    broken.rx(0, float("nan"))
    broken.measure([0], [0])
    report["circuit_error"] = error_of(lambda: task.send(broken, wait=True))
    # A verbatim circuit on uncoupled qubits of line10 -> 5004 -> pyquafu's CompileError.
    task.config(backend="line10", shots=10, compile=False)
    uncoupled = QuantumCircuit(10)
    uncoupled.cx(1, 7)
    uncoupled.measure([1, 7], [0, 1])
    report["device_error"] = error_of(lambda: task.send(uncoupled, wait=True))
    # More shots than the account may use -> 400 -> pyquafu's UserError.
    task.config(backend="sim", shots=int(quota_shots) + 1, compile=True)
    report["quota_error"] = error_of(lambda: task.send(circuit(), wait=False))
    # A bad token -> 201 -> pyquafu's UserError, already when the Task loads the backends.
    report["bad_token_error"] = error_of(lambda: Task(User(api_token=bad_token)))
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
