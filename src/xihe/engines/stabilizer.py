"""The stabilizer engine: Clifford circuits with Pauli noise on hundreds of qubits, built on ``stim``.

The circuit is translated into a ``stim.Circuit``: table gates with a stim name map directly; any other Clifford
gate (``rz(pi/2)``, ``u3`` at Clifford angles, ``w``...) goes through ``stim.Tableau.from_unitary_matrix``. Pauli
gate noise becomes ``PAULI_CHANNEL_1``/``PAULI_CHANNEL_2``; symmetric readout error becomes ``M(p)``, asymmetric
readout confusion flips the sampled bits afterwards. A condition ``if (c == v)`` on a one-bit register guarding a
Pauli gate becomes stim feedback (``CX rec[-k] q``). stim's compiled sampler, seeded, draws all shots.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from xihe.circuit.circuit import Circuit
from xihe.circuit.control import IfElse
from xihe.circuit.gate import Gate
from xihe.circuit.protocols import unitary
from xihe.engines.base import check_shots, metadata, register_engine, resolve_seed
from xihe.engines.clifford import is_clifford_gate, is_pauli_feedback
from xihe.engines.noise import NoiseModel
from xihe.engines.sampling import apply_readout, rows_to_counts
from xihe.errors import ExecutionError
from xihe.results import Result

_STIM_NAMES = {
    "id": "I", "x": "X", "y": "Y", "z": "Z", "h": "H", "s": "S", "sdg": "S_DAG", "sx": "SQRT_X",
    "sxdg": "SQRT_X_DAG", "sy": "SQRT_Y", "sydg": "SQRT_Y_DAG", "cx": "CX", "cy": "CY", "cz": "CZ",
    "swap": "SWAP", "iswap": "ISWAP",
}
_PAULI_2_ORDER = ["IX", "IY", "IZ", "XI", "XX", "XY", "XZ", "YI", "YX", "YY", "YZ", "ZI", "ZX", "ZY", "ZZ"]


@lru_cache(maxsize=4096)
def _gate_program(gate: Gate) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The gate as stim instructions on local qubits ``0..k-1``."""
    if gate.definition is None and gate.name in _STIM_NAMES:
        return ((_STIM_NAMES[gate.name], tuple(range(gate.num_qubits))),)
    if not is_clifford_gate(gate):
        raise ExecutionError(f"gate '{gate.name}{list(gate.params) if gate.params else ''}' is not Clifford; "
                             "the stabilizer engine runs Clifford circuits only")
    import stim

    tableau = stim.Tableau.from_unitary_matrix(unitary(gate), endian="big")
    out = []
    for inst in tableau.to_circuit(method="elimination"):
        targets = [t.value for t in inst.targets_copy()]
        out.append((inst.name, tuple(targets)))
    return tuple(out)


def _pauli_noise(ch_probs: dict[str, float], qubits: tuple[int, ...]) -> tuple[str, list[float]]:
    if len(qubits) == 1:
        return "PAULI_CHANNEL_1", [ch_probs.get(p, 0.0) for p in "XYZ"]
    if len(qubits) == 2:
        return "PAULI_CHANNEL_2", [ch_probs.get(p, 0.0) for p in _PAULI_2_ORDER]
    raise ExecutionError(f"the stabilizer engine takes Pauli noise on 1 or 2 qubits, not {len(qubits)}")


def build_stim_circuit(circuit: Circuit, noise: NoiseModel | None = None
                       ) -> tuple[object, list[int], list[tuple[float, float] | None]]:
    """The stim circuit, the clbit of each measurement record, and its asymmetric readout (post-processed)."""
    import stim

    sc = stim.Circuit()
    record_clbit: list[int] = []
    record_readout: list[tuple[float, float] | None] = []
    last_record: dict[int, int] = {}
    noisy = noise is not None and not noise.is_ideal()
    for op in circuit.operations:
        name = op.gate.name
        if name == "barrier":
            continue
        if name == "delay":
            if noisy and noise is not None and noise.relaxation(op.qubits[0]) is not None:
                raise ExecutionError("thermal relaxation on delays is not Pauli noise; the stabilizer engine "
                                     "cannot run it (use trajectories)")
            continue
        if op.condition is not None:
            _feedback(sc, circuit, op, last_record, len(record_clbit))
            continue
        if isinstance(op, IfElse):
            _block_feedback(sc, op, last_record, len(record_clbit))
            continue
        if name == "measure":
            q = op.qubits[0]
            readout = noise.readout(q) if noisy and noise is not None else None
            if readout is not None and abs(readout[0] - readout[1]) < 1e-15:
                sc.append("M", [q], readout[0])
                record_readout.append(None)
            else:
                sc.append("M", [q])
                record_readout.append(readout)
            last_record[op.clbits[0]] = len(record_clbit)
            record_clbit.append(op.clbits[0])
            continue
        if name == "reset":
            sc.append("R", list(op.qubits))
            continue
        for stim_name, local in _gate_program(op.gate):
            sc.append(stim_name, [op.qubits[i] for i in local])
        if noisy and noise is not None:
            for ch, qubits in noise.channels_after(name, op.qubits):
                probs = ch.pauli_probabilities
                if probs is None:
                    raise ExecutionError(f"noise '{ch.name}' after '{name}' is not a Pauli channel; the stabilizer "
                                         "engine takes Pauli noise only (use trajectories)")
                kind, args = _pauli_noise(probs, qubits)
                if any(args):
                    sc.append(kind, list(qubits), args)
    return sc, record_clbit, record_readout


