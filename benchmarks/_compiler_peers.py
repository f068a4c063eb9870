"""The compiler benchmark's peers besides Qiskit: TKET (pytket) and QSteed (Quafu's compiler).

Each runner takes the OpenQASM 2 text both compilers read and the Xihe :class:`~xihe.compiler.target.Target`, and
returns the compiled circuit as a Xihe circuit on the device's physical qubits plus ``(wall, cpu)`` seconds of the
compile alone (building the peer's circuit and device description is outside the timed region).

- TKET: its default compilation pass for an architecture as pytket-qiskit builds it at optimisation level 2
  (``FullPeepholeOptimise``, noise-aware placement from the same calibration, routing, KAK, Clifford and
  TK1 resynthesis, rebase to the native 2q gate and rx/ry/rz, redundancy removal), on the working coupling graph.
- QSteed 0.2.3 pins numpy 1.26, which the project's environment cannot take (numpy 2), so it lives in its own
  virtual environment (``python3 -m venv .venv-qsteed && .venv-qsteed/bin/pip install qsteed``) and runs as a
  worker process: one per device, its resource database built from the same chip file (``update_chip_api``) in a
  private ``HOME``, each circuit compiled by ``call_compiler_api`` at ``optimization_level=3``. QSteed knows the
  chips its configuration names: ``dongling`` (its ``Dongling``) and ``line10`` (its ``example``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from xihe import qasm
from xihe.circuit import Circuit
from xihe.compiler.target import Target

ROOT = Path(__file__).resolve().parent.parent
QSTEED_PYTHON = ROOT / ".venv-qsteed" / "bin" / "python"
# Our device name -> (QSteed's chip name in its config.ini, chip file).
QSTEED_CHIPS = {"dongling": ("Dongling", "dongling.json"), "line10": ("example", "line10.json")}
QSTEED_TIMEOUT_S = 300  # CPU seconds per circuit


def tket_compile(text: str, target: Target) -> tuple[Circuit, tuple[float, float]]:
    """:func:`tket_compile_here` in a forked child: a failed assertion in TKET's C++ aborts the process it runs in
    (seen on QASMBench), which must not end the benchmark."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        try:
            out, elapsed = tket_compile_here(text, target)
            send.send((qasm.dumps(out), elapsed, None))
        except Exception as exc:  # sent back and raised there
            send.send((None, (0.0, 0.0), f"{type(exc).__name__}: {exc}"))

    process = context.Process(target=child)
    process.start()
    send.close()  # the child holds the only writer now: its death is an EOF here, not a wait
    try:
        got = receive.recv() if receive.poll(QSTEED_TIMEOUT_S * 4) else None
    except EOFError:
        got = None
    process.join()
    if got is None:
        raise RuntimeError(f"TKET aborted (exit code {process.exitcode})")
    text_out, elapsed, error = got
    if error is not None:
        raise RuntimeError(error)
    return qasm.loads(text_out), elapsed


def tket_compile_here(text: str, target: Target) -> tuple[Circuit, tuple[float, float]]:
    """TKET's default level-2 pass for ``target``'s working coupling graph, timed; the result on physical qubits."""
    from pytket.architecture import Architecture
    from pytket.circuit import Node, OpType
    from pytket.passes import (
        AutoRebase,
        CliffordSimp,
        CXMappingPass,
        DecomposeBoxes,
        FullPeepholeOptimise,
        KAKDecomposition,
        NaivePlacementPass,
        RemoveRedundancies,
        SequencePass,
        SynthesiseTket,
    )
    from pytket.placement import NoiseAwarePlacement
    from pytket.qasm import circuit_from_qasm_str, circuit_to_qasm_str

    nodes = {q: Node(q) for q in target.working_qubits}
    arch = Architecture([(nodes[a], nodes[b]) for a, b in sorted(target.coupling_map)])
    link_errors = {}
    for a, b in target.coupling_map:
        error = target.two_qubit_error(a, b)
        link_errors[(nodes[a], nodes[b])] = link_errors[(nodes[b], nodes[a])] = error
    node_errors = {nodes[q]: 1e-4 for q in target.working_qubits}
    readout = {nodes[q]: 1 - target.readout_fidelity(q) for q in target.working_qubits}
    placement = NoiseAwarePlacement(arch, node_errors, link_errors, readout)
    native = OpType.CZ if "cz" in target.two_qubit_gates else OpType.CX  # line10: cx, one way
    rebase = AutoRebase({native, OpType.Rx, OpType.Ry, OpType.Rz})
    passes = SequencePass([
        DecomposeBoxes(), FullPeepholeOptimise(),
        CXMappingPass(arch, placement, directed_cx=native == OpType.CX, delay_measures=True),
        NaivePlacementPass(arch),
        KAKDecomposition(allow_swaps=False), CliffordSimp(False), SynthesiseTket(), rebase, RemoveRedundancies(),
    ])
    circuit = circuit_from_qasm_str(text, maxwidth=1 << 12)
    started, cpu = time.perf_counter(), time.process_time()
    passes.apply(circuit)
    elapsed = (time.perf_counter() - started, time.process_time() - cpu)
    # Physical qubits come out as node[i]; rename them to one register q[...] in the device's numbering.
    circuit.rename_units({u: Node("q", u.index[0]) for u in circuit.qubits})
    out = qasm.loads(circuit_to_qasm_str(circuit, maxwidth=1 << 12))
    return _on_device(out, target), elapsed


