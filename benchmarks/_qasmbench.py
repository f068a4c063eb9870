"""QASMBench helpers shared by the engine tests and benchmarks: find the circuits, compare with Qiskit Aer.

Aer numbers qubits little-endian (qubit 0 is the least significant index bit); Xihe big-endian. ``aer_statevector``
returns Aer's state already converted to Xihe's order.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

# The circuits live in the repository (benchmarks/data/qasmbench, with the suite's LICENSE and NOTICE).
QASMBENCH = Path(__file__).resolve().parent / "data" / "qasmbench"
_QREG = re.compile(r"^\s*qreg\s+\w+\s*\[\s*(\d+)\s*\]", re.M)
_MEASURE = re.compile(r"^\s*measure\s+(\w+)\s*(?:\[\s*\d+\s*\])?\s*->\s*(\w+)")


def qasmbench_root() -> Path:
    if not QASMBENCH.is_dir():
        raise FileNotFoundError(f"QASMBench circuits not found: {QASMBENCH} is part of the repository")
    return QASMBENCH


def qasm_files(max_qubits: int) -> list[Path]:
    """Every QASMBench file declaring at most ``max_qubits`` qubits, sorted by name."""
    out = []
    for path in sorted(qasmbench_root().rglob("*.qasm")):
        text = path.read_text()
        width = sum(int(m) for m in _QREG.findall(text))
        if 0 < width <= max_qubits:
            out.append(path)
    return out


def repair(qasm_text: str) -> str:
    """Drop ``measure`` statements on registers the program never declares (some QASMBench files end so)."""
    declared = set(re.findall(r"^\s*[qc]reg\s+(\w+)", qasm_text, re.M))
    lines = []
    for line in qasm_text.splitlines():
        m = _MEASURE.match(line)
        if m and (m.group(1) not in declared or m.group(2) not in declared):
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def to_big_endian(state: np.ndarray, num_qubits: int) -> np.ndarray:
    """A little-endian (Qiskit) state vector in Xihe's big-endian order."""
    return np.ascontiguousarray(state.reshape([2] * num_qubits).transpose(list(range(num_qubits))[::-1])
                                ).reshape(-1)


def aer_statevector(qasm_text: str) -> np.ndarray:
    """Aer's final state of a QASM program with its measurements removed, in Xihe's order."""
    import qiskit.qasm2
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    qc = qiskit.qasm2.loads(qasm_text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    qc.remove_final_measurements(inplace=True)
    sim = AerSimulator(method="statevector")
    # Aer runs only gates it knows: unroll the program's own gate definitions first (no optimisation).
    qc = transpile(qc, sim, optimization_level=0)
    qc.save_statevector()  # type: ignore[attr-defined]
    result = sim.run(qc, shots=1).result()
    state = np.asarray(result.get_statevector(), dtype=np.complex128)
    return to_big_endian(state, qc.num_qubits)


def aer_key_to_xihe(key: str) -> str:
    """Aer count key (registers last-declared first, space separated, bit 0 rightmost) -> Xihe (c0 leftmost)."""
    return "".join(reg[::-1] for reg in reversed(key.split()))


def aer_counts(qasm_text: str, shots: int, seed: int) -> dict[str, int]:
    """Aer's counts of a QASM program (statevector method, seeded), with Xihe's key order."""
    import qiskit.qasm2
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    qc = qiskit.qasm2.loads(qasm_text, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    sim = AerSimulator(method="statevector", seed_simulator=seed)
    qc = transpile(qc, sim, optimization_level=0)
    counts = sim.run(qc, shots=shots).result().get_counts()
    out: dict[str, int] = {}
    for key, n in counts.items():
        k = aer_key_to_xihe(key)
        out[k] = out.get(k, 0) + int(n)
    return out


def two_sample_chi2_pvalue(a: dict[str, int], b: dict[str, int]) -> float:
    """p-value of the chi-square test that two count tables come from one distribution (rare keys pooled)."""
    from scipy.stats import chi2_contingency

    keys = sorted(set(a) | set(b))
    na, nb = sum(a.values()), sum(b.values())
    common, rare_a, rare_b = [], 0, 0
    for k in keys:
        x, y = a.get(k, 0), b.get(k, 0)
        if (x + y) * min(na, nb) / (na + nb) < 5:
            rare_a += x
            rare_b += y
        else:
            common.append((x, y))
    if rare_a + rare_b:
        common.append((rare_a, rare_b))
    if len(common) < 2:
        return 1.0
    table = [[x for x, _ in common], [y for _, y in common]]
    return float(chi2_contingency(table)[1])


def chi2_pvalue(counts: dict[str, int], probs: dict[str, float]) -> float:
    """p-value of the goodness-of-fit test of ``counts`` against exact ``probs`` (rare outcomes pooled)."""
    from scipy.stats import chisquare

    shots = sum(counts.values())
    observed, expected = [], []
    rare_o, rare_e = 0.0, 0.0
    for k in sorted(set(counts) | set(probs)):
        e = probs.get(k, 0.0) * shots
        if e < 5:
            rare_o += counts.get(k, 0)
            rare_e += e
        else:
            observed.append(counts.get(k, 0))
            expected.append(e)
    if rare_e > 0 or rare_o > 0:
        observed.append(rare_o)
        expected.append(rare_e)
    if len(observed) < 2:
        return 1.0
    if expected[-1] == 0:
        return 0.0 if observed[-1] else 1.0
    return float(chisquare(observed, expected)[1])