def _feedback(sc: object, circuit: Circuit, op: object, last_record: dict[int, int], num_records: int) -> None:
    from xihe.circuit.gate import Operation

    assert isinstance(op, Operation) and op.condition is not None
    reg_name, value = op.condition
    reg = circuit.creg(reg_name)
    clbit = circuit.creg_offset(reg_name)
    if reg.size != 1 or op.gate.name not in ("x", "y", "z") or clbit not in last_record:
        raise ExecutionError("the stabilizer engine supports conditions only as Pauli x/y/z gates conditioned on a "
                             "one-bit register that was measured before (stim feedback)")
    target = op.qubits[0]
    pauli = op.gate.name.upper()
    if value == 0:
        sc.append(pauli, [target])  # type: ignore[attr-defined]
    import stim

    lookback = last_record[clbit] - num_records
    sc.append(f"C{pauli}", [stim.target_rec(lookback), target])  # type: ignore[attr-defined]


def _block_feedback(sc: object, block: IfElse, last_record: dict[int, int], num_records: int) -> None:
    """An if block on one measured bit whose bodies hold only Pauli gates, as stim feedback (``CX rec[-k] q``;
    the false body applies P, then P again where the bit is 1)."""
    import stim

    if not is_pauli_feedback(block) or block.test_bits[0] not in last_record:
        raise ExecutionError("the stabilizer engine runs if blocks only on one measured bit with Pauli x/y/z "
                             "gates inside (stim feedback); use engine='statevector' for other blocks")
    lookback = last_record[block.test_bits[0]] - num_records
    for body, selected in ((block.true_body, block.value), (block.false_body, 1 - block.value)):
        for op in body:
            pauli = op.gate.name.upper()
            if selected == 0:
                sc.append(pauli, [op.qubits[0]])  # type: ignore[attr-defined]
            sc.append(f"C{pauli}", [stim.target_rec(lookback), op.qubits[0]])  # type: ignore[attr-defined]


@register_engine
class StabilizerEngine:
    """Clifford circuits (Pauli noise, readout error) on hundreds or thousands of qubits."""

    name = "stabilizer"

    def __init__(self, max_memory_bytes: int | None = None) -> None:
        self.max_memory_bytes = max_memory_bytes

    def estimate_memory(self, circuit: Circuit) -> int:
        n = circuit.num_qubits
        return 4 * n * n // 8 + 1024 * max(circuit.num_clbits, 1) + (1 << 20)

    def run(self, circuit: Circuit, shots: int = 1024, seed: int | None = None, noise: NoiseModel | None = None,
            memory: bool = False) -> Result:
        started = time.perf_counter()
        shots = check_shots(shots)
        if shots == 0:
            raise ExecutionError("the stabilizer engine samples shots: give shots > 0")
        seed = resolve_seed(seed)
        sc, record_clbit, record_readout = build_stim_circuit(circuit, noise)
        rows = np.zeros((shots, circuit.num_clbits), dtype=np.uint8)
        if record_clbit:
            samples = sc.compile_sampler(seed=seed).sample(shots)  # type: ignore[attr-defined]
            rng = np.random.default_rng(seed)
            for i, clbit in enumerate(record_clbit):
                bits = samples[:, i].astype(np.uint8)
                readout = record_readout[i]
                if readout is not None:
                    bits = apply_readout(bits, readout, rng)
                rows[:, clbit] = bits
        counts, mem = rows_to_counts(rows, memory)
        return Result(counts=counts, shots=shots, memory=mem,
                      metadata=metadata(self.name, seed, started, num_qubits=circuit.num_qubits))