def _on_device(circuit: Circuit, target: Target) -> Circuit:
    """``circuit`` widened to the device's qubit count (a peer names only the qubits it used)."""
    if circuit.num_qubits >= target.num_qubits:
        return circuit
    wide = Circuit(target.num_qubits, circuit.num_clbits)
    wide.operations = [op for op in circuit.operations]
    return wide


def qsteed_available(device: str) -> str | None:
    """``None`` if QSteed can run for ``device``, else why not."""
    if device not in QSTEED_CHIPS:
        return f"QSteed's configuration names no chip for {device}"
    if not QSTEED_PYTHON.exists():
        return f"no QSteed environment at {QSTEED_PYTHON.relative_to(ROOT)} (see benchmarks/_compiler_peers.py)"
    return None


def qsteed_compile_all(device: str, items: list[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """QSteed on every ``(name, qasm)`` for ``device`` in one warm worker: name -> {qasm, seconds, cpu} or {error}."""
    chip_name, chip_file = QSTEED_CHIPS[device]
    with tempfile.TemporaryDirectory(prefix="qsteed-") as home:
        jobs = Path(home) / "jobs.json"
        jobs.write_text(json.dumps({"chip": chip_name, "chip_file": str(ROOT / "src/xihe/devices/chips" / chip_file),
                                    "timeout": QSTEED_TIMEOUT_S, "items": items}))
        env = {**os.environ, "HOME": home}
        done = subprocess.run([str(QSTEED_PYTHON), str(Path(__file__).with_name("_qsteed_worker.py")), str(jobs)],
                              env=env, cwd=home, capture_output=True, text=True,
                              timeout=QSTEED_TIMEOUT_S * (len(items) + 1))
        if done.returncode != 0:
            raise RuntimeError(f"QSteed worker failed: {done.stderr[-2000:]}")
        return dict(json.loads((Path(home) / "results.json").read_text()))


def qsteed_numbering(device: str, target: Target) -> list[int]:
    """QSteed's qubit number -> Xihe's. QSteed numbers every qubit of the file (``all_qubits_info`` by the number in
    its name, ``Q0101`` = 0); Xihe numbers the coupled qubits first (``xihe.devices.quafu.labels``). Both keep the
    chip's names, so the names translate."""
    data = json.loads((ROOT / "src/xihe/devices/chips" / QSTEED_CHIPS[device][1]).read_text())
    names = sorted(data.get("all_qubits_info") or data.get("qubits_info") or {},
                   key=lambda name: int("".join(c for c in name if c.isdigit()) or 0))
    index = {name: i for i, name in enumerate(target.labels)}
    return [index[name] for name in names]


def qsteed_circuit(compiled_qasm: str, device: str, target: Target) -> Circuit:
    """QSteed's output, its qubits renumbered to Xihe's, as a Xihe circuit on the device's qubits."""
    numbering = qsteed_numbering(device, target)
    raw = qasm.loads(compiled_qasm)
    out = Circuit(target.num_qubits, raw.num_clbits)
    out.operations = [op.replace(qubits=tuple(numbering[q] for q in op.qubits)) for op in raw.operations]
    return out


if __name__ == "__main__":  # a quick check: python benchmarks/_compiler_peers.py
    from xihe import devices

    demo = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\ncreg c[3];\nh q[0];\ncx q[0],q[2];\ncx q[1],q[2];\n' \
           'measure q -> c;\n'
    print(tket_compile(demo, devices.get("dongling").target)[0].num_nonlocal_gates(), file=sys.stderr)
