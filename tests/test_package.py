"""``import xihe`` is the front door: ``xihe.qasm``, ``xihe.devices``, ``xihe.compile`` and ``xihe.simulate`` all
work after it alone, and the heavy layers load only when first used (checked in a fresh interpreter each time)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numba", "stim", "scipy", "xihe.engines", "xihe.devices", "xihe.compiler", "xihe.service")


def run_fresh(code: str) -> object:
    """Run ``code`` in a new interpreter; it prints one JSON value as its last line."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_xihe_alone_gives_qasm_devices_compile_and_simulate() -> None:
    code = """
import json
import xihe

bell = xihe.qasm.loads('OPENQASM 2.0; include "qelib1.inc"; qreg q[2]; creg c[2]; h q[0]; cx q[0],q[1];'
                       ' measure q -> c;')
compiled = xihe.compile(bell, "line10", optimization_level=1, seed=1)
counts = xihe.simulate(bell, shots=200, seed=7).counts
print(json.dumps({
    "names": xihe.devices.names(),
    "line10": xihe.devices.get("line10").name,
    "compiled_qubits": compiled.circuit.num_qubits,
    "keys": sorted(counts),
    "shots": sum(counts.values()),
    "dir": [n for n in ("qasm", "devices", "compile", "simulate") if n in dir(xihe)],
    "all": [n for n in ("qasm", "devices", "compile", "simulate") if n in xihe.__all__],
}))
"""
    out = run_fresh(code)
    assert isinstance(out, dict)
    assert "line10" in out["names"] and out["line10"] == "line10"
    assert out["compiled_qubits"] >= 2
    assert out["keys"] == ["00", "11"] and out["shots"] == 200
    assert out["dir"] == out["all"] == ["qasm", "devices", "compile", "simulate"]


def test_import_xihe_loads_no_engine_device_or_compiler_until_used() -> None:
    code = f"""
import json, sys
import xihe
heavy = {HEAVY!r}
before = sorted(m for m in sys.modules if m.startswith(heavy))
xihe.qasm
after_qasm = sorted(m for m in sys.modules if m.startswith(heavy))
xihe.devices
print(json.dumps({{"before": before, "after_qasm": after_qasm,
                   "after_devices": "xihe.devices" in sys.modules}}))
"""
    out = run_fresh(code)
    assert out == {"before": [], "after_qasm": [], "after_devices": True}


def test_an_unknown_attribute_is_still_an_attribute_error() -> None:
    out = run_fresh("import json, xihe\nprint(json.dumps(hasattr(xihe, 'no_such_thing')))")
    assert out is False
