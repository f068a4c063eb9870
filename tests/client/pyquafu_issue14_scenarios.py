"""pyquafu 0.4.5's own result paths against a live Xihe server (issue 14, items 1-9), with pyquafu's oracles.

Invoked by tests/integration/test_pyquafu_results.py as ``python pyquafu_issue14_scenarios.py REVOKED_TOKEN
OTHER_TASK_ID``; ``~/.quafu/api`` holds the good token and the server URL. Each scenario records what pyquafu's
public code (``Task.send(wait=True)``, ``ExecResult``, ``Task.submit``, ``get_chip_info``, ``retrieve``,
``retrieve_group``, ``Estimator``) gave and what pyquafu's own ``simulate`` (or an exact value) says; the tests
compare them. A scenario that raises records the exception instead. Runs under pyquafu's interpreter only.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import traceback
from collections.abc import Callable
from typing import Any

from quafu import QuantumCircuit, Task, User, simulate
from quafu.algorithms import Estimator, Hamiltonian
from quafu.exceptions import QuafuError

report: dict[str, Any] = {}


def scenario(name: str) -> Callable[[Callable[[], Any]], None]:
    def run(body: Callable[[], Any]) -> None:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                report[name] = body()
        except Exception as exc:  # recorded for the test to show
            report[name] = {"raised": type(exc).__name__, "is_quafu_error": isinstance(exc, QuafuError),
                            "message": str(exc), "trace": traceback.format_exc()[-1500:]}
    return run


def task_for(backend: str, shots: int, compile: bool = True) -> Task:
    task = Task(User())
    task.config(backend=backend, shots=shots, compile=compile, priority=2)
    return task


def three_qubit_circuit() -> QuantumCircuit:
    """Deterministic: x on q0 and q2, measured in a scrambled order into scrambled bits."""
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.x(2)
    qc.cx(2, 1)  # q1 -> 1 as well; then undo on q1 so only q0 and q2 are 1
    qc.x(1)
    qc.measure([2, 0, 1], [1, 2, 0])
    return qc


def local(qc: QuantumCircuit, shots: int) -> dict[str, int]:
    return dict(simulate(qc, shots=shots)["counts"])


def sent(task: Task, qc: QuantumCircuit, name: str) -> dict[str, Any]:
    result = task.send(qc, name=name, wait=True)
    return {"status": result.task_status, "counts": dict(result.counts), "openqasm": result.transpiled_openqasm,
            "measures": {str(k): v for k, v in result.measures.items()}, "taskid": result.taskid}


# 1. compile=True on the twins: the compiled circuit (with its idle delays) must parse in ExecResult.
for backend in ("line10", "dongling"):
    @scenario(f"compiled_{backend}")
    def _compiled(backend: str = backend) -> dict[str, Any]:
        qc = three_qubit_circuit()
        return sent(task_for(backend, 300), qc, f"compiled-{backend}") | {"local": local(three_qubit_circuit(), 300)}


@scenario("user_delay_on_sim")
def _user_delay() -> dict[str, Any]:
    qc = QuantumCircuit(2)
    qc.x(0)
    qc.delay(1, 100)
    qc.delay(0, 3, "us")
    qc.measure([0, 1])
    task = task_for("sim", 50)
    queued = task.send(qc, name="delay-async", group="delays", wait=False)  # the echo of the submitted circuit
    return sent(task, qc, "delay") | {"local": local(qc, 50), "async_status": queued.task_status}


# 2. Task.submit: observables come from logicalq_res, which follows the order of the returned measure lines.
def observable_circuit() -> QuantumCircuit:
    """<Z0> = -1, <X1> = +1, <Y2> = +1, <Z0 X1> = -1 exactly; measured in a non-sorted order."""
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.h(1)
    qc.h(2)
    qc.s(2)
    qc.measure([2, 0, 1])
    return qc


OBSERVABLES = [["Z", [0]], ["X", [1]], ["Y", [2]], ["ZX", [0, 1]], ["Z", [2]]]
EXACT = [-1.0, 1.0, 1.0, -1.0, 0.0]

for backend in ("sim", "line10"):
    @scenario(f"submit_{backend}")
    def _submit(backend: str = backend) -> dict[str, Any]:
        _, values = task_for(backend, 2000).submit(observable_circuit(), OBSERVABLES)
        return {"values": [float(v) for v in values], "exact": EXACT}


@scenario("submit_z_on_x0")
def _submit_z() -> dict[str, Any]:
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.measure([0, 1, 2])
    _, values = task_for("line10", 1000).submit(qc, [["Z", [0]], ["Z", [1]], ["Z", [2]]])
    return {"values": [float(v) for v in values], "exact": [-1.0, 1.0, 1.0]}


# 3. Counts are keyed by the measured bits only (pyquafu's simulate and the Quafu server do so).
@scenario("partial_measure")
def _partial() -> dict[str, Any]:
    task = task_for("sim", 40)
    one = QuantumCircuit(3, 2)
    one.x(2)
    one.measure([2], [1])
    two = QuantumCircuit(3, 2)
    two.x(2)
    two.measure([0, 2], [0, 1])
    return {"one": sent(task, one, "partial-1")["counts"], "one_local": local(one, 40),
            "two": sent(task, two, "partial-2")["counts"], "two_local": local(two, 40)}


# 4. Physical numbering: pyquafu's get_chip_info mapping is the numbering verbatim circuits use.
@scenario("numbering")
def _numbering() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for backend, gate in (("line10", "cx"), ("dongling", "cz")):
        task = task_for(backend, 300, compile=False)
        chip = task.get_backend_info()
        index = {name: i for i, name in chip["mapping"].items()}
        edges = sorted({tuple(sorted((index[p.split("_")[0]], index[p.split("_")[1]])))
                        for p, gates in chip["full_info"]["topological_structure"].items()
                        if any(float(g.get("fidelity", 0)) > 0 for g in gates.values())})
        a, b = edges[0] if backend == "line10" else edges[len(edges) // 2]
        qc = QuantumCircuit(max(a, b) + 1)
        qc.rx(a, math.pi)  # native gates only (compile=False)
        if gate == "cx":
            qc.cx(a, b)
        else:
            qc.h(b)
            qc.cz(a, b)
            qc.h(b)
        qc.measure([a, b], [0, 1])
        run = sent(task, qc, f"verbatim-{backend}")
        small = QuantumCircuit(2)  # the same circuit on two qubits, for pyquafu's simulator
        small.rx(0, math.pi)
        small.cx(0, 1)
        small.measure([0, 1], [0, 1])
        out[backend] = {"mapping": {str(k): v for k, v in chip["mapping"].items()}, "edges": edges, "pair": [a, b],
                        "run": run, "local": local(small, 300)}
    return out


# 6. Errors on the calls pyquafu does not check: its own exception, not a KeyError.
@scenario("errors")
def _errors() -> dict[str, Any]:
    revoked, other_task = sys.argv[1], sys.argv[2]
    task = task_for("sim", 10)
    out: dict[str, Any] = {}

    def caught(name: str, action: Callable[[], Any]) -> None:
        try:
            action()
            out[name] = {"raised": None}
        except Exception as exc:
            out[name] = {"raised": type(exc).__name__, "is_quafu_error": isinstance(exc, QuafuError),
                         "message": str(exc)}

    caught("unknown_task", lambda: task.retrieve("0123456789ABCDEF"))
    caught("other_users_task", lambda: task.retrieve(other_task))
    caught("group_with_unknown", lambda: task.retrieve_group("g", history={"g": ["NOPE"]}))
    bad = User(api_token=revoked)
    caught("chip_info_revoked", lambda: task.backend.get_chip_info(bad))
    task.user = bad  # a token revoked after the Task was made
    caught("retrieve_revoked", lambda: task.retrieve(other_task))
    caught("backend_info_revoked", task.get_backend_info)
    return out


# 7. Whatever Xihe returns parses in pyquafu: gates it lacks, exponent floats, queued and failed echoes.
def exotic() -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.iswap(0, 1)
    qc.sy(2)
    qc.sydg(2)
    qc.rx(2, 2e-05)
    qc.measure([0, 1, 2])
    return qc


@scenario("exotic")
def _exotic() -> dict[str, Any]:
    out = {"sim": sent(task_for("sim", 60), exotic(), "exotic-sim"), "local": local(exotic(), 60)}
    out["line10"] = sent(task_for("line10", 300), exotic(), "exotic-line10")
    queued = task_for("grid36", 10).send(exotic(), name="exotic-queued", group="q", wait=False)  # grid36 not served
    out["queued"] = {"status": queued.task_status, "openqasm": queued.transpiled_openqasm,
                     "gates": [g.name for g in queued.transpiled_circuit.gates]}
    return out


# 8. Ideal simulation under a name pyquafu sends to the server: Estimator against the local "sim" Estimator.
@scenario("estimator")
def _estimator() -> dict[str, Any]:
    def circuit() -> QuantumCircuit:
        qc = QuantumCircuit(2)
        qc.x(0)
        qc.h(1)
        qc.measure([0, 1])
        return qc

    # Unit coefficients: pyquafu's Estimator drops the coefficients on a server (it sums the terms' expectations).
    hamiltonian = Hamiltonian.from_pauli_list([("Z0", 1.0), ("X1", 1.0), ("Z0 X1", 1.0)])
    names = list(User().get_available_backends(print_info=False))
    remote = Estimator(circuit(), backend="sim-ideal", shots=500).run(hamiltonian, None)
    localv = Estimator(circuit(), backend="sim").run(hamiltonian, None)
    return {"remote": float(remote), "local": float(localv), "exact": -1.0 + 1.0 - 1.0, "backends": names}


# 9. Non-finite angles are named as such; pyquafu's multi-controlled rotations are known gates.
@scenario("non_finite")
def _non_finite() -> dict[str, Any]:
    qc = QuantumCircuit(1)
    qc.rx(0, math.inf)
    qc.measure([0])
    task_for("sim", 10).send(qc, wait=True)
    return {"raised": None}


@scenario("mc_rotations")
def _mc_rotations() -> dict[str, Any]:
    from quafu.elements import QuantumGate

    out: dict[str, Any] = {}
    for name in ("mcrx", "mcry", "mcrz"):
        qc = QuantumCircuit(3)
        qc.x(0)
        qc.x(1)
        qc << QuantumGate.gate_classes[name]([0, 1], 2, math.pi)
        qc.measure([0, 1, 2])
        out[name] = sent(task_for("sim", 30), qc, name) | {"local": local(qc, 30)}
    return out


@scenario("mc_rotations_exact")
def _mc_rotations_exact() -> dict[str, Any]:
    """Controls set, a turn of 1.1 rad: the target reads 1 with probability sin(0.55)^2 (rz between two h)."""
    from quafu.elements import QuantumGate

    out: dict[str, Any] = {}
    for backend in ("sim", "line10-ideal"):
        for name in ("mcrx", "mcry", "mcrz"):
            qc = QuantumCircuit(3)
            qc.x(0)
            qc.x(1)
            if name == "mcrz":
                qc.h(2)
            qc << QuantumGate.gate_classes[name]([0, 1], 2, 1.1)
            if name == "mcrz":
                qc.h(2)
            qc.measure([0, 1, 2])
            out[f"{backend}/{name}"] = sent(task_for(backend, 4000), qc, f"{name}-exact")
    return out


print(json.dumps(report, default=str))
